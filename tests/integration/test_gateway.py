"""An enter gateway (docs/gateways.md), end to end.

Two real servers with v3 onion names and [relay] enabled: E, an enter
gateway with [exit] domain = mail.gateway.test, and B, where alice has her
mailbox. E's relay role reaches B through a SOCKS5 proxy mapping onion names
to loopback ports (tests/integration/socks_map.py), standing in for Tor.
The operator of E maps the VMAT alias "alice" to alice@B with
`onionmailctl vmat add`. Real clients: Python smtplib (an Internet MTA,
STARTTLS, no AUTH) and swaks send to E; poplib reads on B.

What is checked: mail to Alice@mail.gateway.test reaches alice's inbox on B
byte-exact under B's Return-Path (the Internet sender's) and E's Received
header, with nothing left on E's disk and neither the alias nor B's onion in
E's log or in E's replies; the null sender (a bounce) is carried as such;
an unknown alias is 550 5.1.1 with nothing asked of the proxy, and the
eleventh in one connection ends it with 421 4.7.0; a second
onion server or a local user in one transaction without a login is 452;
postmaster@ the exit domain is E's own postmaster; B down is 451 4.4.1;
onionmailctl vmat show/list/remove; a removed alias is 550. E listens on
every address: a client from a non-loopback address of this machine (an
Internet MTA) is offered no AUTH, gets 502 5.7.0 for it and 550 5.7.1 for a
recipient but at the exit domain, and still reaches alice; it may hold two
connections at once ([exit] max_connections_per_address = 2), a third gets
421 4.7.0 while loopback clients are still served, and a closed one frees its
slot; one that connects more than [exit] connections_per_minute_per_address
times a minute gets 421 4.7.0 until its allowance refills (a gateway of its
own). erin, a user of E,
makes her own address erin@mail.gateway.test with server@ VMAT ON, gets mail
from the Internet at it, and removes it with VMAT OFF.
"""

import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from harness import TestEnv, crlf
from socks_map import SocksMap
from test_federation import onion_name

EXIT = "mail.gateway.test"


def message(sender, rcpt, subject, body):
    return crlf("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@internet.test>\n\n%s\n"
                % (sender, rcpt, subject, subject.replace(" ", "-"), body))


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = SocksMap({})
        cls.envs = []
        relay = {"enabled": True, "socks5_proxy": cls.proxy.address,
                 "connect_timeout_seconds": 20}
        cls.e = cls._server("e", {"relay": relay,
                                 "exit": {"domain": EXIT, "max_connections_per_address": 2}})
        listen_on_every_address(cls.e)
        cls.b = cls._server("b", {"relay": relay})
        cls.c = cls._server("c", {"relay": relay})
        for env in (cls.e, cls.b, cls.c):
            cls.proxy.routes[env.domain + ":25"] = env.smtp_port
        cls.proxy.start()
        cls.alice = cls.b.add_user("alice")
        cls.carol = cls.c.add_user("carol")
        cls.postmaster = cls.e.add_user("postmaster")
        cls.erin = cls.e.add_user("erin")
        cls.e.ctl("vmat", "add", "Alice@" + EXIT, "alice@" + cls.b.domain)
        cls.e.ctl("vmat", "add", "carol", "carol@" + cls.c.domain)
        cls.e.ctl("vmat", "add", "erin.e", "erin@" + cls.e.domain)
        for env in cls.envs:
            env.start()

    @classmethod
    def _server(cls, name, config):
        env = TestEnv(prefix="om-gw-%s-" % name,
                      domain=onion_name("gateway-%s-%d" % (name, os.getpid())),
                      extra_config=config)
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

    def e_mail_files(self):
        return self.e.mail_files()

    def send_from_internet(self, rcpts, msg, sender="someone@internet.test"):
        s = self.e.smtp()
        try:
            return s.sendmail(sender, rcpts, msg)
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                s.close()

    def test_mail_to_an_alias_reaches_the_onion_mailbox_byte_exact_and_nothing_stays_on_e(self):
        files_before = self.e_mail_files()
        log_start = len(self.e.log_bytes())
        before = self.b.mailbox_count(self.alice)
        to = "Alice@" + EXIT
        body = "Hello Alice, from the Internet.\n.a dotted line\n" + ("y" * 70 + "\n") * 200
        msg = message("someone@internet.test", to, "gateway one", body)
        s = self.e.smtp()
        try:
            s.mail("someone@internet.test")
            code, text = s.rcpt(to)
            self.assertEqual(code, 250, text)
            code, text = s.data(msg)
            self.assertEqual(code, 250, text)
            self.assertNotIn(self.b.domain.encode(), text)
        finally:
            s.quit()
        self.assertEqual(self.proxy.requests, [self.b.domain + ":25"])
        got = [m for _, m in self.b.fetch_all(self.alice)][before:]
        self.assertEqual(len(got), 1)
        lines = got[0].split(b"\r\n", 3)
        self.assertEqual(lines[0], b"Return-Path: <someone@internet.test>")
        self.assertTrue(lines[1].startswith(b"Received: by " + self.b.domain.encode()), lines[1])
        self.assertIn(b"(TKIM " + self.e.domain.encode() + b")", lines[1])
        self.assertTrue(lines[2].startswith(b"Received: by " + self.e.domain.encode()), lines[2])
        self.assertTrue(lines[3] == msg, "message body differs")
        self.assertEqual(self.e_mail_files(), files_before)
        log = self.e.log_bytes()[log_start:]
        self.assertNotIn(self.b.domain.encode(), log)
        self.assertNotIn(b"alice", log.lower())

    def test_swaks_as_an_internet_mta_reaches_alice(self):
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed")
        before = self.b.mailbox_count(self.alice)
        out = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.e.smtp_port), "--tls",
             "--tls-verify", "--tls-ca-path", self.e.cert_path,
             "--from", "mta@internet.test", "--to", "alice@" + EXIT,
             "--header", "Subject: via swaks", "--body", "swaks body"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout[-2000:] + out.stderr[-2000:])
        self.assertIn("250 2.0.0 Ok: delivered to the remote server", out.stdout)
        self.assertEqual(self.b.mailbox_count(self.alice), before + 1)

    def test_a_bounce_with_the_null_sender_is_carried_as_such(self):
        before = self.b.mailbox_count(self.alice)
        to = "alice@" + EXIT
        self.assertEqual(self.send_from_internet([to], message("MAILER-DAEMON@internet.test", to,
                                                               "bounce", "undeliverable"),
                                                 sender=""), {})
        got = [m for _, m in self.b.fetch_all(self.alice)][before:]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].startswith(b"Return-Path: <>\r\n"), got[0][:80])

    def test_an_unknown_alias_is_550_511_and_nothing_is_asked_of_the_proxy(self):
        to = "nemo@" + EXIT
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send_from_internet([to], message("someone@internet.test", to, "nemo", "x"))
        code, text = cm.exception.recipients[to]
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1 "), text)
        self.assertEqual(self.proxy.requests, [])

    def test_guessing_aliases_ends_the_connection_after_ten_unknown_names(self):
        s = self.e.smtp()
        try:
            self.assertEqual(s.mail("someone@internet.test")[0], 250)
            for i in range(10):  # [smtp] max_unknown_recipients = 10
                code, text = s.rcpt("guess%d@%s" % (i, EXIT))
                self.assertEqual(code, 550, text)
            self.assertEqual(s.rcpt("alice@" + EXIT)[0], 250)  # a real alias still goes
            code, text = s.rcpt("guess10@" + EXIT)
            self.assertEqual(code, 421, text)
            self.assertTrue(text.startswith(b"4.7.0 "), text)
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                s.noop()
        finally:
            s.close()
        log = self.e.log_bytes()
        self.assertIn(b"closing: too many unknown recipients", log)
        self.assertNotIn(b"guess", log)

    def test_without_a_login_one_server_per_transaction(self):
        before = self.b.mailbox_count(self.alice)
        rcpts = ["alice@" + EXIT, "carol@" + EXIT, "postmaster@" + EXIT]
        refused = self.send_from_internet(rcpts, message("someone@internet.test", rcpts[0],
                                                         "three", "x"))
        self.assertEqual(sorted(refused), sorted(rcpts[1:]))
        for rcpt in rcpts[1:]:
            self.assertEqual(refused[rcpt][0], 452)
        self.assertEqual(self.b.mailbox_count(self.alice), before + 1)
        self.assertEqual(self.proxy.requests, [self.b.domain + ":25"])

    def test_postmaster_and_an_alias_of_a_local_user_are_delivered_on_e(self):
        pm_before = self.e.mailbox_count(self.postmaster)
        erin_before = self.e.mailbox_count(self.erin)
        for to in ("Postmaster@" + EXIT, "erin.e@" + EXIT):
            self.assertEqual(self.send_from_internet([to], message("abuse-report@internet.test",
                                                                   to, "local", "x")), {})
        self.assertEqual(self.e.mailbox_count(self.postmaster), pm_before + 1)
        self.assertEqual(self.e.mailbox_count(self.erin), erin_before + 1)
        self.assertEqual(self.proxy.requests, [])

    def test_b_unreachable_is_451_441_and_nothing_stays_on_e(self):
        files_before = self.e_mail_files()
        self.proxy.refuse_all = True
        to = "alice@" + EXIT
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send_from_internet([to], message("someone@internet.test", to, "down", "x"))
        code, text = cm.exception.recipients[to]
        self.assertEqual(code, 451)
        self.assertTrue(text.startswith(b"4.4.1 "), text)
        self.assertEqual(self.e_mail_files(), files_before)
        self.assertTrue(self.e.running())

    def test_onionmailctl_status_names_the_exit_domain(self):
        self.assertIn("enter gateway for: %s" % EXIT, self.e.ctl("status").stdout.decode())
        self.assertNotIn("enter gateway", self.b.ctl("status").stdout.decode())

    def test_onionmailctl_vmat_show_list_and_remove(self):
        shown = self.e.ctl("vmat", "show", "alice")
        self.assertEqual(shown.stdout.decode(),
                         "alice@%s -> alice@%s (sends)\n" % (EXIT, self.b.domain))
        listed = self.e.ctl("vmat", "list").stdout.decode().splitlines()
        self.assertIn("carol@%s -> carol@%s (sends)" % (EXIT, self.c.domain), listed)
        self.assertEqual(listed[-1], "3 VMAT alias(es)")
        again = self.e.ctl("vmat", "add", "alice", "carol@" + self.c.domain, check=False)
        self.assertEqual(again.returncode, 1)
        bad = self.e.ctl("vmat", "add", "postmaster", "alice@" + self.b.domain, check=False)
        self.assertEqual(bad.returncode, 2)
        self.e.ctl("vmat", "add", "temp", "carol@" + self.c.domain)
        self.e.ctl("vmat", "remove", "temp@" + EXIT)
        to = "temp@" + EXIT
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send_from_internet([to], message("someone@internet.test", to, "gone", "x"))
        self.assertEqual(cm.exception.recipients[to][0], 550)
        # No alias, no onion in the clear on E's disk.
        for base, _, files in os.walk(os.path.join(self.e.state_dir, "vmat")):
            for name in files:
                with open(os.path.join(base, name), "rb") as f:
                    data = f.read()
                self.assertNotIn(self.c.domain[:20].encode(), data)
                self.assertNotIn(b"carol", data)

    def test_an_internet_client_gets_no_login_and_only_the_exit_domain(self):
        addr = non_loopback_ipv4()
        if addr is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        before = self.b.mailbox_count(self.alice)
        s = smtplib.SMTP(addr, self.e.smtp_port, timeout=30)
        try:
            s.ehlo("mta.internet.test")
            ctx = ssl.create_default_context(cafile=self.e.cert_path)
            ctx.check_hostname = False
            s.starttls(context=ctx)
            code, ehlo = s.ehlo("mta.internet.test")
            self.assertEqual(code, 250)
            self.assertNotIn(b"AUTH", ehlo)
            self.assertNotIn(b"TKIM", ehlo)
            code, text = s.docmd("AUTH", "PLAIN AGVyaW4AeA==")
            self.assertEqual(code, 502, text)
            self.assertTrue(text.startswith(b"5.7.0 "), text)
            s.mail("someone@internet.test")
            code, text = s.rcpt("erin@" + self.e.domain)
            self.assertEqual((code, text), (550, b"5.7.1 Relaying denied"))
            code, _ = s.rcpt("alice@" + EXIT)
            self.assertEqual(code, 250)
            code, _ = s.data(message("someone@internet.test", "alice@" + EXIT, "from far", "x"))
            self.assertEqual(code, 250)
        finally:
            s.quit()
        self.assertEqual(self.b.mailbox_count(self.alice), before + 1)
        # From loopback (Tor's side), AUTH is offered as on any server.
        s = self.e.smtp()
        try:
            self.assertIn(b"AUTH", s.ehlo("client.test")[1])
            s.login("erin", self.erin.smtp_pw)
        finally:
            s.quit()

    def ask_bot_as_erin(self, subject):
        before = self.e.mailbox_count(self.erin)
        bot = "server@" + self.e.domain
        s = self.e.smtp_auth(self.erin)
        try:
            self.assertEqual(s.sendmail("erin@" + self.e.domain, [bot],
                                        message("erin@" + self.e.domain, bot, subject, "")), {})
        finally:
            s.quit()
        got = [m for _, m in self.e.fetch_all(self.erin)][before:]
        self.assertEqual(len(got), 1)
        return got[0]

    def test_server_vmat_on_gives_erin_her_own_internet_address_and_off_removes_it(self):
        to = "erin@" + EXIT
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            self.send_from_internet([to], message("someone@internet.test", to, "before", "x"))
        answer = self.ask_bot_as_erin("VMAT ON")
        self.assertIn(b"Your Internet address: " + to.encode(), answer)
        self.assertEqual(self.e.ctl("vmat", "show", "erin").stdout.decode(),
                         "%s -> erin@%s (sends)\n" % (to, self.e.domain))
        before = self.e.mailbox_count(self.erin)
        self.assertEqual(self.send_from_internet([to], message("someone@internet.test", to,
                                                               "hello erin", "x")), {})
        self.assertEqual(self.e.mailbox_count(self.erin), before + 1)
        self.assertIn(b"removed", self.ask_bot_as_erin("VMAT OFF"))
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            self.send_from_internet([to], message("someone@internet.test", to, "after", "x"))
        self.assertNotIn(b"erin", self.e.log_bytes().lower())

    def test_one_internet_address_holds_two_connections_and_loopback_clients_do_not_count(self):
        addr = non_loopback_ipv4()
        if addr is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        held = []
        try:
            for _ in range(2):  # [exit] max_connections_per_address = 2
                held.append(socket.create_connection((addr, self.e.smtp_port), timeout=30))
                self.assertTrue(first_line(held[-1]).startswith(b"220 "))
            with socket.create_connection((addr, self.e.smtp_port), timeout=30) as third:
                self.assertEqual(first_line(third),
                                 b"421 4.7.0 Too many connections from your address")
            s = self.e.smtp()  # a Tor client (loopback) is still served
            self.assertEqual(s.noop()[0], 250)
            s.quit()
            held.pop().close()  # its session ends and gives the slot back
            deadline = time.monotonic() + 20
            while True:
                with socket.create_connection((addr, self.e.smtp_port), timeout=30) as again:
                    if first_line(again).startswith(b"220 "):
                        break
                self.assertLess(time.monotonic(), deadline, "the slot never came back")
                time.sleep(0.2)
        finally:
            for s in held:
                s.close()
        log = self.e.log_bytes()
        self.assertIn(b"connection refused: too many from one Internet address", log)
        self.assertNotIn(addr.encode(), log)


class InternetClientRateTest(unittest.TestCase):
    """[exit] connections_per_minute_per_address: an Internet address that
    opens connections faster than its allowance gets 421 4.7.0 and a log line
    without the address, Tor's side (loopback) is still served, and the
    allowance refills with time. A gateway of its own (nothing relayed), so
    the other tests' Internet connections do not share its allowance."""

    RATE = 20  # a minute: one more every 3 s

    @classmethod
    def setUpClass(cls):
        # Nothing is relayed: the proxy is never asked.
        cls.e = TestEnv(prefix="om-gw-rate-", domain=onion_name("gateway-rate-%d" % os.getpid()),
                        extra_config={"relay": {"enabled": True,
                                                "socks5_proxy": "127.0.0.1:9"},
                                      "exit": {"domain": EXIT,
                                               "connections_per_minute_per_address": cls.RATE}})
        cls.e.init()
        listen_on_every_address(cls.e)
        cls.e.start()

    @classmethod
    def tearDownClass(cls):
        cls.e.cleanup()

    def greeting(self, addr):
        with socket.create_connection((addr, self.e.smtp_port), timeout=30) as sock:
            line = first_line(sock)
            if line.startswith(b"220 "):
                sock.sendall(b"QUIT\r\n")
                first_line(sock)
            return line

    def test_an_address_connecting_too_often_is_refused_until_its_allowance_refills(self):
        addr = non_loopback_ipv4()
        if addr is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        for i in range(self.RATE):
            self.assertTrue(self.greeting(addr).startswith(b"220 "), i)
        self.assertEqual(self.greeting(addr), b"421 4.7.0 Too many connections from your address")
        s = self.e.smtp()  # a Tor client (loopback) is still served
        self.assertEqual(s.noop()[0], 250)
        s.quit()
        deadline = time.monotonic() + 30
        while not self.greeting(addr).startswith(b"220 "):
            self.assertLess(time.monotonic(), deadline, "the allowance never refilled")
            time.sleep(0.5)
        log = self.e.log_bytes()
        self.assertIn(b"connection refused: one Internet address connecting too often", log)
        self.assertNotIn(addr.encode(), log)
        self.assertTrue(self.e.running())


def listen_on_every_address(env):
    """Makes `env`'s SMTP listener take every address, as a gateway's does
    (loopback: Tor; the others: the Internet). Before env.start()."""
    with open(env.config_path) as f:
        config = f.read()
    loopback_listen = "127.0.0.1:%d" % env.smtp_port
    assert loopback_listen in config
    with open(env.config_path, "w") as f:
        f.write(config.replace(loopback_listen, "0.0.0.0:%d" % env.smtp_port))


def first_line(sock):
    """The first line the server sends on `sock`, without its CRLF."""
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(512)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n")[0]


def non_loopback_ipv4():
    """An IPv4 address of this machine that is not loopback, or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for word in out.split():
        if "." in word and not word.startswith("127."):
            return word
    return None


if __name__ == "__main__":
    unittest.main()
