"""Third-party clients: swaks (SMTP, PIPELINING, STARTTLS with verification)
and curl (SMTP submission and POP3 RETR/UIDL/DELE). Passwords go through a
swaks config file / curl netrc file (mode 0600), never argv.
"""

import os
import secrets
import socket
import subprocess
import unittest

from harness import ServerTestCase, crlf, write_secret_file


class ClientsTest(ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        bob = self.env.users["bob"]
        p = self.env.pop3_login(bob)
        for i in range(1, p.stat()[0] + 1):
            p.dele(i)
        p.quit()

    def _secret(self, content):
        path = os.path.join(self.env.secrets_dir, "c-" + secrets.token_hex(6))
        write_secret_file(path, content)
        return path

    def _netrc(self, user, pw):
        return self._secret("machine 127.0.0.1 login %s password %s" % (user, pw))

    def _run(self, argv, timeout=60):
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
        return p

    def _swaks(self, *extra, auth_user=None):
        argv = ["swaks", "--server", "127.0.0.1", "--port", str(self.env.smtp_port),
                "--tls", "--tls-verify", "--tls-ca-path", self.env.cert_path,
                "--helo", "swaks.test", "--pipeline", "--timeout", "30"]
        if auth_user is not None:
            cfg = self._secret("auth-password %s" % auth_user.smtp_pw)
            argv = ["swaks", "--config", cfg] + argv[1:] + [
                "--auth", "PLAIN", "--auth-user", auth_user.name]
        return self._run(argv + list(extra))

    def _starttls_session(self, ctx, port, pop3, session=None):
        """Connects, upgrades with STARTTLS/STLS offering `session`, runs one
        command and closes with close_notify. Returns (reused, new session)."""
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = raw.makefile("rb")
        if pop3:
            self.assertTrue(f.readline().startswith(b"+OK"))
            raw.sendall(b"STLS\r\n")
            self.assertTrue(f.readline().startswith(b"+OK"))
        else:
            self.assertTrue(f.readline().startswith(b"220"))
            raw.sendall(b"EHLO resume.test\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            raw.sendall(b"STARTTLS\r\n")
            self.assertTrue(f.readline().startswith(b"220"))
        tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
        tf = tls.makefile("rb")
        # The reply comes after the TLS 1.3 ticket.
        tls.sendall(b"CAPA\r\n" if pop3 else b"NOOP\r\n")
        reply = tf.readline()
        self.assertTrue(reply.startswith(b"+OK" if pop3 else b"250"), reply)
        while pop3 and tf.readline() not in (b".\r\n", b""):
            pass
        reused, new = tls.session_reused, tls.session
        tls.sendall(b"QUIT\r\n")
        tf.readline()
        tls.unwrap().close()  # close_notify: the session stays resumable
        return reused, new

    def test_reconnecting_client_resumes_its_tls_session_smtp_and_pop3(self):
        # A resumed handshake needs no signature, i.e. no key-store operation
        # (tests/net/remote_key_test.cc counts them); here: the real front
        # ends under their sandbox resume sessions of a real client.
        for port, pop3 in ((self.env.smtp_port, False), (self.env.pop3_port, True)):
            ctx = self.env.tls_context()
            reused, session = self._starttls_session(ctx, port, pop3)
            self.assertFalse(reused)
            reused, _ = self._starttls_session(ctx, port, pop3, session)
            self.assertTrue(reused, "pop3" if pop3 else "smtp")

    def test_pop3_client_that_pipelines_gets_every_reply_in_order(self):
        # RFC 2449 PIPELINING, as CAPA offers it: one write with USER and PASS,
        # one with every RETR and DELE and QUIT; the replies come back in
        # order over real TLS, and the QUIT expunges everything.
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        sent = []
        for i in range(3):
            body = ("x" * 70 + "\n") * (i * 80) + ".starts with a dot\n"
            msg = crlf("Subject: piped %d\n\n%s" % (i, body))
            s = self.env.smtp_auth(alice)
            self.assertEqual(s.sendmail(alice.addr, [bob.addr], msg), {})
            s.quit()
            sent.append(msg)
        raw = socket.create_connection(("127.0.0.1", self.env.pop3_port), timeout=30)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        raw.sendall(b"STLS\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        tls = self.env.tls_context().wrap_socket(raw, server_hostname="127.0.0.1")
        tf = tls.makefile("rb")

        def multiline():
            lines = []
            while (line := tf.readline()) != b".\r\n":
                self.assertNotEqual(line, b"", "connection closed in a multi-line reply")
                lines.append(line[1:] if line.startswith(b".") else line)
            return b"".join(lines)

        tls.sendall(b"CAPA\r\n")
        self.assertTrue(tf.readline().startswith(b"+OK"))
        self.assertIn(b"PIPELINING\r\n", multiline())
        tls.sendall(b"USER %s\r\nPASS %s\r\n" % (bob.name.encode(), bob.pop3_pw.encode()))
        self.assertTrue(tf.readline().startswith(b"+OK"))
        self.assertTrue(tf.readline().startswith(b"+OK"))
        tls.sendall(b"".join(b"RETR %d\r\nDELE %d\r\n" % (n, n) for n in (1, 2, 3)) +
                    b"QUIT\r\n")
        for n in (1, 2, 3):
            self.assertTrue(tf.readline().startswith(b"+OK"))
            self.assertTrue(multiline().endswith(sent[n - 1]), n)
            self.assertEqual(tf.readline(), b"+OK Message %d deleted\r\n" % n)
        self.assertTrue(tf.readline().startswith(b"+OK"), "QUIT")
        tls.close()
        self.assertEqual(self.env.fetch_all(bob), [])

    # ---------------------------------------------------------------- swaks
    def test_swaks_authenticated_pipelined_submission(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        p = self._swaks("--from", alice.addr, "--to", bob.addr,
                        "--header", "Subject: swaks-pipelined-subject",
                        "--body", "swaks body marker 1234",
                        auth_user=alice)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace")[-3000:])
        self.assertNotIn(alice.smtp_pw.encode(), p.stdout.replace(b"\n", b""))
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        self.assertIn(b"Subject: swaks-pipelined-subject", got[0][1])
        self.assertIn(b"swaks body marker 1234", got[0][1])

    def test_swaks_external_sender_without_auth(self):
        bob = self.env.users["bob"]
        p = self._swaks("--from", "ext@remote.onion", "--to", bob.addr,
                        "--body", "external swaks")
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace")[-3000:])
        self.assertEqual(self.env.mailbox_count(bob), 1)

    def test_swaks_with_wrong_ca_fails_tls(self):
        bob = self.env.users["bob"]
        other_ca = "/etc/ssl/certs/ca-certificates.crt"
        if not os.path.exists(other_ca):
            self.skipTest("no system CA bundle")
        p = self._run(["swaks", "--server", "127.0.0.1", "--port",
                       str(self.env.smtp_port), "--tls", "--tls-verify",
                       "--tls-ca-path", other_ca, "--from", "ext@remote.onion",
                       "--to", bob.addr, "--timeout", "30"])
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.env.mailbox_count(bob), 0)

    def test_swaks_relay_attempt_is_refused(self):
        alice = self.env.users["alice"]
        p = self._swaks("--from", alice.addr, "--to", "victim@elsewhere.onion",
                        auth_user=alice)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"550", p.stdout)

    # ----------------------------------------------------------------- curl
    def _curl_base(self):
        return ["curl", "-sS", "--ssl-reqd", "--cacert", self.env.cert_path,
                "--max-time", "60"]

    def _curl_send(self, user, rcpt, msg):
        path = os.path.join(self.env.root, "curlmsg-" + secrets.token_hex(4))
        with open(path, "wb") as f:
            f.write(msg)
        return self._run(self._curl_base() + [
            "smtp://127.0.0.1:%d/curl.test" % self.env.smtp_port,
            "--mail-from", user.addr, "--mail-rcpt", rcpt.addr,
            "-T", path, "--netrc-file", self._netrc(user.name, user.smtp_pw)])

    def _curl_pop3(self, user, path="", *extra):
        return self._run(self._curl_base() + [
            "pop3://127.0.0.1:%d/%s" % (self.env.pop3_port, path),
            "--netrc-file", self._netrc(user.name, user.pop3_pw)] + list(extra))

    def test_curl_smtp_submission_then_curl_pop3_retr_is_byte_exact(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        msg = crlf("From: <%s>\r\nTo: <%s>\r\nSubject: curl\r\n\r\n"
                   "curl body\r\n.dot line\r\n..two\r\nend\r\n" % (alice.addr, bob.addr))
        p = self._curl_send(alice, bob, msg)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self._curl_pop3(bob, "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith(msg), p.stdout[-400:])
        self.assertTrue(p.stdout.startswith(b"Return-Path:"), p.stdout[:200])

    def test_curl_pop3_uidl_and_dele(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        for i in range(2):
            m = crlf("Subject: c%d\r\n\r\nx\r\n" % i)
            self.assertEqual(self._curl_send(alice, bob, m).returncode, 0)
        p = self._curl_pop3(bob, "", "-X", "UIDL")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [l.split() for l in p.stdout.splitlines() if l.strip()]
        self.assertEqual([l[0] for l in lines], [b"1", b"2"], p.stdout)
        pop = self.env.pop3_login(bob)
        self.assertEqual([l.split() for l in pop.uidl()[1]], lines)
        pop.quit()
        p = self._curl_pop3(bob, "1", "-X", "DELE", "-I")
        self.assertEqual(p.returncode, 0, p.stderr)
        pop = self.env.pop3_login(bob)
        remaining = [l.split() for l in pop.uidl()[1]]
        pop.quit()
        self.assertEqual(len(remaining), 1)
        self.assertEqual(remaining[0][1], lines[1][1])

    def test_curl_smtp_with_wrong_password_fails(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        path = os.path.join(self.env.root, "curlmsg-bad")
        with open(path, "wb") as f:
            f.write(crlf("Subject: nope\r\n\r\nx\r\n"))
        p = self._run(self._curl_base() + [
            "smtp://127.0.0.1:%d/curl.test" % self.env.smtp_port,
            "--mail-from", alice.addr, "--mail-rcpt", bob.addr, "-T", path,
            "--netrc-file", self._netrc(alice.name, "wrong-" + alice.smtp_pw)])
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.env.mailbox_count(bob), 0)

    def test_curl_pop3_requires_tls_when_not_forced(self):
        # Without --ssl-reqd curl would log in in plaintext; the server must
        # refuse USER/PASS/AUTH before STLS, so this fails.
        bob = self.env.users["bob"]
        p = self._run(["curl", "-sS", "--max-time", "30",
                       "pop3://127.0.0.1:%d/" % self.env.pop3_port,
                       "--netrc-file", self._netrc(bob.name, bob.pop3_pw)])
        self.assertNotEqual(p.returncode, 0, p.stdout)


if __name__ == "__main__":
    unittest.main()
