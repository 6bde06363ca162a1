"""The exit direction of a gateway (docs/gateways.md), end to end.

Three real servers with v3 onion names and [relay] enabled, reaching one
another through a SOCKS5 proxy that maps onion names to loopback ports
(socks_map.py, standing in for Tor): E, a gateway with [exit] domain =
mail.exit.test and [exit] smarthost at a Python STARTTLS sink (smtp_sink.py,
standing in for the operator's MTA); B, whose users' Internet mail goes to E
([relay] exit_gateway); C, with no exit gateway. E's operator gives alice@B
the alias alice@mail.exit.test. Real client: Python smtplib, logged in on B.

What is checked: alice's mail to bob@example.com reaches the sink from
alice@mail.exit.test, greeted as mail.exit.test, with the header rewritten
(From the alias, the Message-ID at the exit domain, one Received field: E's,
naming the exit domain) and
no onion name anywhere in the envelope or the header, the body as sent;
nothing stays on E or B. A header naming another onion (Cc) is 550 5.7.1 at
the final dot and the sink gets nothing. A user of B without an alias at E
gets 550 5.7.1 at RCPT. A user of C (no exit gateway) gets 550 5.7.1, as
before. E's own user with an alias (VMAT ON) sends to the Internet too.
E lists B in [exit] vmat_servers: dave@B asks server@ on B for VMAT ON
dave.b, B asks E over SMTP VMAT (TKIM-proven), and dave gets
dave.b@mail.exit.test: mail from the Internet to it reaches him, his mail
to the Internet leaves from it, and VMAT OFF removes it.
"""

import os
import smtplib
import unittest

from harness import TestEnv, crlf
from smtp_sink import SmtpSink
from socks_map import SocksMap
from test_federation import onion_name

EXIT = "mail.exit.test"


class ExitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = SocksMap({})
        cls.sink = SmtpSink()
        cls.envs = []
        relay = {"enabled": True, "socks5_proxy": cls.proxy.address,
                 "connect_timeout_seconds": 20}
        # E takes aliases asked for by B for its users (SMTP VMAT).
        cls.e = cls._server("e", {"relay": relay,
                                  "exit": {"domain": EXIT, "smarthost": cls.sink.address,
                                           "vmat_servers": [cls._domain("b")]}})
        cls.b = cls._server("b", {"relay": dict(relay, exit_gateway=cls.e.domain)})
        cls.c = cls._server("c", {"relay": relay})
        for env in (cls.e, cls.b, cls.c):
            cls.proxy.routes[env.domain + ":25"] = env.smtp_port
        cls.proxy.start()
        cls.alice = cls.b.add_user("alice")
        cls.bob = cls.b.add_user("bob")
        cls.carol = cls.c.add_user("carol")
        cls.dave = cls.b.add_user("dave")
        cls.erin = cls.e.add_user("erin")
        cls.e.ctl("vmat", "add", "alice", "alice@" + cls.b.domain)
        for env in cls.envs:
            env.start()

    @staticmethod
    def _domain(name):
        return onion_name("exit-%s-%d" % (name, os.getpid()))

    @classmethod
    def _server(cls, name, config):
        env = TestEnv(prefix="om-exit-%s-" % name, domain=cls._domain(name),
                      extra_config=config)
        cls.envs.append(env)
        env.init()
        return env

    @classmethod
    def tearDownClass(cls):
        for env in cls.envs:
            env.cleanup()
        cls.proxy.stop()
        cls.sink.stop()

    def send(self, env, user, rcpts, msg):
        s = env.smtp_auth(user)
        try:
            return s.sendmail(user.addr, rcpts, msg)
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                s.close()

    def assert_no_onion(self, data):
        self.assertNotIn(b".onion", data.lower())

    def test_mail_to_the_internet_leaves_under_the_alias_with_no_onion_in_the_header(self):
        before = len(self.sink.messages)
        msg = crlf("From: Alice <%s>\nTo: bob@example.com\nSubject: hello\n"
                   "Message-ID: <m1@%s>\n\nHello from the onion side.\n"
                   % (self.alice.addr, self.b.domain))
        self.assertEqual(self.send(self.b, self.alice, ["bob@example.com"], msg), {})
        self.assertEqual(len(self.sink.messages), before + 1)
        mail_from, rcpts, data = self.sink.messages[-1]
        self.assertEqual(mail_from, "alice@" + EXIT)
        self.assertEqual(rcpts, ["bob@example.com"])
        header, _, body = data.partition(b"\r\n\r\n")
        self.assert_no_onion(header)
        self.assertIn(b"From: Alice <alice@" + EXIT.encode() + b">\r\n", header)
        self.assertIn(b"\r\nMessage-ID: <m1@" + EXIT.encode() + b">", header + b"\r\n")
        # One trace field, the gateway's own (RFC 5321 section 4.4), naming
        # the exit domain; B's and E's onion-naming ones are gone.
        received = [line for line in header.split(b"\r\n") if line.startswith(b"Received:")]
        self.assertEqual(len(received), 1, received)
        self.assertTrue(received[0].startswith(b"Received: by " + EXIT.encode() + b" (onionmaild)"),
                        received)
        self.assertEqual(body, b"Hello from the onion side.\r\n")
        self.assertIn(EXIT, self.sink.ehlo_names)
        for name in self.sink.ehlo_names:
            self.assertNotIn(".onion", name)
        self.assertEqual(self.e.mail_files(), [])

    def test_a_header_naming_another_onion_is_refused_and_nothing_leaves(self):
        before = len(self.sink.messages)
        msg = crlf("From: %s\nTo: bob@example.com\nCc: %s\nSubject: leak\n\nx\n"
                   % (self.alice.addr, self.carol.addr))
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(self.b, self.alice, ["bob@example.com"], msg)
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.7.1 "), cm.exception.smtp_error)
        self.assertEqual(len(self.sink.messages), before)

    def test_a_sender_without_an_alias_at_the_gateway_is_550_571(self):
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send(self.b, self.bob, ["someone@example.com"],
                      crlf("From: %s\nSubject: x\n\nx\n" % self.bob.addr))
        code, text = cm.exception.recipients["someone@example.com"]
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1 "), text)

    def test_a_server_without_an_exit_gateway_refuses_internet_recipients(self):
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send(self.c, self.carol, ["someone@example.com"],
                      crlf("From: %s\nSubject: x\n\nx\n" % self.carol.addr))
        code, text = cm.exception.recipients["someone@example.com"]
        self.assertEqual(code, 550)
        self.assertEqual(text, b"5.7.1 Relaying denied")

    def test_the_gateways_own_user_sends_under_their_own_alias(self):
        s = self.e.smtp_auth(self.erin)
        try:
            s.sendmail(self.erin.addr, ["server@" + self.e.domain],
                       crlf("From: %s\nSubject: VMAT ON\n\n" % self.erin.addr))
        finally:
            s.quit()
        before = len(self.sink.messages)
        msg = crlf("From: %s\nTo: dave@example.com\nSubject: hi\n\nfrom erin\n"
                   % self.erin.addr)
        self.assertEqual(self.send(self.e, self.erin, ["dave@example.com"], msg), {})
        self.assertEqual(len(self.sink.messages), before + 1)
        mail_from, _, data = self.sink.messages[-1]
        self.assertEqual(mail_from, "erin@" + EXIT)
        self.assert_no_onion(data.partition(b"\r\n\r\n")[0])

    def ask_bot(self, env, user, subject):
        """Sends `subject` to server@ and returns the bot's answer's body."""
        self.assertEqual(self.send(env, user, ["server@" + env.domain],
                                   crlf("From: %s\nSubject: %s\n\n" % (user.addr, subject))), {})
        line = b"\r\nSubject: Re: " + subject.encode() + b"\r\n"
        answers = [m for _, m in env.fetch_all(user) if line in m]
        self.assertEqual(len(answers), 1, "one answer from server@ (each subject asked once)")
        return answers[0].partition(b"\r\n\r\n")[2].decode()

    def test_a_user_of_a_listed_server_gets_an_alias_at_the_gateway_through_server_at(self):
        alias = "dave.b@" + EXIT
        answer = self.ask_bot(self.b, self.dave, "VMAT ON dave.b")
        self.assertIn("Your Internet address: " + alias, answer)
        self.assertIn("Your Internet address: " + alias, self.ask_bot(self.b, self.dave, "VMAT"))
        # Mail from the Internet to the alias reaches dave's mailbox on B.
        s = smtplib.SMTP("127.0.0.1", self.e.smtp_port, timeout=60)
        try:
            s.starttls()
            self.assertEqual(s.sendmail("someone@example.com", [alias],
                                        crlf("Subject: to the alias\n\nhello dave\n")), {})
        finally:
            s.quit()
        got = [m for _, m in self.b.fetch_all(self.dave) if b"Subject: to the alias" in m]
        self.assertEqual(len(got), 1)
        self.assertIn(b"hello dave", got[0])
        # Mail dave sends to the Internet leaves under the alias.
        before = len(self.sink.messages)
        msg = crlf("From: %s\nTo: x@example.com\nSubject: out\n\nfrom dave\n" % self.dave.addr)
        self.assertEqual(self.send(self.b, self.dave, ["x@example.com"], msg), {})
        self.assertEqual(len(self.sink.messages), before + 1)
        self.assertEqual(self.sink.messages[-1][0], alias)
        # Another name is refused while dave has this one; OFF removes it.
        self.assertIn("already have another",
                      self.ask_bot(self.b, self.dave, "VMAT ON dave.two"))
        self.assertIn(alias + " is removed", self.ask_bot(self.b, self.dave, "VMAT OFF"))
        self.assertIn("no Internet address", self.ask_bot(self.b, self.dave, "VMAT SHOW"))
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            self.send(self.b, self.dave, ["x@example.com"], msg)

    def test_without_an_exit_gateway_vmat_is_not_a_command(self):
        self.assertIn("not understood", self.ask_bot(self.c, self.carol, "VMAT ON"))


if __name__ == "__main__":
    unittest.main()
