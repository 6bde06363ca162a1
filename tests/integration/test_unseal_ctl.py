"""The operator's side of the master-key unseal (issue 5, docs/unseal.md), with real
servers on loopback: `onionmailctl pin`, `enrol`, `kctl`, `status`, the admin unseal
that `user` commands do on an enrolled state, and `recover`.

Servers B, C and D serve as unseal peers ([peer] serve = true); A is the server that
enrols. A is stopped while onionmailctl enrols it (as an operator would), and started
once afterwards to see the peer role unseal it (status sealed -> unsealed).
"""

import calendar
import hashlib
import os
import re
import stat
import subprocess
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness import ONIONMAILCTL, REPO, TestEnv, write_secret_file

PEER_CONFIG = {"peer": {"serve": True, "timeout_seconds": 20}}


def ensure_peer_user():
    """As root the server also drops its peer role to onionmail-peer."""
    if os.geteuid() != 0:
        return
    if subprocess.run(["getent", "passwd", "onionmail-peer"],
                      stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run([os.path.join(REPO, "provisioning", "create-users.sh")],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)


def cert_spki_sha256(env):
    with open(env.cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def tls_spki_type(env):
    """'EC' on the P-256 curve, 'RSA', or the key's class name."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    with open(env.cert_path, "rb") as f:
        key = x509.load_pem_x509_certificate(f.read()).public_key()
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "EC"
    return "RSA" if isinstance(key, rsa.RSAPublicKey) else type(key).__name__


def address(env):
    return "127.0.0.1:%d" % env.smtp_port


def flip_pin(pin):
    return ("0" if pin[0] != "0" else "1") + pin[1:]


def out(p):
    return p.stdout.decode() + p.stderr.decode()


def foreign_share(x):
    """A recovery share in the printed form (unseal/recovery.h) with a correct checksum
    but a random y: a share of some other split."""
    y = os.urandom(32)
    check = hashlib.sha256(b"OMRS1" + bytes([x]) + y).digest()[:4]
    digits = y.hex() + check.hex()
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    return "OMRS1-%02d-%s" % (x, "-".join(groups))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class UnsealCtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ensure_peer_user()
        cls.envs = []
        try:
            cls.a = cls._env("a")
            cls.b = cls._env("b")
            cls.c = cls._env("c")
            cls.d = cls._env("d")
            # Pins first, servers stopped, as in a fresh set-up (onionmailctl next
            # to a running server works too: test_hardware, test_unseal).
            cls.pins = {e: cls.pin_of(e) for e in (cls.a, cls.b, cls.c, cls.d)}
            for e in (cls.b, cls.c, cls.d):
                e.start()  # A stays stopped: enrolment is done on a stopped server
        except BaseException:
            cls.tearDownClass()
            raise
        cls.recovery_file = None

    @classmethod
    def _env(cls, name):
        e = TestEnv(prefix="om-unsealctl-%s-" % name, extra_config=PEER_CONFIG)
        cls.envs.append(e)
        e.init()
        return e

    @classmethod
    def tearDownClass(cls):
        for e in cls.envs:
            e.cleanup()

    @staticmethod
    def pin_of(env):
        text = env.ctl("pin").stdout.decode()
        pin = re.search(r"^tls-pin: ([0-9a-f]{64})$", text, re.M)
        sid = re.search(r"^server-id: ([0-9a-f]{64})$", text, re.M)
        assert pin and sid, text
        return pin.group(1), sid.group(1)

    def spec(self, env, pin=None):
        return "%s=%s" % (address(env), pin or self.pins[env][0])

    def enrol_args(self, env, peers, kctl_out, threshold=2, extra=()):
        args = ["enrol", "--threshold", str(threshold), "--kctl-out", kctl_out]
        for p in peers:
            args += ["--peer", p]
        return args + list(extra)

    def enrolment_path(self, env):
        return os.path.join(env.state_dir, "unseal", "enrolment")

    def kctl(self, *args, check=True):
        # No --config: kctl runs on the operator's machine without any state.
        p = subprocess.run([ONIONMAILCTL, "kctl"] + list(args),
                           capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError("kctl failed rc=%d\n%s" % (p.returncode, out(p)))
        return p

    def peers_file(self, env, peers):
        path = os.path.join(env.root, "peers-%d" % len(os.listdir(env.root)))
        with open(path, "w") as f:
            f.write("# address pin\n")
            for i, p in enumerate(peers):
                sep = " " if i % 2 == 0 else "="  # both forms are accepted
                f.write("%s%s%s\n" % (address(p), sep, self.pins[p][0]))
        return path

    @staticmethod
    def script(name, *args):
        return subprocess.run([os.path.join(REPO, "provisioning", name),
                               "--onionmailctl", ONIONMAILCTL] + list(args),
                              capture_output=True, timeout=120, stdin=subprocess.DEVNULL)

    def wait_for_status(self, env, pattern, timeout=90):
        path = os.path.join(env.state_dir, "unseal", "status")
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    text = f.read()
            except FileNotFoundError:
                text = ""
            if re.search(pattern, text, re.M):
                return text
            time.sleep(0.5)
        raise AssertionError("status never matched %r:\n%s\nlog:\n%s"
                             % (pattern, text, env.log_tail()))

    # ------------------------------------------------------------------ tests
    def test_1_pin_is_the_hash_of_the_certificate_key(self):
        for env in (self.b, self.c):
            tls_pin, server_id = self.pins[env]
            self.assertEqual(tls_pin, cert_spki_sha256(env))
            # TLS has its own ECDSA key; server-id names the RSA server key.
            self.assertNotEqual(server_id, tls_pin)
            self.assertEqual(tls_spki_type(env), "EC")
        self.assertNotEqual(self.pins[self.b][0], self.pins[self.c][0])

    def test_2_enrol_with_a_wrong_pin_fails_before_anything_is_written(self):
        kctl_out = os.path.join(self.a.root, "wrong-pin-kctl.pem")
        p = self.a.ctl(*self.enrol_args(
            self.a, [self.spec(self.b, flip_pin(self.pins[self.b][0])), self.spec(self.c)],
            kctl_out), check=False)
        self.assertEqual(p.returncode, 1, out(p))
        self.assertIn(address(self.b), out(p))
        self.assertIn("does not match the pin", out(p))
        self.assertIn("nothing was written", out(p))
        self.assertFalse(os.path.exists(kctl_out))
        self.assertFalse(os.path.exists(self.enrolment_path(self.a)))

    def test_3_enrol_is_refused_on_a_state_with_users(self):
        e = TestEnv(prefix="om-unsealctl-users-", extra_config=PEER_CONFIG)
        self.envs.append(e)
        e.init()
        e.add_user("carol")
        kctl_out = os.path.join(e.root, "kctl.pem")
        # Through the provisioning wrapper, peers from a file.
        peers = self.peers_file(e, [self.b, self.c])
        p = self.script("enrol-peers.sh", "--config", e.config_path, "--threshold", "2",
                        "--peers-file", peers, "--kctl-out", kctl_out)
        self.assertEqual(p.returncode, 1, out(p))
        self.assertIn("tls-pin: ", out(p))  # the wrapper shows this server's pin first
        self.assertIn("1 user(s)", out(p))
        self.assertIn("every derived key", out(p))
        self.assertFalse(os.path.exists(kctl_out))
        self.assertFalse(os.path.exists(self.enrolment_path(e)))

    def test_4_enrol_unseal_and_kctl(self):
        a, b, c = self.a, self.b, self.c
        kctl_key = os.path.join(a.root, "kctl.pem")
        shares = os.path.join(a.root, "recovery.txt")
        p = a.ctl(*self.enrol_args(a, [self.spec(b), self.spec(c)], kctl_key,
                                   extra=["--recovery", "2/3", "--recovery-out", shares,
                                          "--credits", "50"]))
        text = out(p)
        server_id = self.pins[a][1]
        self.assertIn("enrolled: server id " + server_id, text)
        self.assertIn("threshold: 2 of 3", text)
        self.assertRegex(text, r"peer %s: credits granted 50" % re.escape(address(b)))
        self.assertIn("WARNING: move " + kctl_key, text)
        # The record and the operator's files: private, nothing overwritten later.
        self.assertEqual(mode(self.enrolment_path(a)), 0o600)
        a.check_state_owner()
        self.assertEqual(mode(kctl_key), 0o600)
        self.assertEqual(mode(shares), 0o600)
        with open(kctl_key) as f:
            self.assertTrue(f.read().startswith("-----BEGIN PRIVATE KEY-----"))
        with open(shares) as f:
            share_lines = [l for l in f.read().splitlines() if l.startswith("OMRS1-")]
        self.assertEqual(len(share_lines), 3)
        type(self).recovery_file = shares
        type(self).kctl_key = kctl_key
        # A second enrol is refused: the state is enrolled.
        p = a.ctl(*self.enrol_args(a, [self.spec(b), self.spec(c)],
                                   os.path.join(a.root, "again.pem")), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already enrolled", out(p))
        self.assertIn("no status yet", a.ctl("status").stdout.decode())

        # The running server unseals itself through its peer role.
        a.start()
        self.wait_for_status(a, r"^sealed: no$")
        status = a.ctl("status").stdout.decode()
        self.assertIn("sealed: no", status)
        self.assertIn("threshold: 2 of 3", status)
        a.stop()

        # An admin command on the sealed state unseals with the peers first.
        p = a.ctl("user", "add", "alice")
        self.assertRegex(out(p), r"unseal: peer %s answered \(credits left \d+"
                         % re.escape(address(b)))
        self.assertIn("user alice added", out(p))
        type(self).alice_pop3 = re.search(r"^pop3-password: (\S+)$", out(p), re.M).group(1)

        # KCTL: disable at both peers; the admin unseal then fails naming them.
        serial = 202601010000
        for env in (b, c):
            p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "disable",
                          "--serial", str(serial), "--send", self.spec(env))
            self.assertRegex(out(p), r"peer %s: (applied|already applied), disabled yes"
                             % re.escape(address(env)))
        p = a.ctl("user", "add", "bob", check=False)
        self.assertEqual(p.returncode, 1, out(p))
        self.assertIn("cannot unseal", out(p))
        self.assertIn("peer %s: refused: disabled" % address(b), out(p))
        self.assertIn("peer %s: refused: disabled" % address(c), out(p))

        # The same serial with another action is a replay.
        p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "enable",
                      "--serial", str(serial), "--send", self.spec(b), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("peer %s: refused: replayed" % address(b), out(p))

        # A certificate signed here, carried as a file, sent from elsewhere.
        cert = os.path.join(a.root, "enable.cert")
        p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "enable",
                      "--serial", str(serial + 1), "--out", cert)
        self.assertTrue(os.path.exists(cert))
        p = self.kctl("--cert", cert, "--send", self.spec(b))
        self.assertRegex(out(p), r"peer %s: applied, disabled no" % re.escape(address(b)))
        p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "reset-credits",
                      "--credits", "20", "--serial", str(serial + 2), "--send", self.spec(b))
        self.assertRegex(out(p), r"disabled no, destroyed no, credits left 20")
        # A wrong KCTL key is refused by the peer.
        other = os.path.join(a.root, "other-kctl.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other],
                       check=True, capture_output=True)
        p = self.kctl("--key", other, "--server-id", server_id, "--action", "disable",
                      "--serial", str(serial + 10), "--send", self.spec(b), check=False)
        self.assertIn("refused: bad-signature", out(p))
        # A serial is required; the hint names the date form.
        p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "disable",
                      "--send", self.spec(b), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("YYYYMMDDHHMM", out(p))

        p = a.ctl("user", "add", "bob")
        self.assertRegex(out(p), r"unseal: peer %s answered \(credits left 19,"
                         % re.escape(address(b)))

        # The provisioning wrapper: peers from a file, serial from the clock.
        p = self.script("kctl.sh", "--key", kctl_key, "--server-id", server_id,
                        "--action", "enable", "--peers-file", self.peers_file(a, [c]))
        self.assertEqual(p.returncode, 0, out(p))
        self.assertRegex(out(p), r"kctl: serial \d{14} ")
        self.assertRegex(out(p), r"peer %s: applied, disabled no" % re.escape(address(c)))

    def test_5_recover_moves_the_same_key_to_a_new_peer(self):
        if not self.recovery_file:
            self.skipTest("enrolment test did not run")
        a, d = self.a, self.d
        with open(self.recovery_file) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("OMRS1-")]
        typed = os.path.join(a.secrets_dir, "typed-shares")
        # Two of three shares, as an operator would type them (upper case, spaces).
        write_secret_file(typed, "\n".join(
            [lines[0].upper(), lines[2].replace("-", " ")]))
        kctl2 = os.path.join(a.root, "kctl2.pem")
        p = self.script("recover.sh", "--config", a.config_path, "--shares-file", typed,
                        "--threshold", "2", "--peers-file", self.peers_file(a, [d]),
                        "--kctl-out", kctl2)
        self.assertEqual(p.returncode, 0, out(p))
        self.assertIn("recovery shares accepted", out(p))
        self.assertIn("re-enrolled: server id " + self.pins[a][1], out(p))
        self.assertEqual(mode(kctl2), 0o600)
        # A peer that already holds a record for A is not enrolled again.
        p = a.ctl("recover", "--shares-file", typed, "--threshold", "2",
                  "--peer", self.spec(self.b),
                  "--kctl-out", os.path.join(a.root, "kctl3.pem"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already holds a record", out(p))
        self.assertFalse(os.path.exists(os.path.join(a.root, "kctl3.pem")))
        # The same master key: alice's inbox key still opens (POP3 passwd re-wraps it),
        # and only the new peer D is asked now.
        new_pw = a.pw_file("recovered-pop3-secret")
        old_pw = a.pw_file(self.alice_pop3)
        p = a.ctl("user", "passwd", "alice", "--pop3", "--password-file", new_pw,
                  "--old-password-file", old_pw)
        self.assertIn("unseal: peer %s answered" % address(d), out(p))
        self.assertNotIn(address(self.b), out(p))
        self.assertIn("password changed for alice", out(p))
        # Wrong shares are refused before any peer is contacted: one share alone, and a
        # well-formed share (right checksum) of another split.
        for shares_text, why in ((lines[0], "need at least 2"),
                                 (lines[0] + "\n" + foreign_share(2), "too few shares")):
            bad = os.path.join(a.secrets_dir, "bad-shares")
            write_secret_file(bad, shares_text)
            p = a.ctl("recover", "--shares-file", bad, "--threshold", "2",
                      "--peer", self.spec(self.c),
                      "--kctl-out", os.path.join(a.root, "kctl4.pem"), check=False)
            os.unlink(bad)
            self.assertEqual(p.returncode, 1)
            self.assertIn(why, out(p))
            self.assertFalse(os.path.exists(os.path.join(a.root, "kctl4.pem")))

    def test_6_query_reads_the_counters_with_the_kctl_key_alone(self):
        # Its own server E (A's records belong to the tests above), enrolled with B and C
        # at t = 3 of 3, so that its boot takes one DERK answer from each peer.
        b, c = self.b, self.c
        e = self._env("e")
        self.pins[e] = self.pin_of(e)  # while E is stopped, as in a fresh set-up
        server_id = self.pins[e][1]
        kctl_key = os.path.join(e.root, "kctl.pem")
        e.ctl(*self.enrol_args(e, [self.spec(b), self.spec(c)], kctl_key, threshold=3,
                               extra=["--credits", "30"]))

        def query(*extra, check=True):
            return self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "query",
                             "--send", self.spec(b), "--send", self.spec(c), *extra,
                             check=check)

        def counters(text, env):
            m = re.search(r"^peer %s: disabled (yes|no), destroyed (yes|no), credits left (\d+), "
                          r"answered total (\d+), last answer (\S+)$"
                          % re.escape(address(env)), text, re.M)
            self.assertIsNotNone(m, text)
            return m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), m.group(5)

        # Before the boot: nothing answered yet.
        p = query()
        self.assertRegex(out(p), r"certificate: server %s, query, valid " % server_id)
        self.assertNotIn("serial", out(p))
        for env in (b, c):
            self.assertEqual(counters(out(p), env), ("no", "no", 30, 0, "never"))

        # The boot moves each peer's counter by one.
        booted = int(time.time())
        e.start()
        self.wait_for_status(e, r"^sealed: no$")
        e.stop()
        done = int(time.time())
        p = query()
        for env in (b, c):
            disabled, destroyed, credits, answered, last = counters(out(p), env)
            self.assertEqual((disabled, destroyed, credits, answered), ("no", "no", 29, 1))
            last_unix = calendar.timegm(time.strptime(last, "%Y-%m-%dT%H:%M:%SZ"))
            self.assertTrue(booted - 2 <= last_unix <= done + 2, (last, booted, done))
        # A query changes nothing: the same answer again, and no serial was consumed.
        def peer_lines(text):
            return [l for l in text.splitlines() if l.startswith("peer ")]
        self.assertEqual(peer_lines(out(query())), peer_lines(out(p)))
        p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "disable",
                      "--serial", "1", "--send", self.spec(b))
        self.assertRegex(out(p), r"peer %s: applied, disabled yes, destroyed no, credits left 29, "
                         r"answered total 1, last answer \d{4}-" % re.escape(address(b)))

        # A query takes no serial and no validity; the wrapper sends one too.
        for extra in (["--serial", "5"], ["--valid-hours", "1"], ["--credits", "3"]):
            p = query(*extra, check=False)
            self.assertEqual(p.returncode, 2, out(p))
        p = self.script("kctl.sh", "--key", kctl_key, "--server-id", server_id,
                        "--action", "query", "--peers-file", self.peers_file(e, [b, c]))
        self.assertEqual(p.returncode, 0, out(p))
        self.assertNotIn("kctl: serial", out(p))
        self.assertEqual(counters(out(p), b)[:4], ("yes", "no", 29, 1))
        p = self.script("kctl.sh", "--key", kctl_key, "--server-id", server_id,
                        "--action", "query", "--serial", "7",
                        "--peers-file", self.peers_file(e, [b]))
        self.assertEqual(p.returncode, 2, out(p))

        # After a destroy the tombstones still answer, with the answer counters kept (a
        # tombstone holds no credits).
        for env in (b, c):
            p = self.kctl("--key", kctl_key, "--server-id", server_id, "--action", "destroy",
                          "--serial", "2", "--send", self.spec(env))
            self.assertRegex(out(p), r"peer %s: (applied|already applied), disabled yes, "
                             r"destroyed yes, credits left 0, answered total 1"
                             % re.escape(address(env)))
        for env in (b, c):  # the peer erased the key the record was sealed under
            env.wait_log(rb"crypto-shred: erasable key 1 erased in the "
                         rb"device; live records now under key 2")
            self.assertNotIn(b"not erased yet", env.log_bytes())
        p = query()
        for env in (b, c):
            self.assertEqual(counters(out(p), env)[:4], ("yes", "yes", 0, 1))
        # Another KCTL key reads nothing.
        other = os.path.join(e.root, "other-kctl.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other],
                       check=True, capture_output=True)
        p = self.kctl("--key", other, "--server-id", server_id, "--action", "query",
                      "--send", self.spec(b), check=False)
        self.assertEqual(p.returncode, 1, out(p))
        self.assertIn("peer %s: refused: bad-signature" % address(b), out(p))


if __name__ == "__main__":
    unittest.main()
