"""End-to-end mail path: smtplib (STARTTLS + AUTH) in, poplib (STLS) out.

Checks byte-exact delivery (the stored message is trace headers followed by
the exact sent bytes), POP3 semantics (UIDL stability, TOP, DELE/QUIT vs
dropped connection, RSET, AUTH PLAIN, IN-USE) and SMTP sender/recipient
policy.
"""

import base64
import os
import poplib
import secrets
import smtplib
import threading
import time
import unittest

from harness import (CRLF, RawLine, ServerTestCase, crlf, raw_smtp_tls,
                     retr_bytes)


def make_msg(env, frm, to, subject, body):
    head = "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n" % (
        frm, to, subject, secrets.token_hex(8))
    return crlf(head.encode() + CRLF + (body if isinstance(body, bytes)
                                        else body.encode("utf-8")))


class MailPathTest(ServerTestCase, unittest.TestCase):
    USERS = ("alice", "bob", "carol", "dave")

    def setUp(self):
        super().setUp()
        # Every test starts with empty mailboxes for bob/carol/dave.
        for name in ("bob", "carol", "dave"):
            self._empty(self.env.users[name])

    def _empty(self, user):
        p = self.env.pop3_login(user)
        n, _ = p.stat()
        for i in range(1, n + 1):
            p.dele(i)
        p.quit()

    def _send_auth(self, sender, rcpts, msg, mail_options=()):
        s = self.env.smtp_auth(sender)
        refused = s.sendmail(sender.addr, rcpts, msg,
                             mail_options=list(mail_options))
        s.quit()
        self.assertEqual(refused, {})

    def _roundtrip(self, body, mail_options=()):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        msg = make_msg(self.env, alice.addr, bob.addr, "roundtrip", body)
        self._send_auth(alice, [bob.addr], msg, mail_options)
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        stored = got[0][1]
        self.assertTrue(stored.endswith(msg),
                        "stored message does not end with sent bytes; "
                        "tail=%r" % stored[-300:])
        prefix = stored[:len(stored) - len(msg)]
        self.assertTrue(prefix.startswith(b"Return-Path:"), prefix[:200])
        self.assertIn(b"\r\nReceived:", prefix)
        return stored

    def test_plain_message_is_delivered_byte_exact_with_trace_headers(self):
        stored = self._roundtrip("Hello Bob,\r\nthis is a test.\r\n")
        self.assertIn(self.env.users["alice"].addr.encode(),
                      stored.split(CRLF, 1)[0])

    def test_lines_starting_with_dots_survive_transparency(self):
        body = ("..\r\n. \r\n.x\r\n...three\r\n.\tTab\r\n"
                "text . \r\n..\r\nend\r\n")
        self._roundtrip(body)

    def test_lone_dot_line_inside_body_survives_transparency(self):
        # Dot-stuffed by the client (RFC 5321 4.5.2), unstuffed by the
        # server, re-stuffed by POP3: the message legitimately contains it.
        self._roundtrip("before\r\n.\r\nafter\r\n")

    def test_utf8_body_with_8bitmime_is_byte_exact(self):
        body = ("Grüße aus Köln — ünïcödé ✓ 日本語 😀\r\n"
                "Ελληνικά and Кириллица\r\n").encode("utf-8")
        stored = self._roundtrip(body, mail_options=["BODY=8BITMIME"])
        self.assertIn("日本語".encode("utf-8"), stored)

    def test_five_megabyte_attachment_is_byte_exact(self):
        payload = os.urandom(5 * 1024 * 1024)
        b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
        body = (b"MIME-Version: 1.0\r\n"  # harmless in the body
                b"--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64 +
                b"--b--\r\n")
        stored = self._roundtrip(body)
        self.assertIn(b64[:1000], stored)
        self.assertGreater(len(stored), 5 * 1024 * 1024)

    def test_uidl_is_stable_across_sessions(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        for i in range(3):
            self._send_auth(alice, [bob.addr],
                            make_msg(self.env, alice.addr, bob.addr, "u%d" % i, "x"))
        p = self.env.pop3_login(bob)
        first = p.uidl()[1]
        p.quit()
        p = self.env.pop3_login(bob)
        second = p.uidl()[1]
        one = p.uidl(2)
        p.quit()
        self.assertEqual(len(first), 3)
        self.assertEqual(first, second)
        uids = [l.split()[1] for l in first]
        self.assertEqual(len(set(uids)), 3, "UIDs not unique: %r" % uids)
        self.assertTrue(one.startswith(b"+OK"))
        self.assertEqual(one.split()[2], uids[1])
        # UIDs survive deletion of another message.
        p = self.env.pop3_login(bob)
        p.dele(1)
        p.quit()
        p = self.env.pop3_login(bob)
        third = [l.split()[1] for l in p.uidl()[1]]
        p.quit()
        self.assertEqual(third, uids[1:])

    def test_top_zero_returns_only_headers(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        msg = make_msg(self.env, alice.addr, bob.addr, "topsubject",
                       "line one\r\nline two\r\nline three\r\n")
        self._send_auth(alice, [bob.addr], msg)
        p = self.env.pop3_login(bob)
        resp, lines, _ = p.top(1, 0)
        _, lines1, _ = p.top(1, 1)
        p.quit()
        self.assertTrue(resp.startswith(b"+OK"))
        self.assertIn(b"Subject: topsubject", lines)
        self.assertEqual(lines[-1], b"")  # header/body separator
        self.assertNotIn(b"line one", lines)
        self.assertEqual(lines1[-1], b"line one")

    def test_list_and_stat_sizes_match_retrieved_octets(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        msg = make_msg(self.env, alice.addr, bob.addr, "sizes", "a\r\n.b\r\n")
        self._send_auth(alice, [bob.addr], msg)
        p = self.env.pop3_login(bob)
        count, total = p.stat()
        listing = p.list()[1]
        data = retr_bytes(p, 1)
        p.quit()
        self.assertEqual(count, 1)
        self.assertEqual(listing, [b"1 %d" % len(data)])
        self.assertEqual(total, len(data))

    def test_dele_then_quit_removes_message(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        for i in range(2):
            self._send_auth(alice, [bob.addr],
                            make_msg(self.env, alice.addr, bob.addr, "d%d" % i, "x"))
        p = self.env.pop3_login(bob)
        keep_uid = p.uidl(2).split()[2]
        p.dele(1)
        with self.assertRaises(poplib.error_proto):
            p.retr(1)  # deleted messages are not accessible in-session
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        p = self.env.pop3_login(bob)
        self.assertEqual(p.stat()[0], 1)
        self.assertEqual(p.uidl(1).split()[2], keep_uid)
        p.quit()

    def _spares(self, written=True):
        """{name: inode} of <state>/spare (docs/store.md, "Spare files"): the
        deleted files written over (written=True), or the empty ones the key
        role stocks while no mail arrives (written=False)."""
        d = os.path.join(self.env.state_dir, "spare")
        out = {}
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return out
        for n in names:
            try:
                st = os.lstat(os.path.join(d, n))
            except FileNotFoundError:
                continue  # taken meanwhile
            if (st.st_size > 0) == written:
                out[n] = st.st_ino
        return out

    def _message_inodes(self):
        out = set()
        for base, _, files in os.walk(os.path.join(self.env.state_dir, "mbox")):
            out |= {os.lstat(os.path.join(base, f)).st_ino for f in files if f != "lock"}
        return out

    def test_deleted_messages_become_spares_that_new_messages_overwrite_exactly(self):
        alice, carol = self.env.users["alice"], self.env.users["carol"]
        marker = b"spare-marker-" + secrets.token_hex(8).encode()
        for i in range(3):
            self._send_auth(alice, [carol.addr], make_msg(
                self.env, alice.addr, carol.addr, "big%d" % i, (marker + CRLF) * 10000))
        before = self._spares()
        self._empty(carol)  # DELE all, QUIT: overwritten, then kept as spares
        kept = {n: ino for n, ino in self._spares().items() if n not in before}
        self.assertEqual(len(kept), 3)
        d = os.path.join(self.env.state_dir, "spare")
        for n in kept:
            with open(os.path.join(d, n), "rb") as f:
                data = f.read()
            self.assertGreater(len(data), 10000 * len(marker))
            self.assertNotIn(marker, data)  # overwritten before it was kept
        # The next deliveries are written over the newest spares (the ones
        # just kept), each cut to its own length, and read back byte-exact.
        sent = [make_msg(self.env, alice.addr, carol.addr, "small%d" % i,
                         "small body %d\r\n" % i) for i in range(3)]
        for msg in sent:
            self._send_auth(alice, [carol.addr], msg)
        self.assertEqual(set(kept.values()) & set(self._spares().values()), set())
        self.assertTrue(set(kept.values()) <= self._message_inodes())
        got = sorted(self.env.fetch_all(carol), key=lambda m: m[1])
        self.assertEqual(len(got), 3)
        for msg in sent:
            self.assertEqual(sum(1 for _, stored in got if stored.endswith(msg)), 1, msg[:80])

    def test_an_idle_server_stocks_empty_spares_that_deliveries_write_into(self):
        alice, carol = self.env.users["alice"], self.env.users["carol"]
        self._empty(carol)
        # Any spare written over is taken first; then the stocked empty ones.
        for i in range(len(self._spares())):
            self._send_auth(alice, [carol.addr], make_msg(
                self.env, alice.addr, carol.addr, "drain%d" % i, "x"))
        self.assertEqual(self._spares(), {})
        # While no mail arrives, the key role stocks half the pool (512 of
        # 1,024 files; the other half is left for deleted files).
        deadline = time.monotonic() + 60
        while len(self._spares(written=False)) < 512 and time.monotonic() < deadline:
            time.sleep(0.05)
        stocked = self._spares(written=False)
        self.assertEqual(len(stocked), 512)
        msg = make_msg(self.env, alice.addr, carol.addr, "into a stocked spare",
                       "stocked body\r\n" * 500)
        self._send_auth(alice, [carol.addr], msg)
        new = self._message_inodes() & set(stocked.values())
        self.assertEqual(len(new), 1)
        # The spare that took the message is gone from the pool and the other 511 are
        # still there; 200 ms without mail later the key role may have stocked a new one
        # (a slow machine reaches this line later than that).
        left = set(self._spares(written=False).values())
        self.assertEqual(left & set(stocked.values()), set(stocked.values()) - new)
        self.assertLessEqual(len(left - set(stocked.values())), 1)
        got = self.env.fetch_all(carol)
        self.assertEqual(sum(1 for _, stored in got if stored.endswith(msg)), 1)

    def test_dele_without_quit_removes_nothing(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        self._send_auth(alice, [bob.addr],
                        make_msg(self.env, alice.addr, bob.addr, "dropped", "x"))
        p = self.env.pop3_login(bob)
        p.dele(1)
        p.sock.close()  # drop the connection without QUIT
        # The server must release the mailbox lock and keep the message.
        p = None
        for _ in range(50):
            try:
                p = self.env.pop3_login(self.env.users["bob"])
                break
            except poplib.error_proto as e:
                if b"IN-USE" not in e.args[0]:
                    raise
                time.sleep(0.1)
        self.assertIsNotNone(p, "mailbox still locked 5s after disconnect")
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def test_rset_undeletes(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        self._send_auth(alice, [bob.addr],
                        make_msg(self.env, alice.addr, bob.addr, "rset", "x"))
        p = self.env.pop3_login(bob)
        p.dele(1)
        self.assertEqual(p.stat()[0], 0)
        self.assertTrue(p.rset().startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 1)
        self.assertTrue(p.noop().startswith(b"+OK"))
        p.quit()
        self.assertEqual(self.env.mailbox_count(bob), 1)

    def test_pop3_auth_plain_with_pop3_password(self):
        bob = self.env.users["bob"]
        p = self.env.pop3()
        token = base64.b64encode(b"\0" + bob.name.encode() + b"\0" +
                                 bob.pop3_pw.encode()).decode()
        resp = p._shortcmd("AUTH PLAIN " + token)
        self.assertTrue(resp.startswith(b"+OK"))
        self.assertEqual(p.stat()[0], 0)
        p.quit()

    def test_pop3_auth_plain_with_smtp_password_fails(self):
        bob = self.env.users["bob"]
        p = self.env.pop3()
        token = base64.b64encode(b"\0" + bob.name.encode() + b"\0" +
                                 bob.smtp_pw.encode()).decode()
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("AUTH PLAIN " + token)
        p.close()

    def test_second_pop3_session_gets_in_use(self):
        bob = self.env.users["bob"]
        p1 = self.env.pop3_login(bob)
        p2 = self.env.pop3()
        p2.user(bob.name)
        with self.assertRaises(poplib.error_proto) as cm:
            p2.pass_(bob.pop3_pw)
        self.assertIn(b"[IN-USE]", cm.exception.args[0])
        p2.close()
        p1.quit()
        self.env.pop3_login(bob).quit()  # lock released after QUIT

    def test_login_right_after_quit_finds_the_mailbox_released(self):
        # RFC 1939: the UPDATE state releases the mailbox before +OK, so a
        # client that reconnects at once (here with the unlock cache making
        # the login fast) never gets [IN-USE].
        bob = self.env.users["bob"]
        for _ in range(15):
            p = self.env.pop3_login(bob)
            p.stat()
            p.quit()

    def test_multiple_transactions_on_one_connection(self):
        alice, bob, carol = (self.env.users[n] for n in ("alice", "bob", "carol"))
        s = self.env.smtp_auth(alice)
        msgs = []
        for i, rcpt in enumerate([bob, carol, bob]):
            m = make_msg(self.env, alice.addr, rcpt.addr, "multi%d" % i,
                         "body %d\r\n" % i)
            msgs.append((rcpt, m))
            self.assertEqual(s.sendmail(alice.addr, [rcpt.addr], m), {})
        s.rset()
        s.quit()
        bob_msgs = [m for _, m in self.env.fetch_all(bob)]
        carol_msgs = [m for _, m in self.env.fetch_all(carol)]
        self.assertEqual(len(bob_msgs), 2)
        self.assertEqual(len(carol_msgs), 1)
        self.assertTrue(bob_msgs[0].endswith(msgs[0][1]))
        self.assertTrue(bob_msgs[1].endswith(msgs[2][1]))
        self.assertTrue(carol_msgs[0].endswith(msgs[1][1]))

    def test_multiple_recipients_each_get_a_copy(self):
        alice = self.env.users["alice"]
        rcpts = [self.env.users[n] for n in ("bob", "carol", "dave")]
        msg = make_msg(self.env, alice.addr, rcpts[0].addr, "fanout", "hi all\r\n")
        self._send_auth(alice, [r.addr for r in rcpts], msg)
        for r in rcpts:
            got = self.env.fetch_all(r)
            self.assertEqual(len(got), 1, r.name)
            self.assertTrue(got[0][1].endswith(msg), r.name)

    def test_external_sender_to_local_user_needs_no_auth(self):
        bob = self.env.users["bob"]
        msg = make_msg(self.env, "someone@other.onion", bob.addr, "ext", "hi\r\n")
        self.assertEqual(self.env.send_external([bob.addr], msg,
                                                sender="someone@other.onion"), {})
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0][1].endswith(msg))
        self.assertIn(b"someone@other.onion", got[0][1].split(CRLF, 1)[0])

    def test_null_reverse_path_bounce_is_accepted(self):
        bob = self.env.users["bob"]
        msg = make_msg(self.env, "mailer-daemon@other.onion", bob.addr, "bounce",
                       "bounce\r\n")
        s = self.env.smtp()
        code, _ = s.mail("<>")
        self.assertEqual(code, 250)
        self.assertEqual(s.rcpt(bob.addr)[0], 250)
        self.assertEqual(s.data(msg)[0], 250)
        s.quit()
        self.assertEqual(self.env.mailbox_count(bob), 1)

    def test_unauthenticated_local_sender_is_rejected(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        s = self.env.smtp()
        code, _ = s.mail(alice.addr)
        if code == 250:
            code, _ = s.rcpt(bob.addr)
        self.assertIn(code, (530, 553), "local sender without AUTH accepted")
        s.close()
        self.assertEqual(self.env.mailbox_count(bob), 0)

    def test_local_sender_spoofing_variants_are_refused_without_auth(self):
        alice = self.env.users["alice"]
        d = self.env.domain
        for frm in ("ALICE@" + d.upper(), "Alice@" + d, "alice@" + d.upper(),
                    "alice+x@" + d, "postmaster@" + d, "nobody@" + d,
                    '"alice"@' + d, "@relay.onion:alice@" + d, "alice@" + d + "."):
            s = self.env.smtp()
            code, text = s.mail(frm)
            self.assertIn(code, (530, 553, 501), "MAIL FROM:<%s> -> %d %r"
                          % (frm, code, text))
            s.close()

    def test_authenticated_user_cannot_claim_other_local_address(self):
        alice, bob, carol = (self.env.users[n] for n in ("alice", "bob", "carol"))
        s = self.env.smtp_auth(bob)
        code, _ = s.mail(alice.addr)
        if code == 250:
            code, _ = s.rcpt(carol.addr)
        self.assertIn(code, (530, 553))
        s.close()
        self.assertEqual(self.env.mailbox_count(carol), 0)

    def test_rcpt_to_other_domain_is_refused_with_571(self):
        alice = self.env.users["alice"]
        s = self.env.smtp_auth(alice)
        self.assertEqual(s.mail(alice.addr)[0], 250)
        code, text = s.rcpt("someone@elsewhere.onion")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        s.close()

    def test_rcpt_to_unknown_local_user_is_refused(self):
        s = self.env.smtp()
        self.assertEqual(s.mail("x@remote.onion")[0], 250)
        code, _ = s.rcpt("nosuchuser@" + self.env.domain)
        self.assertEqual(code, 550)
        s.close()

    def test_ehlo_advertises_required_extensions(self):
        s = smtplib.SMTP("127.0.0.1", self.env.smtp_port, timeout=30)
        code, _ = s.ehlo("client.test")
        self.assertEqual(code, 250)
        for ext in ("starttls", "pipelining", "size", "8bitmime",
                    "enhancedstatuscodes"):
            self.assertTrue(s.has_extn(ext), ext)
        s.starttls(context=self.env.tls_context())
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("auth"))
        mechs = s.esmtp_features["auth"].upper().split()
        self.assertIn("PLAIN", mechs)
        self.assertIn("LOGIN", mechs)
        self.assertFalse(s.has_extn("starttls"))
        s.quit()

    def test_smtp_auth_login_mechanism_works(self):
        alice = self.env.users["alice"]
        s = self.env.smtp()
        s.user, s.password = alice.name, alice.smtp_pw
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        self.assertEqual(code, 235)
        s.quit()

    def test_mail_arriving_during_pop3_session_is_not_seen_until_next_session(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        self._send_auth(alice, [bob.addr],
                        make_msg(self.env, alice.addr, bob.addr, "first", "1\r\n"))
        p = self.env.pop3_login(bob)
        uid1 = p.uidl(1).split()[2]
        second = make_msg(self.env, alice.addr, bob.addr, "second", "2\r\n")
        self._send_auth(alice, [bob.addr], second)  # delivery while locked
        self.assertEqual(p.stat()[0], 1)
        p.dele(1)
        p.quit()
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        self.assertNotEqual(got[0][0], uid1)
        self.assertTrue(got[0][1].endswith(second))

    def test_pop3_errors_for_bad_message_numbers_and_states(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        self._send_auth(alice, [bob.addr],
                        make_msg(self.env, alice.addr, bob.addr, "e", "e\r\n"))
        p = self.env.pop3()
        with self.assertRaises(poplib.error_proto):
            p.stat()  # before authentication
        p.user(bob.name)
        p.pass_(bob.pop3_pw)
        for bad in ("RETR 0", "RETR 2", "RETR -1", "RETR x", "DELE 99",
                    "TOP 5 0", "LIST 7", "UIDL 3"):
            with self.assertRaises(poplib.error_proto, msg=bad):
                p._shortcmd(bad)
        p.dele(1)
        with self.assertRaises(poplib.error_proto):
            p.dele(1)  # already deleted
        p.rset()
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def test_partially_refused_recipients_still_deliver_to_valid_ones(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        msg = make_msg(self.env, alice.addr, bob.addr, "partial", "p\r\n")
        s = self.env.smtp_auth(alice)
        refused = s.sendmail(alice.addr, [bob.addr, "ghost@" + self.env.domain,
                                          "x@elsewhere.onion"], msg)
        s.quit()
        self.assertEqual(set(refused), {"ghost@" + self.env.domain,
                                        "x@elsewhere.onion"})
        self.assertEqual(self.env.mailbox_count(bob), 1)

    def test_domain_match_is_case_insensitive_and_duplicate_rcpt_delivers_once(self):
        bob = self.env.users["bob"]
        s = self.env.smtp()
        self.assertEqual(s.mail("x@remote.onion")[0], 250)
        self.assertEqual(s.rcpt("bob@" + self.env.domain.upper())[0], 250)
        code, _ = s.rcpt(bob.addr)
        self.assertIn(code, (250, 251))
        self.assertEqual(s.data(b"Subject: case\r\n\r\nx\r\n")[0], 250)
        s.quit()
        self.assertEqual(self.env.mailbox_count(bob), 1)

    def test_raw_smtp_pipelining_replies_in_order(self):
        bob = self.env.users["bob"]
        dom = self.env.domain.encode()
        c = raw_smtp_tls(self.env)
        c.send(b"MAIL FROM:<a@remote.onion>\r\nRCPT TO:<" + bob.addr.encode() +
               b">\r\nRCPT TO:<nobody@" + dom + b">\r\nDATA\r\n")
        codes = [c.smtp_reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 250, 550, 354])
        c.send(b"Subject: pipe\r\n\r\npiped\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        codes = [c.smtp_reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 250, 250, 221])
        c.close()
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0][1].endswith(b"Subject: pipe\r\n\r\npiped\r\n"))

    def test_raw_pop3_pipelining_replies_in_order(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        self._send_auth(alice, [bob.addr],
                        make_msg(self.env, alice.addr, bob.addr, "pp", "pp\r\n"))
        c = RawLine("127.0.0.1", self.env.pop3_port)
        c.readline()
        c.send(b"STLS\r\n")
        self.assertTrue(c.readline().startswith(b"+OK"))
        c.starttls(self.env.tls_context())
        c.send(b"USER bob\r\nPASS " + bob.pop3_pw.encode() +
               b"\r\nSTAT\r\nLIST\r\nQUIT\r\n")
        lines = []
        try:
            while True:
                lines.append(c.readline())
        except (EOFError, OSError):
            pass
        c.close()
        self.assertEqual(len(lines), 7, lines)
        self.assertTrue(all(l.startswith(b"+OK") for l in lines[:4]), lines)
        self.assertTrue(lines[2].startswith(b"+OK 1 "), lines)
        self.assertEqual(lines[5], b".\r\n")
        self.assertTrue(lines[6].startswith(b"+OK"))

    def test_concurrent_users_send_and_read_independently(self):
        names = ("bob", "carol", "dave")
        errors = []

        def worker(name):
            try:
                u = self.env.users[name]
                sent = []
                for i in range(3):
                    m = make_msg(self.env, "x@remote.onion", u.addr,
                                 "%s-%d" % (name, i), "for %s %d\r\n" % (name, i))
                    sent.append(m)
                    if self.env.send_external([u.addr], m) != {}:
                        errors.append((name, "refused"))
                got = [m for _, m in self.env.fetch_all(u)]
                if len(got) != 3 or not all(g.endswith(m) for g, m in zip(got, sent)):
                    errors.append((name, len(got)))
            except Exception as e:  # noqa: BLE001
                errors.append((name, repr(e)))

        threads = [threading.Thread(target=worker, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [], self.env.log_tail())

    def test_smtp_auth_plain_without_initial_response_and_abort(self):
        alice = self.env.users["alice"]
        s = self.env.smtp()
        self.assertEqual(s.docmd("AUTH", "PLAIN")[0], 334)
        self.assertEqual(s.docmd("*")[0], 501)  # client cancels (RFC 4954)
        self.assertEqual(s.docmd("AUTH", "PLAIN")[0], 334)
        token = base64.b64encode(b"\0" + alice.name.encode() + b"\0" +
                                 alice.smtp_pw.encode()).decode()
        self.assertEqual(s.docmd(token)[0], 235)
        s.quit()

    def test_pop3_capa_lists_stls_and_user(self):
        import poplib as pl
        p = pl.POP3("127.0.0.1", self.env.pop3_port, timeout=30)
        caps = p.capa()
        self.assertIn("STLS", caps)
        p.stls(context=self.env.tls_context())
        caps = p.capa()
        self.assertIn("USER", caps)
        self.assertIn("UIDL", caps)
        self.assertIn("TOP", caps)
        p.quit()


if __name__ == "__main__":
    unittest.main()
