"""A full disk: the state directory on a small tmpfs of its own (as root).

What an operator of a small machine needs when its card fills up: senders
get a temporary failure (4xx, so they queue and retry) and never a 250 for a
message that is not stored; the server stays up and its log says why; every
message accepted before stays readable; the user can still log in, read and
delete, and the space that frees takes new mail again.
"""

import os
import poplib
import pwd
import re
import smtplib
import subprocess
import unittest

from harness import KEY_USER, TestEnv, crlf

TMPFS_BYTES = 1536 * 1024
MESSAGE_LINES = 1400  # about 100 KiB a message


def message(i):
    line = "%06d" % i + "x" * 64 + "\n"
    return crlf("Subject: fill %d\n\n%s" % (i, line * MESSAGE_LINES))


@unittest.skipUnless(os.geteuid() == 0, "mounts a tmpfs: needs root")
class DiskFullTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-diskfull-")
        self.addCleanup(self.env.cleanup)
        os.mkdir(self.env.state_dir, 0o700)
        pw = pwd.getpwnam(KEY_USER)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o",
             "size=%d,mode=0700,uid=%d,gid=%d" % (TMPFS_BYTES, pw.pw_uid, pw.pw_gid),
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

    def test_full_disk_gives_4xx_keeps_every_accepted_message_and_recovers(self):
        accepted, refused = [], None
        for i in range(40):
            code = self.deliver(i)
            if code != 250:
                refused = code
                break
            accepted.append(i)
        self.assertIsNotNone(refused, "the tmpfs never filled up")
        self.assertEqual(refused, 451, "a full disk must be a temporary failure (451 4.3.0)")
        self.assertGreater(len(accepted), 3)
        self.assertTrue(self.env.running(), self.env.log_tail())
        self.assertRegex(self.env.log_bytes(),
                         rb"key: .* for smtp failed in the key store: .*No space left on device")
        # Once more, on the full disk: still 4xx, still up.
        self.assertEqual(self.deliver(1000), 451)
        self.assertTrue(self.env.running(), self.env.log_tail())

        # The user logs in on the full disk, reads everything that got a 250,
        # and deletes it.
        p = self.env.pop3_login(self.alice)
        count, _ = p.stat()
        self.assertEqual(count, len(accepted))
        subjects = []
        for n in range(1, count + 1):
            body = b"\r\n".join(p.retr(n)[1])
            subjects.append(int(re.search(rb"Subject: fill (\d+)", body).group(1)))
            self.assertIn(b"x" * 64, body)
            self.assertEqual(body.count(b"x" * 64), MESSAGE_LINES)
            p.dele(n)
        self.assertEqual(sorted(subjects), accepted)
        p.quit()
        self.assertEqual(self.env.mailbox_count(self.alice), 0)

        # The space freed takes new mail again.
        self.assertEqual(self.deliver(2000), 250)
        got = self.env.fetch_all(self.alice)
        self.assertEqual(len(got), 1)
        self.assertIn(b"Subject: fill 2000", got[0][1])
        self.assertTrue(self.env.running())
        self.assertNotRegex(self.env.log_bytes(), rb"restarting in")


if __name__ == "__main__":
    unittest.main()
