"""onionmaild behind a real Tor network: a private, offline one on loopback
(torlab.py: a directory authority, five relays, a Tor that hosts the onion
services and a Tor client with a SOCKS5 port).

Three servers, A, B and C. Each is an onion service configured with the
torrc lines docs/configuration.md gives operators (read from that file), and
each server's mail domain is its onion address, as an operator sets it up.
Every server's [peer] socks5_proxy is the Tor client. What is checked:
  * Tor derives from each service key the onion address the server was
    initialised with (Tor's `hostname` file);
  * curl, through Tor's SOCKS5 port (the name goes to Tor, no local DNS),
    submits mail to <onion>:25 with STARTTLS and AUTH, checking the
    certificate against the onion name, and reads it back from <onion>:110
    with STLS;
  * `onionmailctl enrol` on A reaches B and C at their onion addresses through
    Tor; A boots sealed and unseals from both peers' answers over Tor (the
    threshold, 3, is the device's share plus both peers), again after a
    restart, and its status file names no onion address;
  * a KCTL disable sent to B's onion is forwarded by B over Tor to C: A's
    next boot stays sealed; an enable sent to both unseals it;
  * B and C have [relay] enabled (docs/federation.md): alice on B, writing
    through Tor to B's onion, sends to bob on C; B's relay role reaches C's
    onion through Tor and bob reads the message from C's onion.
"""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import torlab
from harness import REPO, TestEnv, crlf, write_secret_file
from test_unseal import spki_pin, start_sealed, unseal_status, wait_unsealed

TOR_BASE_PORT = int(os.environ.get("ONIONMAIL_TORLAB_PORT", "7100"))

THRESHOLD = 3  # A's device share + B + C: every unseal needs both peers over Tor


def make_onion_service_dir(path):
    """Writes a fresh v3 onion service key into `path` (tor's
    hs_ed25519_secret_key: a 32-byte header, then the expanded Ed25519 key)
    and returns the address tor will derive from it (rend-spec-v3: base32 of
    public key, 2 checksum bytes, version 3)."""
    seed = os.urandom(32)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expanded = bytearray(hashlib.sha512(seed).digest())
    expanded[0] &= 248
    expanded[31] &= 63
    expanded[31] |= 64
    os.makedirs(path, mode=0o700)
    with open(os.path.join(path, "hs_ed25519_secret_key"), "wb") as f:
        f.write(b"== ed25519v1-secret: type0 ==\0\0\0" + bytes(expanded))
    checksum = hashlib.sha3_256(b".onion checksum" + public + b"\x03").digest()[:2]
    return base64.b32encode(public + checksum + b"\x03").decode().lower() + ".onion"


def documented_torrc():
    """The torrc lines docs/configuration.md tells operators to add."""
    with open(os.path.join(REPO, "docs", "configuration.md")) as f:
        text = f.read()
    block = re.search(r"In `/etc/tor/torrc`:\n\n```\n(.*?)```", text, re.S)
    assert block, "docs/configuration.md: no torrc block"
    lines = block.group(1).strip().splitlines()
    assert any(line.startswith("HiddenServicePort 25 ") for line in lines), lines
    assert any(line.startswith("HiddenServicePort 110 ") for line in lines), lines
    return lines


def service_lines(hs_dir, env):
    """The documented lines, for this service directory and env's ports."""
    out = []
    for line in documented_torrc():
        if line.startswith("HiddenServiceDir "):
            line = "HiddenServiceDir " + hs_dir
        line = line.replace("127.0.0.1:2525", "127.0.0.1:%d" % env.smtp_port)
        line = line.replace("127.0.0.1:1110", "127.0.0.1:%d" % env.pop3_port)
        out.append(line)
    return out


@unittest.skipUnless(torlab.TOR and torlab.TOR_GENCERT,
                     "tor and tor-gencert are not installed (provisioning/install-deps.sh installs "
                     "them; the arm64 VM's system has no tor yet)")
class TorNetworkTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.lab = None
        cls.envs = []
        cls.tmp = tempfile.mkdtemp(prefix="om-torlab-")
        try:
            cls._set_up()
        except BaseException:
            cls._tear_down()
            raise

    @classmethod
    def _set_up(cls):
        cls.onions, hs_lines = [], []
        socks = "127.0.0.1:%d" % torlab.socks_port_for(TOR_BASE_PORT)
        for i, name in enumerate("abc"):
            hs_dir = os.path.join(cls.tmp, "hs-" + name)
            onion = make_onion_service_dir(hs_dir)
            peer = {"socks5_proxy": socks, "timeout_seconds": 60}
            extra = {"peer": peer}
            if i > 0:
                peer["serve"] = True
                # B and C also carry their users' mail to other onion servers.
                extra["relay"] = {"enabled": True, "socks5_proxy": socks}
            env = TestEnv(prefix="om-tor-%s-" % name, domain=onion, extra_config=extra)
            cls.envs.append(env)
            cls.onions.append(onion)
            hs_lines += service_lines(hs_dir, env)
        cls.lab = torlab.TorLab(os.path.join(cls.tmp, "net"), base_port=TOR_BASE_PORT,
                                hs_extra_lines=hs_lines)
        cls.lab.start()
        cls.hostnames = []
        for name in "abc":
            with open(os.path.join(cls.tmp, "hs-" + name, "hostname")) as f:
                cls.hostnames.append(f.read().strip())
        for env in cls.envs:
            env.init()
            env.start()
        for onion in cls.onions:
            cls.lab.wait_reachable(onion, 25, timeout=120)
        cls.pins = [spki_pin(env.cert_path) for env in cls.envs]
        a = cls.envs[0]
        text = a.ctl("pin").stdout.decode()
        cls.server_id = re.search(r"^server-id: ([0-9a-f]{64})$", text, re.M).group(1)
        a.stop()
        cls.kctl_key = os.path.join(a.secrets_dir, "kctl.pem")
        a.ctl("enrol", "--threshold", str(THRESHOLD), "--kctl-out", cls.kctl_key,
              *cls.peer_args(), timeout=300)
        start_sealed(a)
        wait_unsealed(a, timeout=180)
        for env in cls.envs:
            env.add_user("alice")
            env.add_user("bob")

    @classmethod
    def _tear_down(cls):
        for env in cls.envs:
            env.cleanup()
        if cls.lab is not None:
            cls.lab.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls._tear_down()

    @classmethod
    def peer_args(cls):
        return ["--peer", "%s:25=%s" % (cls.onions[1], cls.pins[1]),
                "--peer", "%s:25=%s" % (cls.onions[2], cls.pins[2])]

    # ------------------------------------------------------------ helpers
    def curl(self, env, url, user, password, *extra):
        netrc = os.path.join(self.tmp, "netrc")
        write_secret_file(netrc, "machine %s login %s password %s"
                          % (env.domain, user, password))
        try:
            return subprocess.run(
                ["curl", "-sS", "--ssl-reqd", "--cacert", env.cert_path,
                 "--socks5-hostname", "127.0.0.1:%d" % self.lab.socks_port,
                 "--max-time", "120", "--netrc-file", netrc, url] + list(extra),
                capture_output=True, timeout=150)
        finally:
            os.unlink(netrc)

    def restart_a(self):
        a = self.envs[0]
        a.stop()
        start_sealed(a)

    def kctl(self, action, serial, send_to):
        a = self.envs[0]
        p = a.ctl("kctl", "--key", self.kctl_key, "--server-id", self.server_id,
                  "--action", action, "--serial", str(serial), "--send",
                  "%s:25=%s" % (self.onions[send_to], self.pins[send_to]),
                  check=False, timeout=300)
        return p.returncode, (p.stdout + p.stderr).decode(errors="replace")

    # -------------------------------------------------------------- tests
    def test_a_tor_derives_the_onion_address_each_server_was_initialised_with(self):
        self.assertEqual(self.hostnames, self.onions)
        for env, onion in zip(self.envs, self.onions):
            self.assertEqual(env.domain, onion)
            out = subprocess.run(["openssl", "x509", "-in", env.cert_path, "-noout", "-ext",
                                  "subjectAltName"], capture_output=True, check=True).stdout
            self.assertIn(("DNS:" + onion).encode(), out)

    def test_b_curl_sends_and_reads_mail_through_tor_by_onion_name(self):
        a = self.envs[1]
        alice, bob = a.users["alice"], a.users["bob"]
        marker = "through-tor-marker"
        msg = crlf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s\r\n"
                   % (alice.addr, bob.addr, marker, marker))
        path = os.path.join(self.tmp, "msg.eml")
        with open(path, "wb") as f:
            f.write(msg)
        p = self.curl(a, "smtp://%s:25/curl.test" % a.domain, alice.name, alice.smtp_pw,
                      "--mail-from", alice.addr, "--mail-rcpt", bob.addr, "-T", path)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace") + a.log_tail())
        p = self.curl(a, "pop3://%s:110/1" % a.domain, bob.name, bob.pop3_pw)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace") + a.log_tail())
        self.assertTrue(p.stdout.endswith(msg), p.stdout[-400:])
        # The certificate is checked against the onion name: another name fails.
        p = subprocess.run(
            ["curl", "-sS", "--ssl-reqd", "--cacert", a.cert_path,
             "--socks5-hostname", "127.0.0.1:%d" % self.lab.socks_port, "--max-time", "120",
             "--connect-to", "other.onion:25:%s:25" % a.domain,
             "smtp://other.onion:25/curl.test", "--mail-from", alice.addr,
             "--mail-rcpt", bob.addr, "-T", path], capture_output=True, timeout=150)
        # 60: the peer's certificate failed verification (it reached the server).
        self.assertEqual(p.returncode, 60, p.stderr.decode(errors="replace"))
        self.assertEqual(a.mailbox_count(bob), 1)

    def test_c_a_unsealed_from_both_peers_over_tor_and_again_after_a_restart(self):
        a = self.envs[0]
        status = unseal_status(a)
        self.assertIn("sealed: no", status)
        self.assertIn("threshold: 3 of 3", status)
        for onion in self.onions:
            self.assertNotIn(onion[:16], status)
        a.wait_log(rb"peers reached through the SOCKS5 proxy")
        self.restart_a()
        wait_unsealed(a, timeout=180)
        bob = a.users["bob"]
        a.send_external([bob.addr], crlf("Subject: after-restart\r\n\r\nafter-restart\r\n"))
        self.assertTrue(any(b"after-restart" in body for _, body in a.fetch_all(bob)))

    def test_d_kctl_disable_forwarded_over_tor_then_enable(self):
        a = self.envs[0]
        rc, out = self.kctl("disable", 10, send_to=1)
        self.assertEqual(rc, 0, out)
        c = self.envs[2]
        c.wait_log(rb"KCTL: ok", wait=120)  # C heard of it from B, over Tor
        self.restart_a()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.assertIn("sealed: yes", unseal_status(a))
            time.sleep(0.5)
        self.assertIn("refused: disabled", unseal_status(a))
        for j in (1, 2):
            rc, out = self.kctl("enable", 11, send_to=j)
            self.assertEqual(rc, 0, out)
        wait_unsealed(a, timeout=180)

    def test_e_mail_from_b_reaches_c_through_tor_by_onion_name(self):
        b, c = self.envs[1], self.envs[2]
        alice, bob = b.users["alice"], c.users["bob"]
        marker = "relayed-through-tor"
        msg = crlf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n.%s\r\n"
                   % (alice.addr, bob.addr, marker, marker))
        path = os.path.join(self.tmp, "relay.eml")
        with open(path, "wb") as f:
            f.write(msg)
        # alice submits to B by B's onion name; B's relay role reaches C's onion
        # through Tor; the 250 curl sees is C's.
        p = self.curl(b, "smtp://%s:25/curl.test" % b.domain, alice.name, alice.smtp_pw,
                      "--mail-from", alice.addr, "--mail-rcpt", bob.addr, "-T", path, "-v")
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:] +
                         b.log_tail())
        self.assertIn(b"250 2.0.0 Ok: delivered to the remote server", p.stderr)
        b.wait_log(rb"relayed: 250")
        p = self.curl(c, "pop3://%s:110/1" % c.domain, bob.name, bob.pop3_pw)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace") + c.log_tail())
        self.assertTrue(p.stdout.endswith(msg), p.stdout[-400:])
        self.assertIn(b"Received: by " + b.domain.encode(), p.stdout)
        self.assertIn(b"Received: by " + c.domain.encode(), p.stdout)
        # C called B's onion back through Tor for its key: TKIM proved B.
        self.assertIn(b"(TKIM " + b.domain.encode() + b")", p.stdout)


if __name__ == "__main__":
    unittest.main()
