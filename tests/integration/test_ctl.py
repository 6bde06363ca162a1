"""onionmailctl against a real state directory: init (certificate SANs),
user add with generated passwords, user passwd, user del, status, voucher
add/count/clear; the running server must honour the changes.
"""

import os
import poplib
import re
import smtplib
import stat
import subprocess
import unittest

from harness import ServerTestCase, TestEnv


class CtlInitTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-ctlinit-")

    def tearDown(self):
        self.env.cleanup()

    def test_init_creates_certificate_with_required_sans(self):
        self.env.init()
        out = subprocess.run(["openssl", "x509", "-in", self.env.cert_path,
                              "-noout", "-ext", "subjectAltName"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("DNS:%s" % self.env.domain, out)
        self.assertIn("DNS:localhost", out)
        self.assertIn("IP Address:127.0.0.1", out)
        self.assertTrue(os.path.isdir(os.path.join(self.env.state_dir, "tls")))

    def test_state_dir_is_not_world_accessible(self):
        self.env.init()
        for base, dirs, files in os.walk(self.env.state_dir):
            for n in dirs + files:
                path = os.path.join(base, n)
                if os.path.basename(path) == "cert.pem":
                    continue
                mode = os.lstat(path).st_mode
                self.assertEqual(mode & stat.S_IRWXO, 0,
                                 "%s is world-accessible (%o)" % (path, mode))

    def test_status_reports_domain_and_user_count(self):
        self.env.init()
        self.env.add_user("alice")
        self.env.add_user("bob")
        out = self.env.ctl("status").stdout.decode()
        self.assertIn(self.env.domain, out)
        self.assertIn(self.env.state_dir, out)
        self.assertRegex(out, r"(?i)users?\D*2\b")

    def test_duplicate_user_add_fails(self):
        self.env.init()
        self.env.add_user("alice")
        p = self.env.ctl("user", "add", "alice",
                         "--smtp-password-file", self.env.pw_file("aaaaaaaaaaaa1"),
                         "--pop3-password-file", self.env.pw_file("bbbbbbbbbbbb2"),
                         check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_invalid_user_names_are_rejected(self):
        self.env.init()
        for name in ("../evil", "a/b", "", "x@y", "..", "bad\nname"):
            p = self.env.ctl("user", "add", name,
                             "--smtp-password-file", self.env.pw_file("aaaaaaaaaaaa1"),
                             "--pop3-password-file", self.env.pw_file("bbbbbbbbbbbb2"),
                             check=False)
            self.assertNotEqual(p.returncode, 0, "accepted user name %r" % name)
        self.assertFalse(os.path.exists(os.path.join(self.env.root, "evil")))


    def test_new_passwords_under_twelve_characters_are_refused(self):
        self.env.init()
        p = self.env.ctl("user", "add", "kim",
                         "--smtp-password-file", self.env.pw_file("short-pw-11"),
                         "--pop3-password-file", self.env.pw_file("long-enough-pop3"),
                         check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"at least 12 characters", p.stderr)
        self.assertIn(b"users: 0", self.env.ctl("status").stdout)
        u = self.env.add_user("kim")
        for args in (("--smtp", "--password-file", self.env.pw_file("tiny")),
                     ("--pop3", "--password-file", self.env.pw_file("tiny"),
                      "--old-password-file", self.env.pw_file(u.pop3_pw))):
            p = self.env.ctl("user", "passwd", "kim", *args, check=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(b"at least 12 characters", p.stderr)
        # The old ones still work: nothing was changed.
        self.env.start()
        s = self.env.smtp_auth(u)
        s.quit()
        self.env.pop3_login(u).quit()


    def test_vouchers_add_count_clear(self):
        self.env.init()
        p = self.env.ctl("voucher", "add", "3")
        made = p.stdout.decode().splitlines()
        self.assertEqual(len(made), 3, p.stdout)
        for v in made:
            self.assertRegex(v, r"^[a-z2-7]{20}$")
            self.assertNotIn(v.encode(), p.stderr)
        self.assertEqual(len(set(made)), 3)
        self.assertIn(b"one-time", p.stderr)
        self.assertIn(b"privately", p.stderr)
        (one,) = self.env.ctl("voucher", "add").stdout.decode().split()
        made.append(one)
        self.assertEqual(self.env.ctl("voucher", "count").stdout,
                         b"4 unused voucher(s)\n")
        self.assertIn(b"unused vouchers: 4", self.env.ctl("status").stdout)
        # On disk: one empty private file per voucher, named by a keyed
        # hash; no voucher in any name or byte of the state directory.
        folder = os.path.join(self.env.state_dir, "vouchers")
        self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o700)
        names = os.listdir(folder)
        self.assertEqual(len(names), 4)
        for name in names:
            self.assertRegex(name, r"^[0-9a-f]{64}$")
            st = os.lstat(os.path.join(folder, name))
            self.assertEqual(st.st_size, 0)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        for base, _, files in os.walk(self.env.state_dir):
            for n in files:
                path = os.path.join(base, n)
                with open(path, "rb") as f:
                    data = f.read()
                for v in made:
                    self.assertNotIn(v, path)
                    self.assertNotIn(v.encode(), data, path)
        self.env.check_state_owner()
        # Usage errors: exit status 2, nothing made, nothing on stdout.
        for args in (("add", "0"), ("add", "1001"), ("add", "x"), ("list",),
                     ("count", "1"), ("add", "--smtp")):
            p = self.env.ctl("voucher", *args, check=False)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, b"", args)
        self.assertIn(b"voucher add [N]", self.env.ctl("--help").stdout)
        self.assertEqual(self.env.ctl("voucher", "clear").stdout,
                         b"deleted 4 unused voucher(s)\n")
        self.assertEqual(self.env.ctl("voucher", "count").stdout,
                         b"0 unused voucher(s)\n")
        self.assertEqual(os.listdir(folder), [])

class CtlUserManagementTest(ServerTestCase, unittest.TestCase):
    USERS = ("alice", "bob")

    def test_generated_passwords_work_for_smtp_and_pop3(self):
        p = self.env.ctl("user", "add", "gina")
        out = p.stdout.decode()
        smtp_pw = re.search(r"^smtp-password: (\S+)$", out, re.M)
        pop3_pw = re.search(r"^pop3-password: (\S+)$", out, re.M)
        self.assertIsNotNone(smtp_pw, out)
        self.assertIsNotNone(pop3_pw, out)
        self.assertNotEqual(smtp_pw.group(1), pop3_pw.group(1))
        self.assertGreaterEqual(len(smtp_pw.group(1)), 12)
        s = self.env.smtp()
        s.login("gina", smtp_pw.group(1))
        s.quit()
        pop = self.env.pop3()
        pop.user("gina")
        pop.pass_(pop3_pw.group(1))
        pop.quit()

    def test_failed_logins_in_a_row_are_logged_with_the_id_user_show_prints(self):
        u = self.env.add_user("lena")
        for i in range(10):
            if i % 2:
                p = self.env.pop3()
                p.user("lena")
                with self.assertRaises(poplib.error_proto):
                    p.pass_("not lena's password")
                p.quit()
            else:
                s = self.env.smtp()
                with self.assertRaises(smtplib.SMTPAuthenticationError):
                    s.login("lena", "not lena's password")
                s.close()
        shown = self.env.ctl("user", "show", "lena").stdout.decode()
        prefix = re.search(r"mailbox ([0-9a-f]{8})\.\.\.", shown).group(1)
        log = self.env.wait_log(rb"10 failed logins in a row").decode("utf-8", "replace")
        self.assertIn("10 failed logins in a row (SMTP AUTH and POP3) for mailbox %s..." % prefix,
                      log)
        self.assertNotIn("lena", log)
        self.env.pop3_login(u).quit()  # nothing was refused for it

    def test_user_show_names_the_record_version(self):
        self.env.add_user("mira")
        shown = self.env.ctl("user", "show", "mira").stdout.decode()
        self.assertIn("record: version 2 (each POP3 password guess needs the key store)", shown)

    def test_user_added_while_running_receives_mail(self):
        u = self.env.add_user("henry")
        self.assertEqual(self.env.send_external(
            [u.addr], b"Subject: hi\r\n\r\nhello henry\r\n"), {})
        self.assertEqual(self.env.mailbox_count(u), 1)

    def test_smtp_passwd_change_takes_effect(self):
        u = self.env.add_user("ivan")
        new = "new-smtp-secret-123456"
        self.env.ctl("user", "passwd", "ivan", "--smtp",
                     "--password-file", self.env.pw_file(new))
        s = self.env.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            s.login("ivan", u.smtp_pw)
        s.close()
        s = self.env.smtp()
        s.login("ivan", new)
        s.quit()

    def test_pop3_passwd_change_needs_old_password_and_keeps_mail(self):
        u = self.env.add_user("judy")
        self.env.send_external([u.addr], b"Subject: keep\r\n\r\nkeep me\r\n")
        new = "new-pop3-secret-654321"
        p = self.env.ctl("user", "passwd", "judy", "--pop3",
                         "--password-file", self.env.pw_file(new), check=False)
        self.assertNotEqual(p.returncode, 0, "pop3 passwd without old password")
        p = self.env.ctl("user", "passwd", "judy", "--pop3",
                         "--password-file", self.env.pw_file(new),
                         "--old-password-file", self.env.pw_file("wrong-old"),
                         check=False)
        self.assertNotEqual(p.returncode, 0, "pop3 passwd with wrong old password")
        self.env.ctl("user", "passwd", "judy", "--pop3",
                     "--password-file", self.env.pw_file(new),
                     "--old-password-file", self.env.pw_file(u.pop3_pw))
        pop = self.env.pop3()
        pop.user("judy")
        with self.assertRaises(poplib.error_proto):
            pop.pass_(u.pop3_pw)
        pop.close()
        pop = self.env.pop3()
        pop.user("judy")
        pop.pass_(new)
        _, lines, _ = pop.retr(1)
        pop.quit()
        self.assertIn(b"keep me", lines)

    def test_deleted_user_can_no_longer_log_in_or_receive(self):
        u = self.env.add_user("kate")
        self.env.ctl("user", "del", "kate")
        s = self.env.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            s.login("kate", u.smtp_pw)
        s.close()
        s = self.env.smtp()
        s.mail("x@remote.onion")
        self.assertEqual(s.rcpt(u.addr)[0], 550)
        s.close()
        pop = self.env.pop3()
        with self.assertRaises(poplib.error_proto):
            pop.user("kate")
            pop.pass_(u.pop3_pw)
        pop.close()


if __name__ == "__main__":
    unittest.main()
