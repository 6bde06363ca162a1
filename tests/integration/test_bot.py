"""server@, the server's command bot (docs/PROTOCOL.md, "server@: the
server's command bot"), against the real server: a logged-in user writes to
server@ with the command as the Subject, and the answer arrives in that
user's own mailbox, read back with POP3; nobody else can make the bot write.
"""

import email
import os
import email.policy
import re
import smtplib
import unittest

from harness import ServerTestCase, TestEnv

RULES = "1. No spam.\\n2. Be kind to each other.\\n\\tThis line starts with a TAB."


def request(user, domain, subject, extra_headers=""):
    return ("From: <%s>\r\nTo: <server@%s>\r\nSubject: %s\r\n"
            "Message-ID: <req-1@%s>\r\n%s\r\nbody is not read\r\n"
            % (user.addr, domain, subject, domain, extra_headers)).encode()


class BotTest(ServerTestCase, unittest.TestCase):
    EXTRA_CONFIG = {"bot": {"rules": RULES}, "store": {"mailbox_quota_mib": 64}}

    def ask(self, subject, user="alice", extra_headers=""):
        """Sends the request as `user`; returns the new messages in the
        user's mailbox after it (parsed)."""
        u = self.env.users[user]
        before = len(self.env.fetch_all(u))
        s = self.env.smtp_auth(u)
        try:
            refused = s.sendmail(u.addr, ["server@" + self.env.domain],
                                 request(u, self.env.domain, subject, extra_headers))
            self.assertEqual(refused, {})
        finally:
            s.quit()
        msgs = [m for _, m in self.env.fetch_all(u)][before:]
        return [email.message_from_bytes(m, policy=email.policy.default) for m in msgs]

    def test_ident_answer_is_in_the_users_mailbox_and_names_the_server_id(self):
        msgs = self.ask("IDENT")
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["Return-Path"], "<>")
        self.assertIn("server@" + self.env.domain, m["From"])
        self.assertIn(self.env.users["alice"].addr, m["To"])
        self.assertEqual(m["Subject"], "Re: IDENT")
        self.assertEqual(m["In-Reply-To"], "<req-1@%s>" % self.env.domain)
        self.assertEqual(m["Auto-Submitted"], "auto-replied")
        body = m.get_content()
        self.assertIn(self.env.domain, body)
        self.assertIn("onionmaild 0.1.0", body)
        # The fingerprint is the server-id `onionmailctl pin` prints.
        pin = self.env.ctl("pin").stdout.decode()
        server_id = re.search(r"^server-id: ([0-9a-f]{64})$", pin, re.M).group(1)
        self.assertIn(server_id, body)
        self.assertRegex(self.env.log_tail(), r"server@: IDENT answered")

    def test_rules_and_limits_come_from_the_configuration(self):
        rules = self.ask("Re: rulez")[0].get_content()
        self.assertIn("1. No spam.", rules)
        self.assertIn("\tThis line starts with a TAB.", rules)
        limits = self.ask("CONFIG")[0].get_content()
        self.assertIn(str(25 * 1024 * 1024), limits)  # [smtp] max_message_bytes
        self.assertIn("64", limits)                    # [store] mailbox_quota_mib

    def test_unknown_command_gets_the_help_text(self):
        m = self.ask("please delete everything")[0]
        body = m.get_content()
        for command in ("IDENT", "RULEZ", "CONFIG", "HELP"):
            self.assertIn(command, body)

    def test_automatic_message_is_not_answered(self):
        msgs = self.ask("IDENT", extra_headers="Auto-Submitted: auto-replied\r\n")
        self.assertEqual(msgs, [])

    def test_other_senders_cannot_reach_the_bot(self):
        # Unauthenticated, from another onion: refused at RCPT, nothing stored.
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.env.send_external(["server@" + self.env.domain],
                                   request(self.env.users["bob"], self.env.domain, "IDENT"))
        code, text = cm.exception.recipients["server@" + self.env.domain]
        self.assertEqual(code, 550)
        self.assertIn(b"server@ answers only users of this server", text)
        # Logged in as bob but claiming alice: refused at MAIL (553).
        s = self.env.smtp_auth(self.env.users["bob"])
        try:
            with self.assertRaises(smtplib.SMTPSenderRefused):
                s.sendmail(self.env.users["alice"].addr, ["server@" + self.env.domain],
                           request(self.env.users["alice"], self.env.domain, "IDENT"))
        finally:
            s.close()
        self.assertEqual(self.env.fetch_all(self.env.users["bob"]), [])

    def test_server_cannot_be_mixed_with_another_recipient(self):
        u = self.env.users["alice"]
        s = self.env.smtp_auth(u)
        try:
            refused = s.sendmail(u.addr, ["server@" + self.env.domain,
                                          self.env.users["bob"].addr],
                                 request(u, self.env.domain, "IDENT"))
        finally:
            s.quit()
        code, _ = refused[self.env.users["bob"].addr]
        self.assertEqual(code, 452)


class BotSpamTest(ServerTestCase, unittest.TestCase):
    """SPAM commands: a user's block list, kept sealed by the key role and
    checked at RCPT for every sender."""
    USERS = ("alice", "bob", "carol")

    def ask(self, subject, user="alice"):
        u = self.env.users[user]
        before = len(self.env.fetch_all(u))
        s = self.env.smtp_auth(u)
        try:
            self.assertEqual(s.sendmail(u.addr, ["server@" + self.env.domain],
                                        request(u, self.env.domain, subject)), {})
        finally:
            s.quit()
        msgs = [m for _, m in self.env.fetch_all(u)][before:]
        self.assertEqual(len(msgs), 1)
        return email.message_from_bytes(msgs[0], policy=email.policy.default).get_content()

    def send_from(self, sender, rcpt):
        """Returns the RCPT code the server gave `sender` for `rcpt`."""
        try:
            refused = self.env.send_external([rcpt], b"Subject: hi\r\n\r\nhi\r\n", sender=sender)
        except smtplib.SMTPRecipientsRefused as e:
            return e.recipients[rcpt][0]
        self.assertEqual(refused, {})
        return 250

    def test_blocked_address_and_domain_are_refused_only_for_that_user_until_removed(self):
        alice, bob = self.env.users["alice"].addr, self.env.users["bob"].addr
        body = self.ask("SPAM ADD <Pest@Remote.onion>")
        self.assertIn("pest@remote.onion", body)
        self.assertIn("1 of 500", body)
        self.assertIn("@evil.onion", self.ask("spam add *@evil.onion"))
        self.assertEqual(self.send_from("pest@remote.onion", alice), 550)
        self.assertEqual(self.send_from("anyone@evil.onion", alice), 550)
        self.assertEqual(self.send_from("anyone@sub.evil.onion", alice), 250)
        self.assertEqual(self.send_from("friend@remote.onion", alice), 250)
        self.assertEqual(self.send_from("pest@remote.onion", bob), 250)  # bob's list is empty
        self.assertRegex(self.env.log_tail(), r"recipient refused: the sender is on its block list")
        # The list is sealed on disk: the address is nowhere in the state directory's files.
        blocklists = os.path.join(self.env.state_dir, "blocklists")
        files = [f for f in os.listdir(blocklists) if not f.startswith(".")]
        self.assertEqual(len(files), 1)
        for name in files:
            with open(os.path.join(blocklists, name), "rb") as f:
                data = f.read()
            self.assertNotIn(b"pest", data)
            self.assertNotIn(b"evil.onion", data)
        # A restart keeps it; SPAM DEL removes one entry, SPAM CLEAR all.
        self.env.stop()
        self.env.start()
        self.assertEqual(self.send_from("pest@remote.onion", alice), 550)
        listed = self.ask("SPAM LIST")
        self.assertIn("pest@remote.onion", listed)
        self.assertIn("2 of 500", listed)
        self.ask("SPAM DEL pest@remote.onion")
        self.assertEqual(self.send_from("pest@remote.onion", alice), 250)
        self.assertEqual(self.send_from("anyone@evil.onion", alice), 550)
        self.ask("SPAM CLEAR")
        self.assertEqual(self.send_from("anyone@evil.onion", alice), 250)
        self.assertEqual(os.listdir(blocklists) and
                         [f for f in os.listdir(blocklists) if not f.startswith(".")], [])

    def test_a_deleted_user_made_again_starts_with_an_empty_list(self):
        self.ask("SPAM ADD pest@remote.onion", user="carol")
        carol = self.env.users["carol"].addr
        self.assertEqual(self.send_from("pest@remote.onion", carol), 550)
        self.env.ctl("user", "del", "carol")
        self.env.add_user("carol")
        self.assertEqual(self.send_from("pest@remote.onion", carol), 250)


class BotOffTest(unittest.TestCase):
    """[bot] enabled = false: server@ is an ordinary local part (no such
    user), and onionmailctl refuses to create a user named server."""

    def setUp(self):
        self.env = TestEnv(prefix="om-botoff-", extra_config={"bot": {"enabled": False}})

    def tearDown(self):
        self.env.cleanup()

    def test_without_the_bot_server_is_an_unknown_user_and_cannot_be_created(self):
        self.env.init()
        p = self.env.ctl("user", "add", "server",
                         "--smtp-password-file", self.env.pw_file("aaaaaaaaaaaa1"),
                         "--pop3-password-file", self.env.pw_file("bbbbbbbbbbbb2"),
                         check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"server@", p.stderr)
        alice = self.env.add_user("alice")
        self.env.start()
        s = self.env.smtp_auth(alice)
        try:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail(alice.addr, ["server@" + self.env.domain],
                           request(alice, self.env.domain, "IDENT"))
        finally:
            s.close()
        code, text = cm.exception.recipients["server@" + self.env.domain]
        self.assertEqual((code, text), (550, b"5.1.1 User unknown"))


if __name__ == "__main__":
    unittest.main()
