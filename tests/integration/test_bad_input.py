"""Hostile and malformed input: STARTTLS/STLS injection, SMTP smuggling,
NUL bytes, overlong lines, authentication misuse, path traversal and slow
clients, and clients or a front end that vanish mid-RETR (HangUpTest).
After each abuse the server must still complete a normal
transaction (checked in tearDown-style helper _assert_still_serving).
"""

import base64
import os
import poplib
import re
import signal
import smtplib
import socket
import threading
import time
import unittest

from harness import CRLF, RawLine, ServerTestCase, crlf, raw_smtp_tls

SMUGGLED = b"smuggled-marker-7f3a"


class BadInputTest(ServerTestCase, unittest.TestCase):
    USERS = ("alice", "bob", "carol")

    def _bob_messages(self):
        return [m for _, m in self.env.fetch_all(self.env.users["bob"])]

    def _assert_still_serving(self):
        bob = self.env.users["bob"]
        before = self.env.mailbox_count(bob)
        msg = crlf("Subject: still-alive\r\n\r\nnormal transaction\r\n")
        self.assertEqual(self.env.send_external([bob.addr], msg), {})
        self.assertEqual(self.env.mailbox_count(bob), before + 1)

    # ------------------------------------------------------ TLS injection
    def test_smtp_starttls_command_injection_is_not_executed(self):
        c = RawLine("127.0.0.1", self.env.smtp_port)
        self.assertEqual(c.smtp_reply(exact=True)[0], 220)
        c.send(b"EHLO inj.test\r\n")
        self.assertEqual(c.smtp_reply(exact=True)[0], 250)
        c.send(b"STARTTLS\r\nEHLO x\r\nMAIL FROM:<a@b>\r\n")
        code, lines = c.smtp_reply(exact=True)
        if code != 220:
            # Refusing STARTTLS with pipelined data is acceptable only if the
            # server then closes without answering the injected commands.
            extra = c.pending(1.0)
            self.assertEqual(extra, b"", "plaintext replies to injected "
                             "commands: %r" % extra)
        else:
            try:
                c.starttls(self.env.tls_context())
            except OSError as e:
                self.fail("TLS handshake failed after STARTTLS (server "
                          "likely answered injected commands in plaintext): "
                          "%r" % e)
            c.send(b"EHLO mine.test\r\n")
            code, lines = c.smtp_reply()
            self.assertEqual(code, 250, lines)
            self.assertTrue(any(b"AUTH" in l for l in lines),
                            "first reply after TLS is not our EHLO: %r" % lines)
            extra = c.pending(1.0)
            self.assertEqual(extra, b"", "replies to injected commands "
                             "after TLS: %r" % extra)
            # The injected MAIL FROM must not have opened a transaction.
            c.send(b"RCPT TO:<bob@" + self.env.domain.encode() + b">\r\n")
            code, lines = c.smtp_reply()
            self.assertEqual(code, 503, "RCPT accepted without MAIL: %r" % lines)
        c.close()
        self._assert_still_serving()

    def test_pop3_stls_command_injection_is_not_executed(self):
        c = RawLine("127.0.0.1", self.env.pop3_port)
        self.assertTrue(c.readline_exact().startswith(b"+OK"))
        c.send(b"STLS\r\nUSER bob\r\n")
        first = c.readline_exact()
        if first.startswith(b"+OK"):
            try:
                c.starttls(self.env.tls_context())
            except OSError as e:
                self.fail("TLS handshake failed after STLS: %r" % e)
            c.send(b"CAPA\r\n")
            status = c.readline()
            self.assertTrue(status.startswith(b"+OK"), status)
            caps = []
            while True:
                line = c.readline()
                if line == b".\r\n":
                    break
                caps.append(line)
            self.assertFalse(any(l.startswith((b"+OK", b"-ERR")) for l in caps),
                             "reply to injected USER seen after TLS: %r" % caps)
            self.assertEqual(c.pending(1.0), b"")
            # PASS must fail: the injected USER was not accepted.
            c.send(b"PASS " + self.env.users["bob"].pop3_pw.encode() + CRLF)
            self.assertTrue(c.readline().startswith(b"-ERR"),
                            "PASS succeeded using injected USER")
        else:
            self.assertEqual(c.pending(1.0), b"")
        c.close()
        self._assert_still_serving()
        self.env.pop3_login(self.env.users["bob"]).quit()

    def test_garbage_instead_of_tls_handshake_is_dropped(self):
        c = RawLine("127.0.0.1", self.env.smtp_port)
        c.smtp_reply()
        c.send(b"EHLO x\r\nSTARTTLS\r\n")
        c.smtp_reply()
        self.assertEqual(c.smtp_reply()[0], 220)
        c.send(b"GET / HTTP/1.0\r\n\r\n" * 10)
        self.assertTrue(c.closed_by_peer(5.0))
        c.close()
        self._assert_still_serving()

    # ----------------------------------------------------------- smuggling
    def _smuggle(self, payload):
        bob = self.env.users["bob"]
        before = self._bob_messages()
        c = raw_smtp_tls(self.env)
        dom = self.env.domain.encode()
        c.send(b"MAIL FROM:<sender@remote.onion>\r\n")
        self.assertEqual(c.smtp_reply()[0], 250)
        c.send(b"RCPT TO:<" + bob.addr.encode() + b">\r\n")
        self.assertEqual(c.smtp_reply()[0], 250)
        c.send(b"DATA\r\n")
        self.assertEqual(c.smtp_reply()[0], 354)
        c.send(b"Subject: smuggle test\r\n\r\nhello" + payload +
               b"MAIL FROM:<x@y.onion>\r\nRCPT TO:<bob@" + dom +
               b">\r\nDATA\r\n" + SMUGGLED + b"\r\n.\r\n")
        transcript = []
        try:
            code, lines = c.smtp_reply()
            transcript.append(lines)
        except (EOFError, OSError) as e:
            code = None
            transcript.append(repr(e))
        self.assertEqual(code, 521, "payload %r: transcript %r" %
                         (payload, transcript))
        self.assertTrue(c.closed_by_peer(5.0),
                        "connection not closed after 521 (%r)" % payload)
        c.close()
        after = self._bob_messages()
        self.assertFalse(any(SMUGGLED in m for m in after),
                         "smuggled message delivered for %r" % payload)
        self.assertEqual(len(after), len(before),
                         "message delivered despite bare line ending %r" % payload)
        self._assert_still_serving()

    def test_smuggling_bare_lf_dot_crlf_is_rejected_with_521(self):
        self._smuggle(b"\n.\r\n")

    def test_smuggling_bare_cr_dot_crlf_is_rejected_with_521(self):
        self._smuggle(b"\r.\r\n")

    def test_smuggling_bare_lf_dot_lf_is_rejected_with_521(self):
        self._smuggle(b"\n.\n")

    def test_bare_lf_in_command_is_rejected_with_521(self):
        c = raw_smtp_tls(self.env)
        c.send(b"NOOP\n")
        code, lines = c.smtp_reply()
        self.assertEqual(code, 521, lines)
        self.assertTrue(c.closed_by_peer(5.0))
        c.close()
        self._assert_still_serving()

    def test_nul_in_data_is_rejected_with_554(self):
        bob = self.env.users["bob"]
        before = self.env.mailbox_count(bob)
        s = self.env.smtp()
        self.assertEqual(s.mail("sender@remote.onion")[0], 250)
        self.assertEqual(s.rcpt(bob.addr)[0], 250)
        code, text = s.data(b"Subject: nul\r\n\r\nbad\0byte nul-marker\r\n")
        self.assertEqual(code, 554, text)
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
        self.assertEqual(self.env.mailbox_count(bob), before)
        self._assert_still_serving()

    # ----------------------------------------------------- overlong lines
    def test_overlong_command_line_gets_500_and_close(self):
        c = RawLine("127.0.0.1", self.env.smtp_port)
        self.assertEqual(c.smtp_reply()[0], 220)
        chunk = b"A" * 4096
        sent = 0
        c.sock.setblocking(False)
        import select
        reply_ready = False
        while sent < 100 * 1024:
            r, w, _ = select.select([c.sock], [c.sock], [], 5)
            if r:
                reply_ready = True
                break
            if w:
                try:
                    sent += c.sock.send(chunk)
                except BlockingIOError:
                    pass
            if not r and not w:
                break
        c.sock.setblocking(True)
        c.sock.settimeout(10)
        try:
            code, lines = c.smtp_reply()
        except (EOFError, OSError) as e:
            self.fail("no 500 reply after %d bytes (reply_ready=%s): %r" %
                      (sent, reply_ready, e))
        self.assertEqual(code, 500, lines)
        self.assertTrue(c.closed_by_peer(5.0), "connection not closed")
        c.close()
        self._assert_still_serving()

    def test_declared_size_over_limit_is_refused_with_552(self):
        s = self.env.smtp()
        code, text = s.mail("sender@remote.onion", ["SIZE=%d" % (10**10)])
        self.assertEqual(code, 552, text)
        s.close()

    def test_huge_line_inside_data_gets_500_close_and_no_delivery(self):
        bob = self.env.users["bob"]
        before = self.env.mailbox_count(bob)
        c = raw_smtp_tls(self.env)
        c.send(b"MAIL FROM:<a@remote.onion>\r\nRCPT TO:<" + bob.addr.encode() +
               b">\r\nDATA\r\n")
        self.assertEqual([c.smtp_reply()[0] for _ in range(3)], [250, 250, 354])
        try:
            # The server stops reading at the line limit, answers 500 and
            # closes; it drains what is still in flight (lingering close), so
            # the whole send succeeds and the reply is not lost to a reset.
            c.send(b"Subject: long\r\n\r\n" + b"L" * 300000 + b"\r\n.\r\n")
            code, lines = c.smtp_reply()
        except (EOFError, OSError) as e:
            self.fail("no reply to overlong DATA line: %r" % e)
        self.assertEqual(code, 500, lines)
        self.assertTrue(c.closed_by_peer(5.0))
        c.close()
        self.assertEqual(self.env.mailbox_count(bob), before)
        self._assert_still_serving()

    # ------------------------------------------------------ auth misuse
    def test_auth_before_starttls_gets_530(self):
        alice = self.env.users["alice"]
        c = RawLine("127.0.0.1", self.env.smtp_port)
        c.smtp_reply()
        c.send(b"EHLO plain.test\r\n")
        c.smtp_reply()
        token = base64.b64encode(b"\0alice\0" + alice.smtp_pw.encode())
        c.send(b"AUTH PLAIN " + token + CRLF)
        code, lines = c.smtp_reply()
        self.assertEqual(code, 530, lines)
        c.close()

    def test_mail_rcpt_data_before_starttls_get_530(self):
        bob = self.env.users["bob"]
        s = self.env.smtp(tls=False)
        self.assertEqual(s.mail("sender@remote.onion")[0], 530)
        self.assertEqual(s.rcpt(bob.addr)[0], 530)
        s.putcmd("data")
        self.assertEqual(s.getreply()[0], 530)
        s.close()

    def test_wrong_smtp_password_gets_535(self):
        alice = self.env.users["alice"]
        s = self.env.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            s.login(alice.name, alice.smtp_pw + "x")
        self.assertEqual(cm.exception.smtp_code, 535)
        s.close()

    def test_smtp_login_with_pop3_password_gets_535(self):
        alice = self.env.users["alice"]
        s = self.env.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            s.login(alice.name, alice.pop3_pw)
        self.assertEqual(cm.exception.smtp_code, 535)
        s.close()

    def test_auth_plain_authzid_cannot_impersonate_another_user(self):
        alice, bob, carol = (self.env.users[n] for n in ("alice", "bob", "carol"))
        s = self.env.smtp()
        token = base64.b64encode(b"alice\0bob\0" + bob.smtp_pw.encode()).decode()
        code, _ = s.docmd("AUTH", "PLAIN " + token)
        if code == 235:
            # Authenticated as bob at best: sending as alice must still fail.
            code, _ = s.mail(alice.addr)
            if code == 250:
                code, _ = s.rcpt(carol.addr)
            self.assertIn(code, (530, 553), "authzid let bob send as alice")
        else:
            self.assertIn(code, (535, 501, 504))
        s.close()
        self.assertEqual(self.env.mailbox_count(carol), 0)

    def test_malformed_auth_plain_gets_501_and_session_survives(self):
        s = self.env.smtp()
        code, _ = s.docmd("AUTH", "PLAIN !!!not-base64!!!")
        self.assertEqual(code, 501)
        code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"no-nuls").decode())
        self.assertIn(code, (501, 535))
        self.assertEqual(s.noop()[0], 250)
        s.quit()

    def test_second_auth_after_success_gets_503(self):
        alice = self.env.users["alice"]
        s = self.env.smtp_auth(alice)
        token = base64.b64encode(b"\0alice\0" + alice.smtp_pw.encode()).decode()
        self.assertEqual(s.docmd("AUTH", "PLAIN " + token)[0], 503)
        s.quit()

    def test_auth_failure_is_delayed(self):
        # auth_failure_delay_ms = 50 in the harness config.
        alice = self.env.users["alice"]
        s = self.env.smtp()
        token = base64.b64encode(b"\0alice\0wrong-password").decode()
        t0 = time.monotonic()
        self.assertEqual(s.docmd("AUTH", "PLAIN " + token)[0], 535)
        self.assertGreaterEqual(time.monotonic() - t0, 0.045)
        s.close()

    def test_smtp_login_unknown_user_gets_535(self):
        s = self.env.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            s.login("nosuchuser", "whatever-password")
        self.assertEqual(cm.exception.smtp_code, 535)
        s.close()

    def _pop3_login_fails(self, name, pw):
        p = self.env.pop3()
        try:
            try:
                p.user(name)
            except poplib.error_proto:
                return  # rejected at USER: fine
            with self.assertRaises(poplib.error_proto):
                p.pass_(pw)
        finally:
            p.close()

    def test_pop3_wrong_password_fails(self):
        bob = self.env.users["bob"]
        self._pop3_login_fails(bob.name, bob.pop3_pw + "x")
        self.env.pop3_login(bob).quit()  # not locked out by the failure

    def test_pop3_login_with_smtp_password_fails(self):
        bob = self.env.users["bob"]
        self._pop3_login_fails(bob.name, bob.smtp_pw)

    def test_bob_cannot_open_alices_mailbox_with_his_password(self):
        bob = self.env.users["bob"]
        self._pop3_login_fails("alice", bob.pop3_pw)

    def test_pop3_auth_plain_authzid_cannot_open_another_mailbox(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        self.env.send_external([bob.addr], b"Subject: x\r\n\r\nfor bob only\r\n")
        p = self.env.pop3()
        token = base64.b64encode(b"bob\0alice\0" + alice.pop3_pw.encode()).decode()
        try:
            p._shortcmd("AUTH PLAIN " + token)
        except poplib.error_proto:
            p.close()
            return
        # If accepted at all, it must be alice's (empty) mailbox, not bob's.
        for i in range(1, p.stat()[0] + 1):
            _, lines, _ = p.retr(i)
            self.assertNotIn(b"for bob only", lines)
        p.quit()

    def test_pop3_user_before_stls_is_refused(self):
        bob = self.env.users["bob"]
        p = poplib.POP3("127.0.0.1", self.env.pop3_port, timeout=30)
        with self.assertRaises(poplib.error_proto):
            p.user(bob.name)
        with self.assertRaises(poplib.error_proto):
            p.pass_(bob.pop3_pw)
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("AUTH PLAIN " + base64.b64encode(
                b"\0bob\0" + bob.pop3_pw.encode()).decode())
        p.close()

    # ---------------------------------------------------- path traversal
    def _tree(self):
        out = set()
        for base, dirs, files in os.walk(self.env.root):
            for n in dirs + files:
                out.add(os.path.relpath(os.path.join(base, n), self.env.root))
        return out

    def test_path_traversal_local_parts_are_refused(self):
        before = self._tree()
        parent_before = set(os.listdir(os.path.dirname(self.env.root)))
        dom = self.env.domain
        s = self.env.smtp()
        self.assertEqual(s.mail("sender@remote.onion")[0], 250)
        for local in ("../x", "..%2fx", "x/../y", "..", "../../../tmp/pwn",
                      "x\\..\\y", "bob/../../x"):
            code, text = s.rcpt("<%s@%s>" % (local, dom))
            self.assertIn(code, (550, 553, 501), "RCPT %s: %d %r" % (local, code, text))
        s.rset()
        s.quit()
        after = self._tree()
        new = after - before
        suspicious = [p for p in new if os.path.basename(p) in
                      ("x", "y", "..%2fx", "pwn", "x\\..\\y")]
        self.assertEqual(suspicious, [])
        parent_after = set(os.listdir(os.path.dirname(self.env.root)))
        self.assertFalse({"x", "y", "pwn"} & (parent_after - parent_before))
        self.assertFalse(os.path.exists("/tmp/pwn"))

    # ---------------------------------------------------------- slow client
    def test_silent_client_does_not_block_others(self):
        idle = []
        for _ in range(3):
            idle.append(socket.create_connection(("127.0.0.1", self.env.smtp_port)))
            idle.append(socket.create_connection(("127.0.0.1", self.env.pop3_port)))
        half = socket.create_connection(("127.0.0.1", self.env.smtp_port))
        half.sendall(b"EHLO half")  # partial line, never finished
        try:
            bob = self.env.users["bob"]
            before = self.env.mailbox_count(bob)
            errors = []

            def worker(i):
                try:
                    m = crlf("Subject: w%d\r\n\r\nparallel %d\r\n" % (i, i))
                    if self.env.send_external([bob.addr], m) != {}:
                        errors.append(i)
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))

            t0 = time.monotonic()
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            elapsed = time.monotonic() - t0
            self.assertEqual(errors, [])
            self.assertLess(elapsed, 10.0, "transactions stalled by idle clients")
            self.assertEqual(self.env.mailbox_count(bob), before + 4)
        finally:
            for s in idle + [half]:
                s.close()


if __name__ == "__main__":
    unittest.main()


class HangUpTest(ServerTestCase, unittest.TestCase):
    """Clients that vanish mid-transfer, as Tor circuits do."""

    def _login_once_released(self, user, wait=15.0):
        """Logs in as soon as the mailbox lock of a vanished session is gone."""
        deadline = time.monotonic() + wait
        while True:
            try:
                return self.env.pop3_login(user)
            except poplib.error_proto:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def test_client_hanging_up_mid_retr_keeps_the_mail_and_logs_no_fault(self):
        bob = self.env.users["bob"]
        body = ("y" * 76 + "\n") * 40000  # about 3 MiB
        before = self.env.mailbox_count(bob)
        self.assertEqual(self.env.send_external([bob.addr], crlf("Subject: big\n\n" + body)), {})
        seen = len(self.env.log_bytes())
        for _ in range(3):
            p = self.env.pop3_login(bob)
            p._putcmd("RETR %d" % (before + 1))
            self.assertTrue(p._getline()[0].startswith(b"+OK"))
            p.file.read(64 * 1024)  # some of it, then the client is gone
            p.sock.close()
            p.file.close()
            # Its session ends and releases the mailbox: the next login works.
            again = self._login_once_released(bob)
            self.assertEqual(again.stat()[0], before + 1)
            again.quit()
        self.assertTrue(self.env.running())
        got = [m for _, m in self.env.fetch_all(bob)]
        self.assertEqual(len(got), before + 1)
        self.assertIn(body.replace("\n", "\r\n").encode(), got[-1])
        self.assertNotIn(b"failed in the key store", self.env.log_bytes()[seen:])

    def test_pop3_role_dying_mid_retr_is_no_fault_of_the_store(self):
        # The key role's send to a front end that died fails; that is the
        # supervisor's to log (it restarts the role), not a store failure.
        self.role_deaths_expected = True
        bob = self.env.users["bob"]
        # 16 MiB: more than the loopback TCP buffers (up to 4 MiB each way)
        # and the IPC channel's can hold, so the key role is still sending.
        body = ("z" * 76 + "\n") * 215000
        before = self.env.mailbox_count(bob)
        self.assertEqual(self.env.send_external([bob.addr], crlf("Subject: big2\n\n" + body)), {})
        seen = len(self.env.log_bytes())
        pids = re.findall(rb"started role pop3 \(pid (\d+)\)", self.env.log_bytes())
        p = self.env.pop3_login(bob)
        p._putcmd("RETR %d" % p.stat()[0])
        self.assertTrue(p._getline()[0].startswith(b"+OK"))
        p.file.read(16 * 1024)  # the rest waits in the buffers: the key role blocks sending
        os.kill(int(pids[-1]), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while b"started role pop3" not in self.env.log_bytes()[seen:]:
            self.assertLess(time.monotonic(), deadline, self.env.log_tail())
            time.sleep(0.1)
        p.sock.close()
        p.file.close()
        again = self._login_once_released(bob)  # the key role ended that session
        self.assertEqual(again.stat()[0], before + 1)
        again.quit()
        self.assertNotIn(b"failed in the key store", self.env.log_bytes()[seen:])
