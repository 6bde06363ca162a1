"""Backing up and restoring a state directory, as docs/operations.md tells operators to.

A backup is a copy of the state directory taken while onionmaild is stopped (`tar -p`,
owners and modes kept); the key-store device is not in it and stays where it is. These
tests restore such a copy, in place and under another path, and check with real clients
that the server comes back with exactly the backed-up mail and users: every message reads
back byte for byte, mail deleted after the backup is there again, mail delivered after
it is not, the passwords of the backup's time work again (a later change is undone), and
the server takes new mail.
"""

import os
import re
import shutil
import smtplib
import subprocess
import unittest

from harness import ServerTestCase, crlf


def message(tag):
    return crlf("Subject: backup %s\n\n%s\n" % (tag, ("line of %s " % tag) * 40))


class BackupRestoreTest(ServerTestCase, unittest.TestCase):
    USERS = ("alice", "bob")

    def backup(self, name):
        """Stops the server, archives the state directory, starts it again."""
        self.assertEqual(self.env.stop(), 0)
        archive = os.path.join(self.env.root, name + ".tar")
        subprocess.run(["tar", "-C", os.path.dirname(self.env.state_dir), "-cpf", archive,
                        os.path.basename(self.env.state_dir)], check=True)
        self.env.start()
        return archive

    def restore(self, archive, parent):
        """Stops the server and unpacks the archive under parent (the state's own parent
        directory: in place, after moving the current state aside)."""
        self.assertEqual(self.env.stop(), 0)
        target = os.path.join(parent, os.path.basename(self.env.state_dir))
        if os.path.exists(target):
            os.rename(target, target + ".before-restore")
        os.makedirs(parent, exist_ok=True)
        shutil.copymode(self.env.root, parent)
        subprocess.run(["tar", "-C", parent, "-xpf", archive], check=True)
        return target

    def use_state_dir(self, path):
        with open(self.env.config_path) as f:
            config = f.read()
        config, n = re.subn(r'(?m)^state_dir = ".*"$', 'state_dir = "%s"' % path, config)
        self.assertEqual(n, 1)
        with open(self.env.config_path, "w") as f:
            f.write(config)
        self.env.state_dir = path

    def test_a_restore_in_place_brings_back_exactly_the_backed_up_mail(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        for i in range(3):
            self.env.send_external([alice.addr], message("a%d" % i))
        self.env.send_external([bob.addr], message("b0"))
        before = {u.name: sorted(m for _, m in self.env.fetch_all(u)) for u in (alice, bob)}
        self.assertEqual(len(before["alice"]), 3)
        archive = self.backup("in-place")

        # After the backup: alice deletes her mail, bob gets another message and a new
        # SMTP password (onionmailctl next to the running server, as operators do).
        new_pw = "changed-after-the-backup-1234"
        self.env.ctl("user", "passwd", "bob", "--smtp", "--password-file",
                     self.env.pw_file(new_pw))
        p = self.env.pop3_login(alice)
        for i in range(1, 4):
            p.dele(i)
        p.quit()
        self.assertEqual(self.env.mailbox_count(alice), 0)
        self.env.send_external([bob.addr], message("b1"))
        self.assertEqual(self.env.mailbox_count(bob), 2)

        self.restore(archive, os.path.dirname(self.env.state_dir))
        self.env.start()
        after = {u.name: sorted(m for _, m in self.env.fetch_all(u)) for u in (alice, bob)}
        self.assertEqual(after, before)
        # The passwords of the backup's time are back, and new mail is taken.
        s = self.env.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            s.login("bob", new_pw)
        s.close()
        s = self.env.smtp_auth(bob)
        s.quit()
        s = self.env.smtp_auth(alice)
        s.sendmail(alice.addr, [bob.addr], message("after restore"))
        s.quit()
        got = [m for _, m in self.env.fetch_all(bob)]
        self.assertEqual(len(got), 2)
        self.assertTrue(any(b"Subject: backup after restore" in m for m in got))
        self.assertIn("users: 2", self.env.ctl("status").stdout.decode())

    def test_b_a_backup_restored_under_another_path_serves_the_same_mail(self):
        alice = self.env.users["alice"]
        self.env.send_external([alice.addr], message("moved"))
        before = sorted(m for _, m in self.env.fetch_all(alice))
        archive = self.backup("moved")
        new_parent = os.path.join(self.env.root, "restored")
        old_state = self.env.state_dir
        target = self.restore(archive, new_parent)
        shutil.rmtree(old_state)  # nothing may still point at the old path
        self.use_state_dir(target)
        self.env.start()
        self.assertEqual(sorted(m for _, m in self.env.fetch_all(alice)), before)
        self.env.send_external([alice.addr], message("moved 2"))
        self.assertEqual(self.env.mailbox_count(alice), len(before) + 1)


if __name__ == "__main__":
    unittest.main()
