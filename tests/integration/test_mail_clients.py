"""Mail clients that users run: mutt sends, fetchmail reads.

mutt (batch mode, its own SMTP client) submits with STARTTLS and AUTH, checking the server's
certificate against the pinned cert.pem, and refuses a server it does not trust. fetchmail
polls over POP3 with STLS, a pinned certificate and the .onion name the certificate carries
(`sslcommonname`, as a user reaching the server through Tor), hands each message to an MDA,
and either deletes it or, with `keep` and `uidl`, leaves it and fetches only what is new at
the next poll (the mode most desktop clients use). Passwords are only in mode-0600 rc files.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ServerTestCase, crlf, write_secret_file


class MailClientsTest(ServerTestCase, unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="om-clients-home-")
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        for user in self.env.users.values():  # every test starts with empty mailboxes
            p = self.env.pop3_login(user)
            for i in range(1, p.stat()[0] + 1):
                p.dele(i)
            p.quit()

    def run_client(self, argv, **kwargs):
        env = dict(os.environ, HOME=self.home, TERM="dumb")
        if "input" not in kwargs:
            kwargs["stdin"] = subprocess.DEVNULL
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120,
                              **kwargs)

    # --------------------------------------------------------------------- mutt
    def muttrc(self, user, ca_file):
        path = os.path.join(self.home, "muttrc")
        write_secret_file(path, "\n".join([
            'set from = "%s"' % user.addr,
            # The certificate names the .onion domain and localhost (src/ctl/tls_cert.cc).
            'set smtp_url = "smtp://%s@localhost:%d/"' % (user.name, self.env.smtp_port),
            'set smtp_pass = "%s"' % user.smtp_pw,
            "set ssl_starttls = yes",
            "set ssl_force_tls = yes",
            'set certificate_file = "%s"' % os.path.join(self.home, "mutt-certs"),
            'set ssl_ca_certificates_file = "%s"' % ca_file,
            'set record = ""',
            "set use_from = yes",
            ""]))
        return path

    def test_mutt_sends_with_starttls_and_auth_checking_the_pinned_certificate(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        rc = self.muttrc(alice, self.env.cert_path)
        p = self.run_client(["mutt", "-n", "-F", rc, "-s", "written in mutt", bob.addr],
                            input="Hello from mutt.\n")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        msg = got[0][1]
        self.assertIn(b"Subject: written in mutt\r\n", msg)
        self.assertIn(b"From: ", msg)
        self.assertIn(alice.addr.encode(), msg)
        self.assertIn(b"with ESMTPSA", msg)  # authenticated submission over TLS
        self.assertTrue(msg.endswith(b"\r\n\r\nHello from mutt.\r\n"), msg)

    def test_mutt_refuses_a_server_whose_certificate_it_does_not_trust(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        other_ca = os.path.join(self.home, "other-ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                        os.path.join(self.home, "other-key.pem"), "-out", other_ca, "-days", "1",
                        "-subj", "/CN=localhost"], check=True, capture_output=True)
        rc = self.muttrc(alice, other_ca)
        p = self.run_client(["mutt", "-n", "-F", rc, "-s", "must not arrive", bob.addr],
                            input="Should not be sent.\n")
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Could not negotiate TLS connection", p.stdout + p.stderr)
        self.assertEqual(self.env.mailbox_count(bob), 0)

    # ---------------------------------------------------------------- fetchmail
    def fetchmail(self, user, out, keep=False, password=None):
        rc = os.path.join(self.home, "fetchmailrc")
        write_secret_file(rc, (
            'poll 127.0.0.1 service %d protocol pop3 uidl\n'
            '  user "%s" password "%s"\n'
            '  sslproto "tls1.2+" sslcertck sslcertfile "%s" sslcommonname "%s"\n'
            "  mda \"/bin/sh -c 'cat >> %s; echo ==END== >> %s'\"\n"
            "  %s\n") % (self.env.pop3_port, user.name, password or user.pop3_pw,
                         self.env.cert_path, self.env.domain, out, out,
                         "keep" if keep else "fetchall"))
        return self.run_client(["fetchmail", "-f", rc, "--nodetach", "--idfile",
                                os.path.join(self.home, "fetchids")])

    def fetched(self, path):
        if not os.path.exists(path):
            return []
        with open(path, "rb") as f:
            return [m for m in f.read().split(b"==END==\n") if m]

    def test_fetchmail_fetches_every_message_over_stls_then_deletes_it(self):
        bob = self.env.users["bob"]
        for i in range(3):
            self.env.send_external([bob.addr], crlf("Subject: poll %d\n\nbody %d\n" % (i, i)))
        out = os.path.join(self.home, "mbox")
        p = self.fetchmail(bob, out)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got = self.fetched(out)
        self.assertEqual(len(got), 3, got)
        for i in range(3):
            self.assertTrue(any(b"Subject: poll %d\n" % i in m and b"body %d\n" % i in m
                                for m in got), i)
        self.assertEqual(self.env.mailbox_count(bob), 0)

    def test_fetchmail_with_keep_fetches_only_new_mail_at_the_next_poll(self):
        bob = self.env.users["bob"]
        for i in range(2):
            self.env.send_external([bob.addr], crlf("Subject: kept %d\n\nx\n" % i))
        out = os.path.join(self.home, "mbox")
        p = self.fetchmail(bob, out, keep=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(len(self.fetched(out)), 2)
        self.assertEqual(self.env.mailbox_count(bob), 2)  # left on the server
        p = self.fetchmail(bob, out, keep=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)  # 1: no new mail
        self.assertEqual(len(self.fetched(out)), 2)
        self.env.send_external([bob.addr], crlf("Subject: kept new\n\ny\n"))
        p = self.fetchmail(bob, out, keep=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got = self.fetched(out)
        self.assertEqual(len(got), 3)
        self.assertIn(b"Subject: kept new\n", got[-1])
        self.assertEqual(self.env.mailbox_count(bob), 3)

    def test_fetchmail_with_a_wrong_password_gets_nothing(self):
        bob = self.env.users["bob"]
        self.env.send_external([bob.addr], crlf("Subject: private\n\nz\n"))
        out = os.path.join(self.home, "mbox")
        p = self.fetchmail(bob, out, password="not-the-password")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)  # 3: authentication failed
        self.assertEqual(self.fetched(out), [])
        self.assertEqual(self.env.mailbox_count(bob), 1)


if __name__ == "__main__":
    unittest.main()
