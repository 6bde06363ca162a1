"""Registration with a voucher (docs/PROTOCOL.md, "Registration: RQUS")
against the real server: the operator makes one-time vouchers with
onionmailctl; a person opens an account with poplib's RQUS inside STLS, gets
both passwords once, and reads and sends mail with them at once; a voucher
works once, a taken or reserved name leaves it usable, and nothing of a
voucher is on disk."""

import email
import email.policy
import os
import poplib
import re
import unittest

from harness import ServerTestCase, TestEnv, User


def rqus(p, voucher, name):
    """Sends RQUS; returns the reply's key: value lines (a dict)."""
    resp, lines, _ = p._longcmd("RQUS %s %s" % (voucher, name))
    assert resp.startswith(b"+OK"), resp
    out = {}
    for line in lines:
        key, _, value = line.decode().partition(": ")
        out[key] = value
    return out


class RegisterTest(ServerTestCase, unittest.TestCase):
    EXTRA_CONFIG = {"pop3": {"registration": True}, "bot": {"sysop": "alice"}}
    USERS = ("alice", "bob")

    def vouchers(self, n):
        out = self.env.ctl("voucher", "add", str(n)).stdout.decode().split()
        self.assertEqual(len(out), n)
        for v in out:
            self.assertRegex(v, r"^[a-z2-7]{20}$")
        return out

    def count(self):
        return int(self.env.ctl("voucher", "count").stdout.decode().split()[0])

    def refusal(self, voucher, name, p=None):
        own = p is None
        p = p or self.env.pop3()
        try:
            with self.assertRaises(poplib.error_proto) as cm:
                rqus(p, voucher, name)
            return str(cm.exception)
        finally:
            if own:
                p.close()

    def test_a_voucher_opens_an_account_that_works_at_once_and_only_once(self):
        before = self.count()
        (voucher,) = self.vouchers(1)
        self.assertEqual(self.count(), before + 1)
        p = self.env.pop3()
        try:
            self.assertIn("RQUS", p.capa())
            account = rqus(p, voucher.upper(), "NewBie")
            self.assertEqual(account["address"], "newbie@" + self.env.domain)
            for key in ("smtp-password", "pop3-password"):
                self.assertRegex(account[key], r"^[a-z2-7]{24}$")
            self.assertNotEqual(account["smtp-password"], account["pop3-password"])
            # The same session may log in next.
            p.user("newbie")
            p.pass_(account["pop3-password"])
            self.assertEqual(p.stat()[0], 0)
        finally:
            p.quit()
        self.assertEqual(self.count(), before)
        self.env.wait_log(rb"registration ok")
        newbie = User("newbie", account["smtp-password"], account["pop3-password"],
                      self.env.domain)
        # It sends with its SMTP password and receives mail.
        s = self.env.smtp_auth(newbie)
        try:
            s.sendmail(newbie.addr, [self.env.users["alice"].addr],
                       b"Subject: hi from newbie\r\n\r\nhello\r\n")
        finally:
            s.quit()
        self.assertTrue(any(b"hi from newbie" in m
                            for _, m in self.env.fetch_all(self.env.users["alice"])))
        self.env.send_external([newbie.addr], b"Subject: welcome\r\n\r\nhi\r\n")
        self.assertEqual(len(self.env.fetch_all(newbie)), 1)
        # The voucher is used up.
        self.assertIn("Unknown or used voucher", self.refusal(voucher, "another"))

    def ask_bot(self, user, subject):
        """Sends `subject` to server@ as `user`; returns the answer's text."""
        u = self.env.users[user]
        before = len(self.env.fetch_all(u))
        bot = "server@" + self.env.domain
        s = self.env.smtp_auth(u)
        try:
            s.sendmail(u.addr, [bot], ("Subject: %s\r\n\r\n" % subject).encode())
        finally:
            s.quit()
        got = [m for _, m in self.env.fetch_all(u)][before:]
        self.assertEqual(len(got), 1)
        return email.message_from_bytes(got[0], policy=email.policy.default).get_content()

    def test_the_sysop_gets_vouchers_from_server_at_and_one_opens_an_account(self):
        before = self.count()
        start = len(self.env.log_bytes())
        answer = self.ask_bot("alice", "VOUCHER 2")
        vouchers = re.findall(r"^  ([a-z2-7]{20})\r?$", answer, re.M)
        self.assertEqual(len(vouchers), 2, answer)
        self.assertEqual(self.count(), before + 2)
        self.env.wait_log(rb"2 voucher\(s\) made for the sysop through server@", start=start)
        log = self.env.log_bytes()
        for v in vouchers:
            self.assertNotIn(v.encode(), log)
        p = self.env.pop3()
        try:
            account = rqus(p, vouchers[0], "fromsysop")
            self.assertEqual(account["address"], "fromsysop@" + self.env.domain)
        finally:
            p.quit()
        self.assertEqual(self.count(), before + 1)
        # Bob is not the sysop: to him the command does not exist.
        refused = self.ask_bot("bob", "VOUCHER 2")
        self.assertIn("was not understood", refused)
        self.assertNotIn("VOUCHER", refused)
        self.assertEqual(self.count(), before + 1)
        self.env.ctl("voucher", "clear")

    def test_taken_and_reserved_names_leave_the_voucher_usable(self):
        (voucher,) = self.vouchers(1)
        self.assertIn("taken", self.refusal(voucher, "alice"))
        self.assertIn("reserved", self.refusal(voucher, "postmaster"))
        self.assertIn("reserved", self.refusal(voucher, "team.list"))
        p = self.env.pop3()
        try:
            account = rqus(p, voucher, "second")
        finally:
            p.quit()
        self.assertEqual(account["address"], "second@" + self.env.domain)
        shown = self.env.ctl("user", "show", "second", check=False)
        self.assertEqual(shown.returncode, 0, shown.stderr)

    def test_bad_vouchers_close_the_session_at_the_failure_limit(self):
        p = self.env.pop3()
        try:
            for _ in range(2):
                self.assertIn("Unknown or used voucher",
                              self.refusal("a" * 20, "someone", p))
            self.assertIn("closing", self.refusal("b" * 20, "someone", p))
        finally:
            p.close()

    def test_vouchers_are_not_on_disk_in_clear_and_clear_removes_them(self):
        made = self.vouchers(3)
        folder = os.path.join(self.env.state_dir, "vouchers")
        for root, _, files in os.walk(folder):
            for name in files:
                for v in made:
                    self.assertNotIn(v, name)
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                for v in made:
                    self.assertNotIn(v.encode(), data)
        self.env.ctl("voucher", "clear")
        self.assertEqual(self.count(), 0)
        self.assertIn("Unknown or used voucher", self.refusal(made[0], "cleared"))


class RegisterOffTest(unittest.TestCase):
    """[pop3] registration off (the default): RQUS is an unknown command."""

    def setUp(self):
        self.env = TestEnv(prefix="om-regoff-")

    def tearDown(self):
        self.env.cleanup()

    def test_without_registration_rqus_is_unknown_and_not_offered(self):
        self.env.init()
        (voucher,) = self.env.ctl("voucher", "add").stdout.decode().split()
        self.env.start()
        p = self.env.pop3()
        try:
            self.assertNotIn("RQUS", p.capa())
            with self.assertRaises(poplib.error_proto) as cm:
                rqus(p, voucher, "newbie")
            self.assertIn("Unknown command", str(cm.exception))
        finally:
            p.quit()


if __name__ == "__main__":
    unittest.main()
