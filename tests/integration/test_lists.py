"""Mailing lists (docs/PROTOCOL.md, "Mailing lists") against the real server:
users manage a list with the server@ bot's LIST commands, members post to
name.list@ with smtplib, every member reads the post back with POP3 with the
List-* fields, and everyone else is refused; the lists are sealed on disk,
survive a restart and forget deleted users.
"""

import email
import email.policy
import os
import smtplib
import unittest

from harness import ServerTestCase, TestEnv


def message(sender, rcpt, subject, body="hello\r\n"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s"
            % (sender, rcpt, subject, body)).encode()


class ListTest(ServerTestCase, unittest.TestCase):
    USERS = ("alice", "bob", "carol", "dave")

    def ask(self, subject, user="alice"):
        """Sends `subject` to server@ as `user`; returns the answer's body."""
        u = self.env.users[user]
        before = len(self.env.fetch_all(u))
        s = self.env.smtp_auth(u)
        try:
            self.assertEqual(s.sendmail(u.addr, ["server@" + self.env.domain],
                                        message(u.addr, "server@" + self.env.domain, subject)),
                             {})
        finally:
            s.quit()
        msgs = [m for _, m in self.env.fetch_all(u)][before:]
        self.assertEqual(len(msgs), 1)
        return email.message_from_bytes(msgs[0], policy=email.policy.default).get_content()

    def post(self, user, list_name, subject):
        """Posts as `user`; returns the RCPT code."""
        u = self.env.users[user]
        rcpt = "%s.list@%s" % (list_name, self.env.domain)
        s = self.env.smtp_auth(u)
        try:
            refused = s.sendmail(u.addr, [rcpt], message(u.addr, rcpt, subject))
        except smtplib.SMTPRecipientsRefused as e:
            return e.recipients[rcpt][0]
        finally:
            s.close()
        self.assertEqual(refused, {})
        return 250

    def subjects(self, user):
        out = []
        for _, raw in self.env.fetch_all(self.env.users[user]):
            m = email.message_from_bytes(raw, policy=email.policy.default)
            out.append((m["Subject"], m))
        return out

    def list_posts(self, user, subject):
        return [m for s, m in self.subjects(user) if s == subject]

    def test_members_get_posts_with_list_fields_and_others_cannot_post(self):
        domain = self.env.domain
        body = self.ask("LIST team CREATE")
        self.assertIn("team.list@" + domain, body)
        self.assertIn("alice", body)
        self.assertIn("bob", self.ask("LIST team ADD bob"))
        self.assertIn("carol", self.ask("list Team.List@%s invite carol@%s" % (domain, domain)))
        self.assertEqual(self.post("alice", "team", "first post"), 250)
        self.env.wait_log(rb"list message accepted: 3 recipient\(s\)")
        for user in ("alice", "bob", "carol"):
            posts = self.list_posts(user, "first post")
            self.assertEqual(len(posts), 1, user)
            m = posts[0]
            self.assertEqual(m["List-Id"], "<team.list.%s>" % domain)
            self.assertEqual(m["List-Post"], "<mailto:team.list@%s>" % domain)
            self.assertIn("LIST%20team%20LEAVE", m["List-Unsubscribe"])
            self.assertEqual(m["Precedence"], "list")
            self.assertIn(self.env.users["alice"].addr, m["Return-Path"])
            self.assertEqual(m.get_content().strip(), "hello")
        self.assertEqual(self.list_posts("dave", "first post"), [])
        # A member posts too; dave (not a member) cannot, nor can a stranger.
        self.assertEqual(self.post("bob", "team", "from bob"), 250)
        self.assertEqual(len(self.list_posts("carol", "from bob")), 1)
        self.assertEqual(self.post("dave", "team", "from dave"), 550)
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.env.send_external(["team.list@" + domain],
                                   message("x@remote.onion", "team.list@" + domain, "spam"))
        code, text = cm.exception.recipients["team.list@" + domain]
        self.assertEqual(code, 550)
        self.assertIn(b"members", text)
        self.assertEqual(self.post("alice", "nosuch", "lost"), 550)
        # Only the owner adds; a member cannot see or change another list.
        self.ask("LIST team ADD dave", user="bob")
        self.assertEqual(self.post("dave", "team", "from dave"), 550)
        # A member's block list holds the poster: that member alone is skipped.
        self.ask("SPAM ADD %s" % self.env.users["bob"].addr, user="carol")
        self.assertEqual(self.post("bob", "team", "blocked by carol"), 250)
        self.assertEqual(self.list_posts("carol", "blocked by carol"), [])
        self.assertEqual(len(self.list_posts("alice", "blocked by carol")), 1)
        self.ask("SPAM CLEAR", user="carol")

    def test_leave_remove_destroy_and_the_sealed_files(self):
        domain = self.env.domain
        self.ask("LIST club CREATE", user="bob")
        self.ask("LIST club ADD carol", user="bob")
        self.ask("LIST club ADD dave", user="bob")
        # The list is sealed: no file under the state directory names it or its members.
        lists = os.path.join(self.env.state_dir, "lists")
        files = [f for f in os.listdir(lists) if not f.startswith(".")]
        self.assertGreaterEqual(len(files), 1)
        for name in files:
            self.assertNotIn("club", name)
            with open(os.path.join(lists, name), "rb") as f:
                data = f.read()
            for word in (b"club", b"carol", b"dave", b"bob"):
                self.assertNotIn(word, data)
        # It survives a restart.
        self.env.stop()
        self.env.start()
        members = self.ask("LIST club MEMBERS", user="dave")
        for user in ("bob", "carol", "dave"):
            self.assertIn(user, members)
        # dave leaves, the owner removes carol: a post reaches the owner alone.
        self.assertNotIn("dave@", self.ask("LIST club LEAVE", user="dave"))
        self.ask("LIST club REMOVE carol", user="bob")
        self.assertEqual(self.post("bob", "club", "alone"), 250)
        self.assertEqual(self.list_posts("carol", "alone"), [])
        self.assertEqual(self.list_posts("dave", "alone"), [])
        self.assertEqual(len(self.list_posts("bob", "alone")), 1)
        # The owner cannot leave; destroying the list frees its address.
        self.ask("LIST club LEAVE", user="bob")
        self.assertEqual(self.post("bob", "club", "still here"), 250)
        self.ask("LIST club DESTROY", user="bob")
        self.assertEqual(self.post("bob", "club", "gone"), 550)
        self.assertIn("club.list@" + domain, self.ask("LIST club CREATE", user="carol"))
        self.ask("LIST club DESTROY", user="carol")

    def post_reply(self, user, list_name, subject):
        """Posts as `user`; returns the RCPT reply (code, text)."""
        u = self.env.users[user]
        rcpt = "%s.list@%s" % (list_name, self.env.domain)
        s = self.env.smtp_auth(u)
        try:
            self.assertEqual(s.mail(u.addr)[0], 250)
            reply = s.rcpt(rcpt)
            if reply[0] == 250:
                self.assertEqual(s.data(message(u.addr, rcpt, subject))[0], 250)
            return reply
        finally:
            s.quit()

    def test_an_announce_list_takes_posts_only_from_its_owner_across_a_restart(self):
        self.ask("LIST news CREATE", user="dave")
        self.ask("LIST news ADD alice", user="dave")
        self.ask("LIST news ADD bob", user="dave")
        refused = self.ask("LIST news ANNOUNCE", user="bob")
        self.assertIn("Only the owner of news.list@", refused)
        self.assertIn("Nothing was changed.", refused)
        self.assertEqual(self.post("bob", "news", "bob before"), 250)  # still open
        body = self.ask("LIST news ANNOUNCE", user="dave")
        self.assertIn("is an announce list now: only you, its owner, write to", body)
        self.assertIn("LIST news OPEN lets every", body)
        self.env.stop()
        self.env.start()
        self.assertIn("This is an announce list: only its owner writes to it",
                      self.ask("LIST news MEMBERS", user="alice"))
        code, text = self.post_reply("bob", "news", "bob after")
        self.assertEqual((code, text), (550, b"5.7.1 This list is an announce list: only its "
                                             b"owner posts to it"))
        self.env.wait_log(rb"list: post refused, an announce list and the sender is not its owner")
        self.assertEqual(self.post_reply("dave", "news", "the news")[0], 250)
        for user in ("alice", "bob", "dave"):
            self.assertEqual(len(self.list_posts(user, "the news")), 1, user)
            self.assertEqual(self.list_posts(user, "bob after"), [], user)
        # A non-member is refused as on any list, not told it is an announce list.
        code, text = self.post_reply("carol", "news", "carol")
        self.assertEqual(code, 550)
        self.assertIn(b"members", text)
        self.env.wait_log(rb"list: post refused, the sender is no member")
        self.assertIn("Every member of news.list@", self.ask("LIST news OPEN", user="dave"))
        self.assertEqual(self.post("bob", "news", "bob again"), 250)
        self.assertEqual(len(self.list_posts("alice", "bob again")), 1)
        self.ask("LIST news DESTROY", user="dave")
        # A refusal by the list's rules is an answer, not a fault of the key store.
        self.assertNotIn(b"failed in the key store", self.env.log_bytes())

    def test_a_moderated_list_holds_members_posts_for_the_owner_who_sends_on_what_it_approves(
            self):
        self.ask("LIST board CREATE", user="carol")
        self.ask("LIST board ADD alice", user="carol")
        self.ask("LIST board ADD bob", user="carol")
        body = self.ask("LIST board MODERATE", user="carol")
        self.assertIn("is a moderated list now: its members' mail to it comes", body)
        self.assertIn("This is a moderated list", self.ask("LIST board MEMBERS", user="bob"))
        carol_before = len(self.env.fetch_all(self.env.users["carol"]))
        code, text = self.post_reply("bob", "board", "a proposal")
        self.assertEqual((code, text), (250, b"2.1.5 List ok: a moderated list, the post is "
                                             b"held for its owner's approval"))
        self.env.wait_log(rb"list: a post held for the owner's approval")
        for user in ("alice", "bob"):
            self.assertEqual(self.list_posts(user, "a proposal"), [], user)
        held = [raw for _, raw in self.env.fetch_all(self.env.users["carol"])][carol_before:]
        self.assertEqual(len(held), 1)
        board = ("board.list@" + self.env.domain).encode()
        self.assertIn(b"\r\nX-List-Held: <" + board + b">; held for the owner's approval",
                      held[0])
        self.assertNotIn(b"List-Id:", held[0])
        self.assertIn(b"From: <" + self.env.users["bob"].addr.encode() + b">", held[0])
        # Carol approves: her client resends the message as it is (Redirect).
        carol = self.env.users["carol"]
        resent = held[0].split(b"\r\n", 1)[1]  # without the Return-Path line
        s = self.env.smtp_auth(carol)
        try:
            self.assertEqual(s.sendmail(carol.addr, [board.decode()], resent), {})
        finally:
            s.quit()
        for user in ("alice", "bob", "carol"):
            posts = self.list_posts(user, "a proposal")
            # Carol has the held copy too.
            self.assertEqual(len(posts), 2 if user == "carol" else 1, user)
            raw = posts[-1].as_bytes()
            self.assertEqual(raw.count(b"List-Id:"), 1, user)
            self.assertNotIn(b"X-List-Held", raw, user)
            self.assertEqual(posts[-1]["From"], self.env.users["bob"].addr)
        # The owner's own post goes out at once; OPEN ends the holding.
        self.assertEqual(self.post("carol", "board", "from the chair"), 250)
        self.assertEqual(len(self.list_posts("bob", "from the chair")), 1)
        self.assertIn("Every member of board.list@", self.ask("LIST board OPEN", user="carol"))
        self.assertEqual(self.post("bob", "board", "open again"), 250)
        self.assertEqual(len(self.list_posts("alice", "open again")), 1)
        self.ask("LIST board DESTROY", user="carol")

    def test_a_deleted_user_leaves_every_list_and_loses_the_lists_it_owns(self):
        self.ask("LIST owned CREATE", user="carol")
        self.ask("LIST owned ADD alice", user="carol")
        self.ask("LIST joined CREATE", user="alice")
        self.ask("LIST joined ADD carol", user="alice")
        self.env.ctl("user", "del", "carol")
        self.env.add_user("carol")
        self.assertEqual(self.post("alice", "owned", "owner gone"), 550)
        self.assertEqual(self.post("alice", "joined", "after delete"), 250)
        self.assertEqual(self.list_posts("carol", "after delete"), [])
        self.assertNotIn("carol", self.ask("LIST joined MEMBERS"))
        self.ask("LIST joined DESTROY")

    def test_list_names_cannot_be_user_names(self):
        p = self.env.ctl("user", "add", "team.list",
                         "--smtp-password-file", self.env.pw_file("aaaaaaaaaaaa1"),
                         "--pop3-password-file", self.env.pw_file("bbbbbbbbbbbb2"),
                         check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b".list", p.stderr)


class ListsOffTest(unittest.TestCase):
    """[bot] lists = false: a .list address is an ordinary (unknown) local
    part."""

    def setUp(self):
        self.env = TestEnv(prefix="om-listsoff-", extra_config={"bot": {"lists": False}})

    def tearDown(self):
        self.env.cleanup()

    def test_without_lists_a_list_address_is_an_unknown_user(self):
        self.env.init()
        alice = self.env.add_user("alice")
        self.env.start()
        rcpt = "team.list@" + self.env.domain
        s = self.env.smtp_auth(alice)
        try:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail(alice.addr, [rcpt], message(alice.addr, rcpt, "x"))
        finally:
            s.close()
        self.assertEqual(cm.exception.recipients[rcpt], (550, b"5.1.1 User unknown"))


if __name__ == "__main__":
    unittest.main()
