"""Mail between two onionmaild servers (docs/federation.md), end to end.

Two real servers, A and B, each with a v3 onion name as its domain and
[relay] enabled. Their relay roles reach each other through a SOCKS5 proxy
that maps the onion names to the servers' loopback ports
(tests/integration/socks_map.py), standing in for Tor. (test_tor.py runs
servers behind a real private Tor network.) Real clients: Python smtplib and
swaks send, poplib reads.

What is checked: a message alice@A sends reaches bob@B byte-exact, with A's
Received header and B's own Return-Path; the reply to RCPT and to the final
dot is B's answer (an unknown user on B is refused at RCPT, 550 5.1.1); B
down gives 451 4.4.1 and nothing stays on A; an unauthenticated client, a
foreign sender or a name that is not a v3 onion get 550 5.7.1 and nothing is
asked of the proxy; local and remote recipients in one transaction both get
the message; one message reaches users of two servers, B and C (C, set to
relay to one server per message, gets 452 4.5.3 for a second), a list on
A reaches its members on B and C, and when
only B takes it (C refuses it at the final dot) alice gets 250 and a
delivery status report naming carol in her own mailbox; the relay role runs
under its own user with a seccomp filter.
"""

import base64
import hashlib
import os
import pwd
import shutil
import smtplib
import subprocess
import time
import unittest

from harness import TestEnv, crlf, retr_bytes  # noqa: F401
from harness_proc import children_of, status_fields
from socks_map import SocksMap


def onion_name(seed):
    """A valid v3 onion address for a 32-byte key derived from `seed`
    (rend-spec-v3: base32(pubkey || checksum[:2] || 0x03))."""
    pubkey = hashlib.sha256(seed.encode()).digest()
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


def message(sender, rcpt, subject, body):
    return crlf(
        "From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@test>\n\n%s\n"
        % (sender, rcpt, subject, subject.replace(" ", "-"), body)
    )


class FederationTest(unittest.TestCase):
    C_MAX_BYTES = 20000

    @classmethod
    def setUpClass(cls):
        cls.proxy = SocksMap({})
        cls.envs = []
        cls.a = cls._server("a")
        cls.b = cls._server("b")
        # C takes messages of at most C_MAX_BYTES octets, and relays a message
        # to one other server only.
        cls.c = cls._server("c", smtp={"max_message_bytes": cls.C_MAX_BYTES},
                            relay={"max_servers_per_message": 1})
        for env in (cls.a, cls.b, cls.c):
            cls.proxy.routes[env.domain + ":25"] = env.smtp_port
        cls.proxy.start()
        cls.alice = cls.a.add_user("alice")
        cls.bob = cls.b.add_user("bob")
        cls.carol = cls.c.add_user("carol")
        cls.dave = cls.b.add_user("dave")
        for env in (cls.a, cls.b, cls.c):
            env.start()

    @classmethod
    def _server(cls, name, smtp=None, relay=None):
        relay = dict({"enabled": True, "socks5_proxy": cls.proxy.address,
                      "connect_timeout_seconds": 20}, **(relay or {}))
        if name == "b":
            relay["require_tkim"] = True  # B takes onion senders only with a TKIM proof
        env = TestEnv(
            prefix="om-fed-%s-" % name,
            domain=onion_name("federation-%s-%d" % (name, os.getpid())),
            extra_config=dict({"relay": relay}, **({"smtp": smtp} if smtp else {})),
        )
        cls.envs.append(env)
        env.init()
        return env

    @classmethod
    def tearDownClass(cls):
        for env in cls.envs:
            env.cleanup()
        cls.proxy.stop()

    def setUp(self):
        self.proxy.refuse_all = False
        del self.proxy.requests[:]

    def send_as_alice(self, rcpts, msg, sender=None):
        s = self.a.smtp_auth(self.alice)
        try:
            if sender is None:
                sender = "alice@" + self.a.domain
            return s.sendmail(sender, rcpts, msg)
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                s.close()

    def a_mail_files(self):
        return self.a.mail_files()

    def test_mail_from_a_user_of_a_reaches_a_user_of_b_byte_exact(self):
        before = self.b.mailbox_count(self.bob)
        to = "bob@" + self.b.domain
        body = "Hello Bob.\n.a line that starts with a dot\n..and two\n" + ("x" * 70 + "\n") * 400
        msg = message("alice@" + self.a.domain, to, "fed one", body)
        self.assertEqual(self.send_as_alice([to], msg), {})
        self.assertEqual(self.proxy.requests, [self.b.domain + ":25"])
        got = [m for _, m in self.b.fetch_all(self.bob)][before:]
        self.assertEqual(len(got), 1)
        # B's Return-Path and Received header, then A's (the relay's), then
        # the message exactly as alice sent it.
        lines = got[0].split(b"\r\n", 3)
        self.assertEqual(lines[0], b"Return-Path: <alice@" + self.a.domain.encode() + b">")
        self.assertTrue(lines[1].startswith(b"Received: by " + self.b.domain.encode()), lines[1])
        # B checked with TKIM that the relaying server is A (docs/PROTOCOL.md "TKIM").
        self.assertIn(b"(TKIM " + self.a.domain.encode() + b")", lines[1])
        self.assertTrue(lines[2].startswith(b"Received: by " + self.a.domain.encode()), lines[2])
        self.assertTrue(lines[3] == msg, "message body differs")
        self.assertNotIn(b"127.0.0.1", got[0])

    def test_an_8bit_body_declared_8bitmime_reaches_b_byte_exact(self):
        before = self.b.mailbox_count(self.bob)
        to = "bob@" + self.b.domain
        msg = ("From: alice@%s\r\nTo: %s\r\nSubject: caf\u00e9\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               "\r\nna\u00efve \u20ac \u00fc\r\n" % (self.a.domain, to)).encode("utf-8")
        s = self.a.smtp_auth(self.alice)
        try:
            self.assertEqual(
                s.sendmail("alice@" + self.a.domain, [to], msg, mail_options=["BODY=8BITMIME"]), {})
        finally:
            s.quit()
        got = [m for _, m in self.b.fetch_all(self.bob)][before:]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].endswith(msg), "the 8-bit message differs")

    def test_tkim_key_gives_the_server_rsa_key_and_both_sides_log_the_proof(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_der_public_key
        s = self.a.smtp()
        try:
            self.assertTrue(s.has_extn("tkim"), s.esmtp_features)
            code, text = s.docmd("TKIM", "KEY")
        finally:
            s.quit()
        self.assertEqual(code, 250)
        self.assertTrue(text.startswith(b"2.0.0 "), text)
        key = load_der_public_key(base64.b64decode(text[6:], validate=True))
        self.assertIsInstance(key, rsa.RSAPublicKey)
        self.assertGreaterEqual(key.key_size, 2048)
        a_log, b_log = len(self.a.log_bytes()), len(self.b.log_bytes())
        to = "bob@" + self.b.domain
        self.assertEqual(
            self.send_as_alice([to], message("alice@" + self.a.domain, to, "tkim logs", "x")), {})
        self.a.wait_log(rb"tkim: the remote accepted this server's proof", start=a_log)
        b_tail = self.b.wait_log(rb"tkim check: sender authenticated", start=b_log)
        self.assertIn(b"TKIM: authenticated", b_tail)
        self.assertNotIn(self.a.domain.encode(), b_tail, "no onion name in B's log")

    def test_b_refuses_an_onion_sender_without_a_proof_and_a_bad_proof_is_501(self):
        before = self.b.mailbox_count(self.bob)
        to = "bob@" + self.b.domain
        forged = "alice@" + self.a.domain  # what any Tor client could claim
        with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
            self.b.send_external([to], message(forged, to, "forged", "y"), sender=forged)
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertIn(b"5.7.1", cm.exception.smtp_error)
        # A sender that is not an onion needs no proof, and gets no TKIM mark.
        other = "someone@example.org"
        self.assertEqual(self.b.send_external([to], message(other, to, "plain", "z"),
                                              sender=other), {})
        got = [m for _, m in self.b.fetch_all(self.bob)][before:]
        self.assertEqual(len(got), 1)
        received = got[0].split(b"\r\n", 2)[1]
        self.assertTrue(received.startswith(b"Received: by " + self.b.domain.encode()), received)
        self.assertNotIn(b"TKIM", received)
        # Refused proofs count as failed AUTH (max_auth_failures, default 3):
        # two are answered, the third ends the session with 421.
        s = self.b.smtp()
        try:
            for garbage in ("AAAA", "not*base64"):
                code, _ = s.docmd("TKIM", garbage)
                self.assertEqual(code, 501, garbage)
            code, _ = s.docmd("TKIM", "AQID")
            self.assertEqual(code, 421)
        finally:
            s.close()

    def test_swaks_sends_through_the_relay_and_b_has_the_message(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed")
        before = self.b.mailbox_count(self.bob)
        out = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.a.smtp_port), "--tls",
             "--tls-verify", "--tls-ca-path", self.a.cert_path, "--auth", "PLAIN",
             "--auth-user", "alice", "--auth-password", self.alice.smtp_pw,
             "--from", "alice@" + self.a.domain, "--to", "bob@" + self.b.domain,
             "--header", "Subject: via swaks", "--body", "swaks body"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr[-2000:])
        self.assertIn("250 2.0.0 Ok: delivered to the remote server", out.stdout)
        self.assertEqual(self.b.mailbox_count(self.bob), before + 1)

    def test_an_unknown_user_on_b_is_refused_at_rcpt_with_b_answer(self):
        to = "nobody@" + self.b.domain
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send_as_alice([to], message("alice@" + self.a.domain, to, "unknown", "x"))
        code, text = cm.exception.recipients[to]
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1 "), text)

    def test_b_unreachable_is_451_and_nothing_stays_on_a(self):
        files_before = self.a_mail_files()
        self.proxy.refuse_all = True
        to = "bob@" + self.b.domain
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send_as_alice([to], message("alice@" + self.a.domain, to, "down", "x"))
        code, text = cm.exception.recipients[to]
        self.assertEqual(code, 451)
        self.assertTrue(text.startswith(b"4.4.1 "), text)
        self.assertEqual(self.a_mail_files(), files_before)
        self.assertTrue(self.a.running())

    def test_a_message_past_the_hop_limit_on_arrival_at_b_is_554_546_for_alice(self):
        # RFC 5321 section 6.3: 100 Received headers pass A (its limit), A adds
        # its own, B counts 101 and refuses: a mail loop stops at the first
        # server past the limit and the sender hears of it.
        to = "bob@" + self.b.domain
        before = self.b.mailbox_count(self.bob)
        hops = "".join("Received: by hop%d.onion (loop)\n" % i for i in range(100))
        msg = crlf(hops) + message("alice@" + self.a.domain, to, "loop", "round and round")
        b_log = len(self.b.log_bytes())
        files_before = self.a_mail_files()
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send_as_alice([to], msg)
        self.assertEqual(cm.exception.smtp_code, 554)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.4.6 "), cm.exception.smtp_error)
        self.b.wait_log(rb"refused: 101 Received headers, a mail loop", start=b_log)
        self.assertEqual(self.b.mailbox_count(self.bob), before)
        self.assertEqual(self.a_mail_files(), files_before)
        # One hop fewer arrives.
        msg = crlf(hops[hops.index("\n") + 1:]) + message("alice@" + self.a.domain, to, "far",
                                                          "far but fine")
        self.assertEqual(self.send_as_alice([to], msg), {})
        self.assertEqual(self.b.mailbox_count(self.bob), before + 1)

    def test_relaying_needs_auth_an_own_sender_and_a_v3_onion(self):
        to = "bob@" + self.b.domain
        msg = message("x@elsewhere.test", to, "denied", "x")
        # No AUTH.
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.a.send_external([to], msg, sender="x@" + onion_name("someone"))
        self.assertEqual(cm.exception.recipients[to][0], 550)
        # Authenticated, but a null sender.
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send_as_alice([to], msg, sender="")
        self.assertEqual(cm.exception.recipients[to][0], 550)
        self.assertTrue(cm.exception.recipients[to][1].startswith(b"5.7.1 "))
        # Authenticated, to names that are not v3 onions (one letter of B's
        # name changed: its checksum no longer matches).
        other = "b" if self.b.domain[10] == "a" else "a"
        for bad in ("bob@example.com", "bob@aaaaaaaaaaaaaaaa.onion",
                    "bob@" + self.b.domain[:10] + other + self.b.domain[11:]):
            with self.subTest(bad=bad), self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                self.send_as_alice([bad], msg)
            self.assertEqual(cm.exception.recipients[bad][0], 550)
        self.assertEqual(self.proxy.requests, [])

    def test_a_copy_to_herself_and_the_message_to_bob_both_arrive(self):
        local, remote = "alice@" + self.a.domain, "bob@" + self.b.domain
        alice_before = self.a.mailbox_count(self.alice)
        bob_before = self.b.mailbox_count(self.bob)
        msg = message(local, remote, "mixed", "to Bob, a copy to me")
        self.assertEqual(self.send_as_alice([remote, local], msg), {})
        mine = [m for _, m in self.a.fetch_all(self.alice)][alice_before:]
        bobs = [m for _, m in self.b.fetch_all(self.bob)][bob_before:]
        self.assertEqual(len(mine), 1)
        self.assertEqual(len(bobs), 1)
        self.assertTrue(mine[0].endswith(msg))
        self.assertTrue(bobs[0].endswith(msg))
        self.assertTrue(mine[0].startswith(b"Return-Path: <" + local.encode() + b">\r\n"))
        self.assertRegex(self.a.log_tail(), r"relayed: 250, \d+ bytes, and 1 local recipient")

    def test_one_message_reaches_users_of_two_servers(self):
        to_b, to_c = "bob@" + self.b.domain, "carol@" + self.c.domain
        alice_before = self.a.mailbox_count(self.alice)
        bob_before = self.b.mailbox_count(self.bob)
        carol_before = self.c.mailbox_count(self.carol)
        msg = message("alice@" + self.a.domain, to_b + ", " + to_c, "two servers", "to both")
        start = len(self.a.log_bytes())
        self.assertEqual(self.send_as_alice([to_b, to_c], msg), {})
        bobs = [m for _, m in self.b.fetch_all(self.bob)][bob_before:]
        carols = [m for _, m in self.c.fetch_all(self.carol)][carol_before:]
        self.assertEqual(len(bobs), 1)
        self.assertEqual(len(carols), 1)
        self.assertTrue(bobs[0].endswith(msg))
        self.assertTrue(carols[0].endswith(msg))
        # A reached B and C (and they called A back for its TKIM key).
        self.assertLessEqual({self.b.domain + ":25", self.c.domain + ":25"},
                             set(self.proxy.requests))
        self.a.wait_log(rb"relayed to 2 of 2 remote servers, \d+ bytes", start=start)
        self.assertEqual(self.a.mailbox_count(self.alice), alice_before)  # no report

    def test_a_server_beyond_max_servers_per_message_gets_452(self):
        to_a, to_b = "alice@" + self.a.domain, "bob@" + self.b.domain
        alice_before = self.a.mailbox_count(self.alice)
        s = self.c.smtp_auth(self.carol)
        try:
            refused = s.sendmail("carol@" + self.c.domain, [to_a, to_b],
                                 message("carol@" + self.c.domain, to_a, "from c", "one only"))
        finally:
            s.quit()
        self.assertEqual(list(refused), [to_b])
        self.assertEqual(refused[to_b][0], 452)
        self.assertTrue(refused[to_b][1].startswith(b"4.5.3 Too many destination servers"))
        self.assertEqual(self.a.mailbox_count(self.alice), alice_before + 1)

    def test_when_only_one_server_takes_the_message_the_sender_gets_a_report(self):
        to_b, to_c = "bob@" + self.b.domain, "carol@" + self.c.domain
        alice_before = self.a.mailbox_count(self.alice)
        bob_before = self.b.mailbox_count(self.bob)
        carol_before = self.c.mailbox_count(self.carol)
        msg = message("alice@" + self.a.domain, to_b, "too big for c",
                      ("y" * 70 + "\n") * (self.C_MAX_BYTES // 70 + 10))
        s = self.a.smtp_auth(self.alice)
        try:
            # No SIZE in MAIL FROM, so that C refuses the message at the final
            # dot (552) after B has taken it, not at RCPT.
            self.assertEqual(s.mail("alice@" + self.a.domain)[0], 250)
            self.assertEqual(s.rcpt(to_b)[0], 250)
            self.assertEqual(s.rcpt(to_c)[0], 250)
            code, text = s.data(msg)
        finally:
            s.quit()
        self.assertEqual(code, 250, text)
        self.assertIn(b"report in your mailbox", text)
        self.assertEqual(self.b.mailbox_count(self.bob), bob_before + 1)
        self.assertEqual(self.c.mailbox_count(self.carol), carol_before)
        mine = [m for _, m in self.a.fetch_all(self.alice)][alice_before:]
        self.assertEqual(len(mine), 1)
        report = mine[0]
        self.assertTrue(report.startswith(b"Return-Path: <>\r\n"), report[:80])
        self.assertIn(b"report-type=delivery-status", report)
        self.assertIn(b"Final-Recipient: rfc822; " + to_c.encode() + b"\r\n", report)
        self.assertIn(b"Status: 5.3.4\r\n", report)
        self.assertIn(b"Diagnostic-Code: smtp; 552 5.3.4\r\n", report)
        self.assertIn(b"Subject: too big for c\r\n", report)  # the original's headers
        self.assertNotIn(to_b.encode(), report.split(b"text/rfc822-headers")[0])
        self.assertNotIn(b"y" * 70, report)  # not its body
        self.assertTrue(self.a.running())

    def ask_bot_as_alice(self, subject):
        """Sends `subject` to A's server@ as alice; returns the answer's bytes."""
        before = self.a.mailbox_count(self.alice)
        bot = "server@" + self.a.domain
        self.assertEqual(self.send_as_alice([bot], message("alice@" + self.a.domain, bot,
                                                           subject, "")), {})
        got = [m for _, m in self.a.fetch_all(self.alice)][before:]
        self.assertEqual(len(got), 1)
        return got[0]

    def test_a_list_on_a_reaches_its_members_on_b_and_c(self):
        to_b, to_c = "bob@" + self.b.domain, "carol@" + self.c.domain
        answer = self.ask_bot_as_alice("LIST crew CREATE")
        self.assertIn(b"crew.list@" + self.a.domain.encode(), answer)
        for who in (to_b, to_c):
            answer = self.ask_bot_as_alice("LIST crew ADD " + who.upper())
            self.assertIn(who.encode(), answer)  # shown as the member's address
        alice_before = self.a.mailbox_count(self.alice)
        bob_before = self.b.mailbox_count(self.bob)
        carol_before = self.c.mailbox_count(self.carol)
        crew = "crew.list@" + self.a.domain
        start = len(self.a.log_bytes())
        self.assertEqual(self.send_as_alice([crew], message("alice@" + self.a.domain, crew,
                                                            "to the crew", "hello crew")), {})
        self.a.wait_log(rb"list: 3 member\(s\) will get the message \(2 on 2 other server",
                        start=start)
        for env, user, before in ((self.b, self.bob, bob_before),
                                  (self.c, self.carol, carol_before),
                                  (self.a, self.alice, alice_before)):
            got = [m for _, m in env.fetch_all(user)][before:]
            self.assertEqual(len(got), 1, env.domain)
            self.assertIn(b"\r\nList-Id: <crew.list." + self.a.domain.encode() + b">", got[0])
            self.assertIn(b"\r\nSubject: to the crew\r\n", got[0])
            self.assertIn(b"hello crew", got[0])
        # The owner removes bob: the next post reaches carol and alice only.
        self.ask_bot_as_alice("LIST crew REMOVE " + to_b)
        self.assertEqual(self.send_as_alice([crew], message("alice@" + self.a.domain, crew,
                                                            "again", "x")), {})
        self.assertEqual(self.b.mailbox_count(self.bob), bob_before + 1)
        self.assertEqual(self.c.mailbox_count(self.carol), carol_before + 2)
        self.ask_bot_as_alice("LIST crew DESTROY")

    def test_a_member_on_b_posts_to_a_list_on_a_and_leaves_it_through_b(self):
        to_b, to_c = "bob@" + self.b.domain, "carol@" + self.c.domain
        self.ask_bot_as_alice("LIST band CREATE")
        for who in (to_b, to_c):
            self.ask_bot_as_alice("LIST band ADD " + who)
        alice_before = self.a.mailbox_count(self.alice)
        bob_before = self.b.mailbox_count(self.bob)
        carol_before = self.c.mailbox_count(self.carol)
        band = "band.list@" + self.a.domain
        start = len(self.a.log_bytes())
        # Bob sends from his own server B, which relays to A and proves
        # itself there (TKIM); A takes the post from him as a member.
        s = self.b.smtp_auth(self.bob)
        try:
            self.assertEqual(s.sendmail(to_b, [band], message(to_b, band, "from bob",
                                                              "hello band")), {})
        finally:
            s.quit()
        # Dave, at the same server but no member, gets A's refusal.
        s = self.b.smtp_auth(self.dave)
        try:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as refused:
                s.sendmail("dave@" + self.b.domain, [band],
                           message("dave@" + self.b.domain, band, "from dave", "x"))
            code, _ = refused.exception.recipients[band]
            self.assertEqual(code, 550)
        finally:
            s.quit()
        self.a.wait_log(rb"list: a member at another server posts: 3 member\(s\) will get the "
                        rb"message \(2 on 2 other server", start=start)
        # A's key role took the vouch of A's relay role for B (the front end
        # alone could not have named bob as the poster).
        a_log = self.a.log_bytes()[start:]
        for fault in (b"tkim vouch", b"relay role's vouch", b"no vouches",
                      b"has not proved itself"):
            self.assertNotIn(fault, a_log)
        a_domain = self.a.domain.encode()
        alices = [m for _, m in self.a.fetch_all(self.alice)][alice_before:]
        self.assertEqual(len(alices), 1)
        # Alice's copy: bob's path, B named as the proven relay, the list's fields.
        self.assertTrue(alices[0].startswith(b"Return-Path: <" + to_b.encode() + b">\r\n"))
        self.assertIn(b"(TKIM " + self.b.domain.encode() + b")", alices[0])
        self.assertIn(b"\r\nList-Id: <band.list." + a_domain + b">", alices[0])
        # Bob (his own copy) and carol get it from the list's address.
        for env, user, before in ((self.b, self.bob, bob_before),
                                  (self.c, self.carol, carol_before)):
            got = [m for _, m in env.fetch_all(user)][before:]
            self.assertEqual(len(got), 1, env.domain)
            self.assertTrue(got[0].startswith(b"Return-Path: <band.list@" + a_domain + b">"))
            self.assertIn(b"\r\nSubject: from bob\r\n", got[0])
            self.assertIn(b"hello band", got[0])
        self.assertEqual(self.a.mailbox_count(self.alice), alice_before + 1)  # dave's: nothing

        # Bob leaves through B as List-Unsubscribe says (server@A, LIST band
        # LEAVE); A answers at the final dot and writes no message. Any
        # other command from him is refused.
        bot = "server@" + self.a.domain
        s = self.b.smtp_auth(self.bob)
        try:
            with self.assertRaises(smtplib.SMTPDataError) as refused:
                s.sendmail(to_b, [bot], message(to_b, bot, "HELP", ""))
            self.assertEqual(refused.exception.smtp_code, 550)
            self.assertEqual(s.sendmail(to_b, [bot], message(to_b, bot, "LIST band LEAVE", "")),
                             {})
        finally:
            s.quit()
        members = self.ask_bot_as_alice("LIST band MEMBERS")
        self.assertIn(to_c.encode(), members)
        self.assertNotIn(to_b.encode(), members)
        self.assertEqual(self.b.mailbox_count(self.bob), bob_before + 1)  # no answer sent
        self.ask_bot_as_alice("LIST band DESTROY")

    def test_a_post_by_a_member_on_b_to_a_moderated_list_on_a_is_held_for_alice_alone(self):
        to_b, to_c = "bob@" + self.b.domain, "carol@" + self.c.domain
        self.ask_bot_as_alice("LIST desk CREATE")
        for who in (to_b, to_c):
            self.ask_bot_as_alice("LIST desk ADD " + who)
        self.assertIn(b"is a moderated list now", self.ask_bot_as_alice("LIST desk MODERATE"))
        alice_before = self.a.mailbox_count(self.alice)
        bob_before = self.b.mailbox_count(self.bob)
        carol_before = self.c.mailbox_count(self.carol)
        desk = "desk.list@" + self.a.domain
        start = len(self.a.log_bytes())
        s = self.b.smtp_auth(self.bob)
        try:
            self.assertEqual(s.sendmail(to_b, [desk], message(to_b, desk, "for the desk",
                                                              "please")), {})
        finally:
            s.quit()
        self.a.wait_log(rb"list: a post held for the owner's approval", start=start)
        held = [m for _, m in self.a.fetch_all(self.alice)][alice_before:]
        self.assertEqual(len(held), 1)
        self.assertIn(b"\r\nX-List-Held: <" + desk.encode() + b">;", held[0])
        self.assertIn(b"(TKIM " + self.b.domain.encode() + b")", held[0])
        # Nothing went back to B or on to C.
        self.assertEqual(self.b.mailbox_count(self.bob), bob_before)
        self.assertEqual(self.c.mailbox_count(self.carol), carol_before)
        self.ask_bot_as_alice("LIST desk DESTROY")

    def test_the_relay_role_runs_under_its_own_user_with_seccomp(self):
        for env in (self.a, self.b):
            deadline = time.monotonic() + 10  # started with the others, maybe not yet up
            pid = None
            while pid is None and time.monotonic() < deadline:
                pid = children_of(env.proc.pid).get("onionmail-relay")
                time.sleep(0 if pid else 0.1)
            self.assertIsNotNone(pid, "no relay role under onionmaild")
            fields = status_fields(pid)
            self.assertEqual(fields["Seccomp"], "2")
            self.assertEqual(fields["NoNewPrivs"], "1")
            if os.geteuid() == 0:
                uid = int(fields["Uid"].split()[0])
                self.assertEqual(pwd.getpwuid(uid).pw_name, "onionmail-relay")
        # The log names the role as started.
        for env in (self.a, self.b):
            self.assertIn(b"roles key, smtp, pop3, peer, relay", env.log_bytes())


if __name__ == "__main__":
    unittest.main()
