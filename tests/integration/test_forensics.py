"""Forensic resistance: after users exist and mail has been delivered, read,
and deleted, no file under the state directory (contents or names) contains
user names, addresses, subjects, bodies or passwords in the clear. The
server log (outside the state dir) must not contain message content or
passwords, nor addresses since log_addresses = false.
"""

import hashlib
import os
import signal
import time
import unittest

from harness import CRLF, ServerTestCase, TestEnv, crlf, raw_smtp_tls

SUBJECT = "quixotic-walrus-subject"
BODY = "xylophone-body-marker"
HEADER_VALUE = "marzipan-header-value"
EXT_SENDER = "platypus-remote@faraway.onion"
ATTACH = "gossamer-attachment-marker"


def variants(word):
    return {word, word.lower(), word.upper(), word.capitalize()}


class ForensicsTest(ServerTestCase, unittest.TestCase):
    USERS = ("zebracorn", "okapilynx")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls._deliver_and_read()
        except BaseException:
            cls.env.cleanup()
            raise

    @classmethod
    def _deliver_and_read(cls):
        env = cls.env
        zebra, okapi = env.users["zebracorn"], env.users["okapilynx"]
        msg = crlf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nX-Custom: %s\r\n\r\n"
                   "%s\r\nsecond line %s\r\n" % (zebra.addr, okapi.addr, SUBJECT,
                                                 HEADER_VALUE, BODY, ATTACH * 20))
        s = env.smtp_auth(zebra)
        s.sendmail(zebra.addr, [okapi.addr], msg)
        s.sendmail(zebra.addr, [okapi.addr], msg.replace(b"second", b"third"))
        s.quit()
        env.send_external([zebra.addr], msg, sender=EXT_SENDER)
        env.send_external([okapi.addr], msg, sender=EXT_SENDER)
        # Read everything once, delete one message, leave the rest stored.
        for u in (zebra, okapi):
            p = env.pop3_login(u)
            n, _ = p.stat()
            assert n >= 1, (u.name, n)
            for i in range(1, n + 1):
                p.retr(i)
            p.uidl()
            p.dele(1)
            p.quit()
        cls.okapi_remaining = env.mailbox_count(okapi)

    def _needles(self, include_addresses=True):
        env = self.env
        out = {}
        for u in env.users.values():
            out["smtp password of %s" % u.name] = u.smtp_pw.encode()
            out["pop3 password of %s" % u.name] = u.pop3_pw.encode()
            if include_addresses:
                for v in variants(u.name):
                    out["user name %s" % v] = v.encode()
        for s in (SUBJECT, BODY, HEADER_VALUE, ATTACH):
            for v in variants(s):
                out["content %s" % v] = v.encode()
        if include_addresses:
            for v in variants(EXT_SENDER) | variants("platypus-remote"):
                out["sender %s" % v] = v.encode()
            # Unkeyed digests of names/addresses are as good as plaintext
            # (dictionary attack); keyed ones (HMAC with server key) are fine.
            for u in env.users.values():
                for ident in (u.name, u.addr, u.name.upper()):
                    for algo in ("md5", "sha1", "sha256", "sha512", "blake2b",
                                 "sha3_256"):
                        d = hashlib.new(algo, ident.encode())
                        out["%s(%s) hex" % (algo, ident)] = d.hexdigest().encode()
                        out["%s(%s) raw" % (algo, ident)] = d.digest()
        return out

    def _scan_state_dir(self):
        hits = []
        needles = self._needles()
        nfiles = 0
        for base, dirs, files in os.walk(self.env.state_dir):
            for name in dirs + files:
                path = os.path.join(base, name)
                rel = os.path.relpath(path, self.env.state_dir)
                for label, needle in needles.items():
                    if needle in rel.encode():
                        hits.append("%s in file name %s" % (label, rel))
                if name in files and os.path.isfile(path) and not os.path.islink(path):
                    nfiles += 1
                    with open(path, "rb") as f:
                        data = f.read()
                    for label, needle in needles.items():
                        if needle in data:
                            hits.append("%s in contents of %s" % (label, rel))
        return nfiles, hits

    def test_mail_was_actually_stored(self):
        # Guards against a vacuous scan: the messages are retrievable.
        self.assertGreaterEqual(self.okapi_remaining, 2)
        got = self.env.fetch_all(self.env.users["okapilynx"])
        self.assertTrue(any(BODY.encode() in m for _, m in got))

    def test_state_dir_has_no_plaintext_identifiers_while_running(self):
        nfiles, hits = self._scan_state_dir()
        self.assertGreater(nfiles, 0)
        self.assertEqual(hits, [])

    def test_state_dir_has_no_plaintext_identifiers_after_shutdown(self):
        self.env.stop()
        try:
            nfiles, hits = self._scan_state_dir()
            self.assertGreater(nfiles, 0)
            self.assertEqual(hits, [])
        finally:
            self.env.start()

    def test_log_is_not_empty(self):
        # Guards the two log tests below against a vacuous pass.
        self.assertIn(b"ready", self.env.log_bytes())

    def test_log_contains_no_content_or_passwords(self):
        log = self.env.log_bytes()
        hits = [label for label, n in self._needles(include_addresses=False).items()
                if n in log]
        self.assertEqual(hits, [])

    def test_log_contains_no_addresses_when_log_addresses_false(self):
        log = self.env.log_bytes()
        hits = [label for label, n in self._needles().items() if n in log]
        self.assertEqual(hits, [])


SPOOL_MARKER = b"inflight-spool-marker-qwzx"


class InFlightForensicsTest(unittest.TestCase):
    """Message content being received must not hit the disk in the clear,
    neither while DATA is in progress nor after a crash mid-DATA."""

    def setUp(self):
        self.env = TestEnv(prefix="om-inflight-")
        self.env.init()
        self.bob = self.env.add_user("bob")
        self.env.start()

    def tearDown(self):
        self.env.cleanup()

    def _scan(self):
        hits = []
        for base, _, files in os.walk(self.env.state_dir):
            for n in files:
                path = os.path.join(base, n)
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        if SPOOL_MARKER in f.read():
                            hits.append(os.path.relpath(path, self.env.state_dir))
        return hits

    def _start_data(self):
        c = raw_smtp_tls(self.env)
        c.send(b"MAIL FROM:<sender@remote.onion>\r\n")
        self.assertEqual(c.smtp_reply()[0], 250)
        c.send(b"RCPT TO:<" + self.bob.addr.encode() + b">\r\n")
        self.assertEqual(c.smtp_reply()[0], 250)
        c.send(b"DATA\r\n")
        self.assertEqual(c.smtp_reply()[0], 354)
        # ~2 MB of marked lines so any spooling has surely reached the disk.
        line = SPOOL_MARKER + b" " + b"z" * 60 + CRLF
        c.send(b"Subject: spool\r\n\r\n" + line * 30000)
        time.sleep(1.0)
        return c

    def test_in_progress_data_is_not_spooled_in_clear(self):
        c = self._start_data()
        try:
            self.assertEqual(self._scan(), [])
            c.send(b".\r\n")
            self.assertEqual(c.smtp_reply()[0], 250)
            self.assertEqual(self._scan(), [])
        finally:
            c.close()
        got = self.env.fetch_all(self.bob)
        self.assertEqual(len(got), 1)
        self.assertIn(SPOOL_MARKER, got[0][1])

    def test_sigkill_mid_data_leaves_no_clear_content(self):
        c = self._start_data()
        self.env.proc.send_signal(signal.SIGKILL)
        self.env.proc.wait()
        c.close()
        self.assertEqual(self._scan(), [])
        self.env.kill()
        self.env.start()
        self.assertEqual(self._scan(), [])
        self.assertEqual(self.env.mailbox_count(self.bob), 0)


if __name__ == "__main__":
    unittest.main()
