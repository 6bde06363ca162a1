"""Session TLS keys ([tls] session_key_hours): the key role signs full
handshakes with a short-lived P-256 key of its own, certified by the token's
TLS key, instead of asking the token for every handshake. Clients that check
certificates trust <state>/tls/ca.pem, the token key's issuing certificate.

Real clients (smtplib STARTTLS, poplib STLS) verify the chain and the host
name each time. The module runs with every key backend (file, and with a real
SoftHSM2 token and a real swtpm through ONIONMAIL_TEST_KEYS). The rotation test
needs a test build (-DONIONMAIL_TEST_HOOKS=ON, as provisioning/test.sh makes
it): ONIONMAIL_TEST_SESSION_KEY_SECONDS gives the keys a life of seconds.
"""

import os
import re
import shutil
import signal
import ssl
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness import TestEnv, crlf
from harness_proc import children_of

ROTATION_SECONDS = 8


def spki(key):
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def file_key(path):
    with open(path, "rb") as f:
        return spki(x509.load_pem_x509_certificate(f.read()).public_key())


def served_key(sock):
    return spki(x509.load_der_x509_certificate(sock.getpeercert(binary_form=True)).public_key())


def device_operations(log, what):
    """The key role's count of device operations in `log`: at start-up or since."""
    pattern = {"start": rb"device operations at start-up: (\d+)",
               "stop": rb"device operations since start: (\d+)"}[what]
    found = re.findall(pattern, log)
    if not found:
        raise AssertionError("no %r line in the log" % pattern)
    return int(found[-1])


class SessionTlsTest(unittest.TestCase):

    def make_env(self):
        self.env = TestEnv(prefix="om-sesstls-", extra_config={"tls": {"session_key_hours": 24}})
        self.env.init()
        self.ca_path = os.path.join(self.env.state_dir, "tls", "ca.pem")
        # Every client of the harness trusts the issuing certificate only.
        self.env.tls_context = lambda: ssl.create_default_context(cafile=self.ca_path)
        self.user = self.env.add_user("alice")

    def setUp(self):
        self.env = None
        self.saved_env = os.environ.get("ONIONMAIL_TEST_SESSION_KEY_SECONDS")

    def tearDown(self):
        if self.saved_env is None:
            os.environ.pop("ONIONMAIL_TEST_SESSION_KEY_SECONDS", None)
        else:
            os.environ["ONIONMAIL_TEST_SESSION_KEY_SECONDS"] = self.saved_env
        if self.env is not None:
            if self.env.running():
                self.env.stop()
            self.env.cleanup()

    def start(self):
        self.env.start()
        self.env.wait_log(rb"session TLS keys: a new one every")
        self.env.wait_log(rb"key: ready: key store")

    def smtp_key(self):
        s = self.env.smtp()
        try:
            return served_key(s.sock)
        finally:
            s.quit()

    def pop3_key(self):
        p = self.env.pop3()
        try:
            return served_key(p.sock)
        finally:
            p.quit()

    def deliver_and_read(self, marker):
        msg = crlf("From: a@remote.onion\nTo: %s\nSubject: %s\n\n%s\n"
                   % (self.user.addr, marker, marker))
        self.assertEqual(self.env.send_external([self.user.addr], msg), {})
        bodies = b"".join(m for _, m in self.env.fetch_all(self.user))
        self.assertIn(marker.encode(), bodies)

    def test_handshakes_present_a_session_key_issued_by_the_token_key(self):
        self.make_env()
        self.start()
        token_key = file_key(self.env.cert_path)
        self.assertEqual(file_key(self.ca_path), token_key)
        with open(self.ca_path, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        self.assertTrue(ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        # Both front ends present the same session key (generation 1), not the
        # token's; the clients verified its chain and the name 127.0.0.1.
        smtp_key, pop3_key = self.smtp_key(), self.pop3_key()
        self.assertNotEqual(smtp_key, token_key)
        self.assertEqual(smtp_key, pop3_key)
        self.assertEqual(self.smtp_key(), smtp_key)
        self.deliver_and_read("session-key-marker")
        # A client that trusts the server's own certificate (CA:FALSE) cannot
        # build the chain: session keys need ca.pem on clients that check.
        self.env.tls_context = lambda: ssl.create_default_context(cafile=self.env.cert_path)
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.env.smtp()

    def test_handshakes_need_no_token_signature(self):
        self.make_env()
        self.start()
        at_start = device_operations(self.env.log_bytes(), "start")
        for _ in range(10):
            self.smtp_key()
            self.pop3_key()
        self.env.stop()
        self.assertEqual(device_operations(self.env.log_bytes(), "stop"), at_start,
                         self.env.log_tail())

    def test_restart_makes_a_new_session_key_under_the_same_issuer(self):
        self.make_env()
        self.start()
        first = self.smtp_key()
        kept_ca = os.path.join(self.env.root, "ca-kept.pem")
        shutil.copyfile(self.ca_path, kept_ca)
        self.env.stop()
        self.start()
        # A client keeps the issuing certificate it was given before.
        self.env.tls_context = lambda: ssl.create_default_context(cafile=kept_ca)
        second = self.smtp_key()
        self.assertNotEqual(first, second)
        self.deliver_and_read("after-restart")

    def test_keys_rotate_and_front_ends_follow_without_a_failed_handshake(self):
        os.environ["ONIONMAIL_TEST_SESSION_KEY_SECONDS"] = str(ROTATION_SECONDS)
        self.make_env()
        self.start()
        seen = [self.smtp_key()]
        deadline = time.monotonic() + 6 * ROTATION_SECONDS
        while len(set(seen)) < 3:
            self.assertLess(time.monotonic(), deadline,
                            "no third session key:\n" + self.env.log_tail())
            time.sleep(0.5)
            seen.append(self.smtp_key())  # every handshake verified under ca.pem
            self.pop3_key()
        log = self.env.wait_log(rb"session TLS key \d+ made[\s\S]*session TLS key \d+ made")
        made = re.findall(rb"session TLS key (\d+) made", log)
        self.assertGreaterEqual(len(made), 2, self.env.log_tail())
        self.assertEqual(int(made[1]), int(made[0]) + 1)
        self.env.wait_log(rb"smtp: now presenting session TLS key %s" % made[-1])
        self.assertNotIn(b"TLS identity not renewed", self.env.log_bytes())
        self.assertNotIn(b"signature failed", self.env.log_bytes())
        self.deliver_and_read("after-rotation")

    def test_front_ends_follow_a_restarted_key_role_without_a_failed_handshake(self):
        self.make_env()
        self.start()
        before = self.smtp_key()
        self.assertEqual(self.pop3_key(), before)
        key_pid = children_of(self.env.proc.pid)["onionmail-key"]
        seen = len(self.env.log_bytes())
        os.kill(key_pid, signal.SIGKILL)
        self.env.wait_log(rb"role key \(pid %d\) killed by signal SIGKILL" % key_pid, start=seen)
        self.env.wait_log(rb"key: ready: key store", wait=30, start=seen)
        # The front ends kept running; their next connections present the new
        # key role's session key (each handshake verified under ca.pem).
        after = self.smtp_key()
        self.assertNotEqual(after, before)
        self.assertEqual(self.pop3_key(), after)
        log = self.env.wait_log(rb"pop3: now presenting session TLS key", start=seen)
        self.assertNotIn(b"signature failed", log)
        self.deliver_and_read("after-key-role-restart")


if __name__ == "__main__":
    unittest.main()
