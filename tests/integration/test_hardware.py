"""The hardware key store, end to end, with a real SoftHSM2 token
(ONIONMAIL_TEST_KEYS=pkcs11) or a real swtpm (ONIONMAIL_TEST_KEYS=tpm2):
no key file in clear, device-operation counts (0 per delivery, 1 per POP3
session), device loss while running (4xx / -ERR, server stays up, recovers),
wrong POP3 passwords never touch the device's lockout, clear start-up errors.
"""

import os
import poplib
import re
import secrets
import shutil
import subprocess
import smtplib
import ssl
import threading
import time
import unittest

from harness import KEYS_BACKEND, ServerTestCase, User, crlf, retr_bytes

# tests/keys/write_v1_record.cc: a user record as servers before version 2
# wrote it, sealed by the state's real key store (set by CTest).
V1_RECORD_TOOL = os.environ.get("OM_TEST_V1_RECORD")


def device_ops(log):
    """(ops at start-up, ops at stop) from the last server run's log."""
    start = re.findall(rb"device operations at start-up: (\d+)", log)
    stop = re.findall(rb"device operations since start: (\d+)", log)
    return int(start[-1]), int(stop[-1])


@unittest.skipUnless(KEYS_BACKEND in ("pkcs11", "tpm2"),
                     "runs with ONIONMAIL_TEST_KEYS=pkcs11 or tpm2")
class HardwareKeyStoreTest(ServerTestCase, unittest.TestCase):

    def test_no_private_key_or_server_key_file_in_the_state_dir(self):
        names = []
        for root, _, files in os.walk(self.env.state_dir):
            names += files
        self.assertNotIn("server.key", names)
        self.assertNotIn("key.pem", names)
        for root, _, files in os.walk(self.env.state_dir):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    self.assertNotIn(b"PRIVATE KEY", fh.read())

    def test_zero_device_operations_per_delivery_and_one_per_pop3_session(self):
        # Device operations: one TLS handshake signature per connection (the
        # server's TLS key is in the device), none per delivered message, one
        # per POP3 login (the device half of the inbox-key wrap).
        env = self.env
        bob = env.users["bob"]
        env.stop()
        env.start()
        try:
            s = env.smtp()  # one connection: 1 handshake signature
            for i in range(5):
                s.sendmail("someone@remote.onion", [bob.addr],
                           crlf("Subject: n%d\n\ncount me %d\n" % (i, i)))
            s.quit()
            p = env.pop3_login(bob)  # 1 handshake signature + 1 inbox unwrap
            count, _ = p.stat()
            self.assertGreaterEqual(count, 5)
            for n in range(1, count + 1):
                retr_bytes(p, n)
            p.quit()
            env.stop()
            at_start, at_stop = device_ops(env.log_bytes())
            self.assertEqual(at_stop - at_start, 3,
                             "expected 2 TLS handshakes + 1 POP3 login, 0 per delivery")
        finally:
            if not env.running():
                env.start()

    def test_wrong_pop3_passwords_do_not_lock_the_device(self):
        env = self.env
        bob = env.users["bob"]
        for _ in range(6):  # twice swtpm's default lockout threshold
            p = env.pop3()
            p.user(bob.name)
            with self.assertRaises(poplib.error_proto) as err:
                p.pass_("not-the-password")
            self.assertIn(b"[AUTH]", err.exception.args[0])
            p.quit()
        p = env.pop3_login(bob)
        p.quit()

    @unittest.skipUnless(V1_RECORD_TOOL, "needs $OM_TEST_V1_RECORD (set by CTest)")
    def test_a_version_1_record_moves_to_version_2_at_its_first_pop3_login(self):
        # docs/store.md, "Why version 2": the key role rewrites the record under
        # its seccomp policy, with the real device, and the mail stays readable.
        env = self.env
        olga = User("olga", "s-" + secrets.token_urlsafe(15),
                    "p-" + secrets.token_urlsafe(15), env.domain)
        made = subprocess.run([V1_RECORD_TOOL, env.config_path, olga.name],
                              input=("%s\n%s\n" % (olga.smtp_pw, olga.pop3_pw)).encode(),
                              capture_output=True, timeout=120)
        self.assertEqual(made.returncode, 0, made.stderr)
        env.users[olga.name] = olga
        self.assertIn("record: version 1 (", env.ctl("user", "show", "olga").stdout.decode())
        self.assertIn("user records of version 1: 1 (", env.ctl("status").stdout.decode())
        self.assertEqual(env.send_external([olga.addr], crlf(
            "Subject: before\n\nsent while the record was version 1\n")), {})

        before = len(env.log_bytes())
        p = env.pop3_login(olga)
        self.assertEqual(p.stat()[0], 1)
        self.assertIn(b"sent while the record was version 1", retr_bytes(p, 1))
        p.quit()
        env.wait_log(rb"key: a user record moved to version 2 at its POP3 login", start=before)
        self.assertIn("record: version 2 (", env.ctl("user", "show", "olga").stdout.decode())
        status = env.ctl("status").stdout.decode()
        self.assertRegex(status, r"users: [1-9]")
        self.assertNotIn("user records of version 1", status)
        self.assertNotIn("do not open", status)

        # The same password and inbox key from now on; the SMTP password too.
        self.assertEqual(env.send_external([olga.addr], crlf(
            "Subject: after\n\nsent once it was version 2\n")), {})
        bodies = [m for _, m in env.fetch_all(olga)]
        self.assertEqual(len(bodies), 2)
        self.assertIn(b"sent while the record was version 1", bodies[0] + bodies[1])
        self.assertIn(b"sent once it was version 2", bodies[0] + bodies[1])
        env.smtp_auth(olga).quit()
        p = env.pop3()
        p.user(olga.name)
        with self.assertRaises(poplib.error_proto):
            p.pass_("not-the-password")
        p.quit()
        self.assertEqual(env.log_bytes()[before:].count(b"moved to version 2"), 1)

    def test_onionmailctl_next_to_the_running_server_fails_nothing(self):
        # The operator changes passwords while the server takes mail: both use
        # the device at once. With swtpm (no resource manager) each connection
        # flushes the other's handles; the clients take turns through
        # <key_dir>/tpm2.lock, so no operation fails and the TPM counts no
        # failed authorisation (docs/keys.md, "Failure behaviour").
        env = self.env
        alice, bob = env.users["alice"], env.users["bob"]
        failures_before = self._tpm_lockout_counter()
        p = env.pop3_login(bob)
        held_before, _ = p.stat()  # the class's other tests wrote to bob too
        p.quit()
        log_start = len(env.log_bytes())  # and to the log
        stop = threading.Event()
        errors, sent = [], []

        def traffic():  # each message: a handshake signature and AUTH in the device
            while not stop.is_set():
                try:
                    s = env.smtp_auth(alice)
                    s.sendmail(alice.addr, [bob.addr],
                               crlf("Subject: turn %d\n\nturn %d\n" % (len(sent), len(sent))))
                    s.quit()
                    sent.append(1)
                except Exception as e:  # noqa: BLE001 - every failure is the finding
                    errors.append(repr(e))

        thread = threading.Thread(target=traffic)
        thread.start()
        try:
            for i in range(3):
                new_pop3 = "pop3-password-of-turn-%d-abcdef" % i
                env.ctl("user", "passwd", "bob", "--pop3", "--password-file",
                        env.pw_file(new_pop3), "--old-password-file", env.pw_file(bob.pop3_pw))
                bob.pop3_pw = new_pop3
                env.ctl("user", "passwd", "bob", "--smtp", "--password-file",
                        env.pw_file("smtp-password-of-turn-%d-abcdef" % i))
        finally:
            stop.set()
            thread.join()
        self.assertEqual(errors, [])
        self.assertGreater(len(sent), 0)
        p = env.pop3_login(bob)  # the re-wrapped inbox key, unwrapped by the server
        count, _ = p.stat()
        self.assertEqual(count, held_before + len(sent))
        p.quit()
        self.assertEqual(self._tpm_lockout_counter(), failures_before)
        self.assertNotIn(b"failed in the key store", env.log_bytes()[log_start:])
        if KEYS_BACKEND == "tpm2":
            env.wait_log(rb"tpm2: another client of the TPM at \S+ connected since this "
                         rb"one's last call")
            self.assertNotIn(b"0x98e", env.log_bytes()[log_start:])

    def _tpm_lockout_counter(self):
        """TPM2_PT_LOCKOUT_COUNTER read with tpm2-tools (no object loaded, nothing
        flushed); None with SoftHSM2."""
        if KEYS_BACKEND != "tpm2":
            return None
        out = subprocess.run(
            ["tpm2_getcap", "-T", "swtpm:host=127.0.0.1,port=%d" % self.env.swtpm_port,
             "properties-variable"], check=True, capture_output=True, timeout=60).stdout
        m = re.search(rb"TPM2_PT_LOCKOUT_COUNTER: (0x[0-9A-Fa-f]+)", out)
        self.assertIsNotNone(m, out)
        return int(m.group(1), 16)

    def _make_device_vanish(self):
        if KEYS_BACKEND == "tpm2":
            self.env.stop_swtpm()
        else:
            tokens = os.path.join(self.env.root, "softhsm", "tokens")
            shutil.move(tokens, tokens + ".away")

    def _bring_device_back(self):
        if KEYS_BACKEND == "tpm2":
            self.env.start_swtpm()
        else:
            tokens = os.path.join(self.env.root, "softhsm", "tokens")
            shutil.move(tokens + ".away", tokens)

    def test_device_lost_while_running_gives_temporary_errors_then_recovers(self):
        env = self.env
        bob = env.users["bob"]
        env.send_external([bob.addr], crlf("Subject: before\n\nbefore-loss-marker\n"))
        # A session already in TLS when the device vanishes gets 4xx / -ERR
        # [SYS/TEMP]; new connections cannot even complete STARTTLS (the
        # handshake signature needs the device): a connection-level failure,
        # which senders treat as temporary. The server stays up throughout.
        # Known limit (SECURITY.md): SoftHSM2 can only be reconnected by
        # C_Finalize + C_Initialize, which disturbs OpenSSL state shared with
        # TLS sessions open in the same process, so with pkcs11 the POP3
        # session is not reused after the failed login; the process split
        # (least-privilege issue) moves the module into the key role.
        s = env.smtp()
        p = env.pop3()
        seen = len(env.log_bytes())
        self._make_device_vanish()
        try:
            time.sleep(1.2)  # the presence probe is cached for one second
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as err:
                s.sendmail("someone@remote.onion", [bob.addr],
                           crlf("Subject: during\n\nduring\n"))
            code = list(err.exception.recipients.values())[0][0]
            self.assertEqual(code // 100, 4, "deliveries must be temporary failures")
            s.quit()
            p.user(bob.name)
            with self.assertRaises(poplib.error_proto) as perr:
                p.pass_(bob.pop3_pw)
            self.assertIn(b"SYS/TEMP", perr.exception.args[0])
            self.assertTrue(env.running(), "server must stay up without its device")
            if KEYS_BACKEND == "tpm2":
                p.quit()  # the session survives its failed login
            else:
                p.close()
            with self.assertRaises((ssl.SSLError, smtplib.SMTPException, OSError)):
                env.send_external([bob.addr], crlf("Subject: during\n\nduring\n"))
            self.assertTrue(env.running(), "server must stay up without its device")
            # The clients learn only "temporary"; the operator reads why (the key
            # role's lines may land a moment after the client saw the failure: CI
            # once read the log before the TLS signature's line was in it).
            for what in (b"RCPT for smtp", b"login for pop3", b"TLS signature for smtp"):
                env.wait_log(re.escape(what) + rb" failed in the key store: \S", start=seen)
        finally:
            self._bring_device_back()
        deadline = time.time() + 20
        while True:
            try:
                env.send_external([bob.addr], crlf("Subject: after\n\nafter-loss-marker\n"))
                break
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPException):
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        bodies = b"".join(m for _, m in env.fetch_all(bob))
        self.assertIn(b"before-loss-marker", bodies)
        self.assertIn(b"after-loss-marker", bodies)


@unittest.skipUnless(KEYS_BACKEND in ("pkcs11", "tpm2"),
                     "runs with ONIONMAIL_TEST_KEYS=pkcs11 or tpm2")
class HardwareStartupErrorsTest(ServerTestCase, unittest.TestCase):
    ROLE_DEATHS_EXPECTED = True  # each test makes the key role fail at start

    def test_missing_device_at_start_is_a_clear_error_and_nonzero_exit(self):
        env = self.env
        env.stop()
        if KEYS_BACKEND == "tpm2":
            env.stop_swtpm()
            expected = b"TPM not reachable"
        else:
            conf = os.path.join(env.root, "softhsm", "user.pin")
            shutil.copy(conf, conf + ".good")
            with open(conf, "w") as f:
                f.write("000000\n")
            expected = b"wrong PIN"
        try:
            before = len(env.log_bytes())
            # The supervisor opens the listeners before the key role starts,
            # so start() may see the ports; either way onionmaild must exit
            # non-zero soon, without retrying the device in a loop.
            try:
                env.start(timeout=15)
            except AssertionError:
                pass
            try:
                env.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.fail("onionmaild kept running without its device:\n" + env.log_tail())
            self.assertNotEqual(env.proc.returncode, 0)
            self.assertEqual(env.log_bytes()[before:].count(b"started role key"), 1,
                             env.log_tail())
            self.assertIn(expected, env.log_bytes())
            self.assertNotIn(b"000000", env.log_bytes())
        finally:
            if KEYS_BACKEND == "tpm2":
                env.start_swtpm()
            else:
                shutil.copy(os.path.join(env.root, "softhsm", "user.pin.good"), conf)
            env.start()


if __name__ == "__main__":
    unittest.main()
