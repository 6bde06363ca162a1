"""The TLS key: onionmaild presents a certificate for its own ECDSA P-256
key (made in the device by `init`), apart from the RSA server key. A state
directory made before that key existed (its certificate is for the RSA server
key) keeps working as it was, and `onionmailctl tls-key` moves it: new
certificate, same server-id, same users and mail.

Real clients (smtplib STARTTLS, poplib STLS) check the certificate each time.
The whole module runs with every key backend; the move of an old state
directory is built with the file backend (the hardware backends' part of it,
adding the TLS key to an older device, is in tests/hsm/*/..._tls_key_test).
"""

import os
import pwd
import re
import subprocess
import unittest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness import KEY_USER, TestEnv, crlf


def served_key(sock):
    """The public key of the certificate the server presented on `sock`."""
    der = sock.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).public_key()


def is_p256(key):
    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


class TlsKeyTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-tlskey-")

    def tearDown(self):
        if self.env.running():
            self.env.stop()
        self.env.cleanup()

    def keys_served(self):
        s = self.env.smtp()
        try:
            smtp_key = served_key(s.sock)
        finally:
            s.quit()
        p = self.env.pop3()
        try:
            pop3_key = served_key(p.sock)
        finally:
            p.quit()
        return smtp_key, pop3_key

    def pin(self):
        text = self.env.ctl("pin").stdout.decode()
        pin = re.search(r"^tls-pin: ([0-9a-f]{64})$", text, re.M).group(1)
        sid = re.search(r"^server-id: ([0-9a-f]{64})$", text, re.M).group(1)
        return pin, sid

    def deliver(self, user, marker):
        msg = crlf("From: a@remote.onion\nTo: %s\nSubject: %s\n\n%s\n"
                   % (user.addr, marker, marker))
        self.assertEqual(self.env.send_external([user.addr], msg), {})

    def test_new_state_directory_serves_an_ecdsa_p256_certificate(self):
        self.env.init()
        pin, server_id = self.pin()
        self.assertNotEqual(pin, server_id)
        user = self.env.add_user("alice")
        self.env.start()
        smtp_key, pop3_key = self.keys_served()
        self.assertTrue(is_p256(smtp_key), smtp_key)
        self.assertTrue(is_p256(pop3_key), pop3_key)
        self.deliver(user, "ecdsa-marker")
        mail = self.env.fetch_all(user)
        self.assertEqual(len(mail), 1)
        self.assertIn(b"ecdsa-marker", mail[0][1])

    @unittest.skipIf(os.environ.get("ONIONMAIL_TEST_KEYS", "file") != "file",
                     "the old layout is built from the file backend's key files")
    def test_old_state_directory_keeps_rsa_then_tls_key_moves_it(self):
        env = self.env
        env.init()
        # The layout made before the TLS key: no ecdsa-key.pem, and a
        # certificate for the RSA server key.
        tls_dir = os.path.join(env.state_dir, "tls")
        os.unlink(os.path.join(tls_dir, "ecdsa-key.pem"))
        os.unlink(env.cert_path)
        subprocess.run(["openssl", "req", "-new", "-x509", "-key",
                        os.path.join(tls_dir, "key.pem"), "-subj", "/CN=" + env.domain,
                        "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % env.domain,
                        "-days", "2", "-out", env.cert_path],
                       check=True, capture_output=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(KEY_USER)
            os.chown(env.cert_path, pw.pw_uid, pw.pw_gid)
        old_pin, server_id = self.pin()
        self.assertEqual(old_pin, server_id)  # the RSA server key is the TLS key
        user = env.add_user("bob")

        env.start()
        smtp_key, pop3_key = self.keys_served()
        self.assertIsInstance(smtp_key, rsa.RSAPublicKey)
        self.assertIsInstance(pop3_key, rsa.RSAPublicKey)
        self.deliver(user, "before-move")
        env.wait_log(rb"onionmailctl tls-key")
        env.stop()

        out = env.ctl("tls-key").stdout.decode()
        self.assertIn("own ECDSA P-256 key", out)
        new_pin, same_id = self.pin()
        self.assertEqual(same_id, server_id)
        self.assertNotEqual(new_pin, old_pin)
        self.assertTrue(os.path.exists(os.path.join(tls_dir, "ecdsa-key.pem")))
        self.assertFalse(os.path.exists(env.cert_path + ".new"))
        again = env.ctl("tls-key").stdout.decode()
        self.assertIn("already", again)
        self.assertEqual(self.pin(), (new_pin, server_id))

        env.start()
        smtp_key, pop3_key = self.keys_served()
        self.assertTrue(is_p256(smtp_key), smtp_key)
        self.assertTrue(is_p256(pop3_key), pop3_key)
        self.deliver(user, "after-move")
        bodies = b"".join(m for _, m in env.fetch_all(user))
        self.assertIn(b"before-move", bodies)
        self.assertIn(b"after-move", bodies)


if __name__ == "__main__":
    unittest.main()
