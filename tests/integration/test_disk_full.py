"""A full disk: the state directory on a small tmpfs of its own (as root).

What an operator of a small machine needs when its card fills up. With the
reserve (store.min_free_mib, on by default): new mail is refused at RCPT
with 452 4.3.1 while the free space is below it, so the disk never fills;
the log says so once; reading and deleting go on, and the space that frees
takes mail again. Without it (min_free_mib = 0): senders get a temporary
failure after DATA (451) and never a 250 for a message that is not stored;
the server stays up and its log says why; every message accepted before
stays readable; the user can still log in, read and delete on the full
disk, and the space that frees takes new mail again.
"""

import os
import pwd
import re
import smtplib
import subprocess
import unittest

from harness import KEY_USER, TestEnv, crlf

MESSAGE_LINES = 1400  # about 100 KiB a message


def message(i):
    line = "%06d" % i + "x" * 64 + "\n"
    return crlf("Subject: fill %d\n\n%s" % (i, line * MESSAGE_LINES))


class TmpfsStateDir:
    """Mixin: a server whose state directory is a tmpfs of TMPFS_BYTES, with
    store.min_free_mib = MIN_FREE_MIB."""

    TMPFS_BYTES = 0
    MIN_FREE_MIB = 0

    def setUp(self):
        self.env = TestEnv(prefix="om-diskfull-",
                           extra_config={"store": {"min_free_mib": self.MIN_FREE_MIB}})
        self.addCleanup(self.env.cleanup)
        os.mkdir(self.env.state_dir, 0o700)
        pw = pwd.getpwnam(KEY_USER)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o",
             "size=%d,mode=0700,uid=%d,gid=%d" % (self.TMPFS_BYTES, pw.pw_uid, pw.pw_gid),
             "om-diskfull", self.env.state_dir], capture_output=True, text=True)
        if mounted.returncode != 0:  # e.g. a container without CAP_SYS_ADMIN
            self.skipTest("cannot mount a tmpfs here: " + mounted.stderr.strip())
        self.addCleanup(self.unmount)  # runs before env.cleanup: stops the server first
        self.env.init()
        self.alice = self.env.add_user("alice")
        self.env.start()

    def unmount(self):
        self.env.kill()
        subprocess.run(["umount", self.env.state_dir], check=True)

    def deliver(self, i):
        """Returns the final SMTP code of one delivery to alice."""
        s = self.env.smtp()
        try:
            s.sendmail("someone@remote.onion", [self.alice.addr], message(i))
            code = 250
        except smtplib.SMTPDataError as e:
            code = e.smtp_code
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
        finally:
            s.close()
        return code

    def deliver_until_refused(self, limit):
        """Delivers messages 0, 1, ... until one is refused (at most `limit`);
        returns (the numbers that got a 250, the refusing code or None)."""
        accepted = []
        for i in range(limit):
            code = self.deliver(i)
            if code != 250:
                return accepted, code
            accepted.append(i)
        return accepted, None

    def free_bytes(self):
        st = os.statvfs(self.env.state_dir)
        return st.f_bavail * st.f_frsize

    def read_and_delete_all(self, expected):
        """Logs in, checks that exactly the `expected` messages are there, each
        whole, and deletes them."""
        p = self.env.pop3_login(self.alice)
        count, _ = p.stat()
        self.assertEqual(count, len(expected))
        subjects = []
        for n in range(1, count + 1):
            body = b"\r\n".join(p.retr(n)[1])
            subjects.append(int(re.search(rb"Subject: fill (\d+)", body).group(1)))
            self.assertEqual(body.count(b"x" * 64), MESSAGE_LINES)
            p.dele(n)
        self.assertEqual(sorted(subjects), expected)
        p.quit()
        self.assertEqual(self.env.mailbox_count(self.alice), 0)


@unittest.skipUnless(os.geteuid() == 0, "mounts a tmpfs: needs root")
class DiskFullTest(TmpfsStateDir, unittest.TestCase):
    TMPFS_BYTES = 1536 * 1024
    MIN_FREE_MIB = 0  # no reserve: the disk fills up

    def test_full_disk_gives_4xx_keeps_every_accepted_message_and_recovers(self):
        accepted, refused = self.deliver_until_refused(40)
        self.assertIsNotNone(refused, "the tmpfs never filled up")
        self.assertEqual(refused, 451, "a full disk must be a temporary failure (451 4.3.0)")
        self.assertGreater(len(accepted), 3)
        self.assertTrue(self.env.running(), self.env.log_tail())
        self.env.wait_log(rb"key: .* for smtp failed in the key store: .*No space left on device")
        # Once more, on the full disk: still 4xx, still up.
        self.assertEqual(self.deliver(1000), 451)
        self.assertTrue(self.env.running(), self.env.log_tail())

        # The user logs in on the full disk, reads everything that got a 250,
        # and deletes it.
        self.read_and_delete_all(accepted)

        # The space freed takes new mail again.
        self.assertEqual(self.deliver(2000), 250)
        got = self.env.fetch_all(self.alice)
        self.assertEqual(len(got), 1)
        self.assertIn(b"Subject: fill 2000", got[0][1])
        self.assertTrue(self.env.running())
        self.assertNotRegex(self.env.log_bytes(), rb"restarting in")



@unittest.skipUnless(os.geteuid() == 0, "mounts a tmpfs: needs root")
class ReserveTest(TmpfsStateDir, unittest.TestCase):
    TMPFS_BYTES = 4 * 1024 * 1024
    MIN_FREE_MIB = 2

    def test_below_the_reserve_rcpt_gets_452_431_and_the_disk_never_fills(self):
        accepted, refused = self.deliver_until_refused(60)
        self.assertEqual(refused, 452, self.env.log_tail())
        self.assertGreater(len(accepted), 3)
        # Refused at RCPT, before any data: the reserve is still there.
        self.assertGreaterEqual(self.free_bytes(), (2 << 20) - 200 * 1024)
        s = self.env.smtp()
        s.mail("someone@remote.onion")
        code, text = s.rcpt(self.alice.addr)
        s.close()
        self.assertEqual((code, text), (452, b"4.3.1 Insufficient system storage, try again later"))
        log = self.env.wait_log(rb"below store\.min_free_mib \(2\.0 MiB\): refusing new mail")
        self.assertEqual(log.count(b"below store.min_free_mib (2.0 MiB): refusing new mail"), 1)
        self.assertNotIn(b"No space left on device", log)
        self.assertTrue(self.env.running())

        # Reading and deleting go on; the freed space takes mail again.
        self.read_and_delete_all(accepted)
        self.assertEqual(self.deliver(2000), 250)
        self.env.wait_log(rb"accepting mail again")


if __name__ == "__main__":
    unittest.main()
