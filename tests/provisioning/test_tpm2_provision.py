"""provisioning/tpm2-provision.sh, the operator's TPM set-up, end to end on a
real swtpm.

An operator runs it once on the machine, then `onionmailctl init`, then the
server. This test does the same: a server configuration without a [keys]
section, the script with --config, --key-dir outside the state directory,
--owner (as root) and a PCR policy (--pcrs 0,7), then init, a delivery over
SMTP and a POP3 read, all with the keys in that swtpm. Then what an operator
relies on afterwards: a second run keeps the authValue and the key blobs and
leaves the configuration alone; the authValue is printed nowhere; and when
PCR 7 changes (what a changed boot chain would do), the keys refuse to work:
no TLS handshake completes, the running server stays up and says why, and a
server started on those PCRs stops at start-up and says why.

The swtpm comes from the integration harness (ONIONMAIL_TEST_KEYS=tpm2, set
by CTest), on its own ports; the binaries from $ONIONMAILD / $ONIONMAILCTL.
"""

import os
import pwd
import re
import smtplib
import ssl
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import KEY_USER, KEYS_BACKEND, REPO, TestEnv, crlf  # noqa: E402

SCRIPT = os.path.join(REPO, "provisioning", "tpm2-provision.sh")
BLOBS = ("hmac.tpm2", "rsa.tpm2", "tls-ec.tpm2")


def without_keys_section(text):
    """The configuration with its [keys] section (up to the next section) removed."""
    return re.sub(r"^\[keys\]\n(?:(?!\[).*\n?)*", "", text, flags=re.M)


@unittest.skipUnless(KEYS_BACKEND == "tpm2", "needs the harness's swtpm "
                     "(ONIONMAIL_TEST_KEYS=tpm2)")
class Tpm2ProvisionTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-tpm2-prov-")
        self.addCleanup(self.env.cleanup)
        self.tcti = "swtpm:host=127.0.0.1,port=%d" % self.env.swtpm_port
        self.key_dir = os.path.join(self.env.root, "tpm2-keys")
        with open(self.env.config_path) as f:
            bare = without_keys_section(f.read())
        self.assertNotIn("[keys]", bare)
        with open(self.env.config_path, "w") as f:
            f.write(bare)

    def provision(self):
        argv = [SCRIPT, "--tcti", self.tcti, "--key-dir", self.key_dir, "--pcrs", "0,7",
                "--config", self.env.config_path]
        if os.geteuid() == 0:
            argv += ["--owner", KEY_USER]
        p = subprocess.run(argv, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout.decode() + p.stderr.decode()

    def read_blob(self, name):
        with open(os.path.join(self.key_dir, name), "rb") as f:
            return f.read()

    def tpm2_tool(self, *argv):
        p = subprocess.run(list(argv), capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL,
                           env=dict(os.environ, TPM2TOOLS_TCTI=self.tcti))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_provisioned_tpm_serves_mail_keeps_its_keys_and_locks_when_pcr7_changes(self):
        out = self.provision()
        self.assertIn("key dir     : %s (created, 0700" % self.key_dir, out)
        self.assertIn("config: [keys] section written to %s" % self.env.config_path, out)
        self.assertIn("WARNING: with pcrs the keys work only while PCRs 0,7 keep", out)
        auth_path = os.path.join(self.key_dir, "auth")
        with open(auth_path) as f:
            auth = f.read()
        self.assertRegex(auth, r"^[0-9a-f]{32}$")
        self.assertNotIn(auth, out)
        self.assertEqual(stat.S_IMODE(os.stat(self.key_dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(auth_path).st_mode), 0o600)
        if os.geteuid() == 0:
            uid = pwd.getpwnam(KEY_USER).pw_uid
            self.assertEqual((os.stat(self.key_dir).st_uid, os.stat(auth_path).st_uid),
                             (uid, uid))
        with open(self.env.config_path) as f:
            config = f.read()
        for line in ('backend = "tpm2"', 'tcti = "%s"' % self.tcti,
                     'tpm2_key_dir = "%s"' % self.key_dir,
                     'tpm2_auth_file = "%s"' % auth_path, "pcrs = [0, 7]"):
            self.assertIn(line + "\n", config)

        # onionmailctl init makes the keys inside the TPM; only blobs reach the key dir.
        self.env.init()
        self.assertEqual(sorted(n for n in os.listdir(self.key_dir) if n.endswith(".tpm2")),
                         sorted(BLOBS))
        self.assertFalse(os.path.exists(os.path.join(self.env.state_dir, "tpm2")))
        alice = self.env.add_user("alice")
        self.env.start()
        msg = crlf("Subject: provisioned\n\nkeys in the TPM\n")
        s = self.env.smtp_auth(alice)
        self.assertEqual(s.sendmail(alice.addr, [alice.addr], msg), {})
        s.quit()
        got = self.env.fetch_all(alice)
        self.assertEqual(len(got), 1)
        self.assertIn(b"keys in the TPM", got[0][1])
        self.env.stop()

        # Again: everything is kept, the configuration is not touched.
        blobs = {n: self.read_blob(n) for n in BLOBS}
        again = self.provision()
        self.assertIn("(kept, 0700", again)
        self.assertIn("auth file   : %s (kept, 0600" % auth_path, again)
        self.assertIn("key blobs   : present", again)
        self.assertIn("already has a [keys] section; left unchanged", again)
        with open(self.env.config_path) as f:
            self.assertEqual(f.read(), config)
        with open(auth_path) as f:
            self.assertEqual(f.read(), auth)
        for n, content in blobs.items():
            self.assertEqual(self.read_blob(n), content, n)

        # A changed PCR 7 (a changed boot chain): the policy no longer holds.
        self.env.start()
        s = self.env.smtp_auth(alice)  # still fine before the change
        s.quit()
        self.tpm2_tool("tpm2_pcrextend", "7:sha256=" + "ab" * 32)
        with self.assertRaises((ssl.SSLError, smtplib.SMTPException, OSError)):
            self.env.smtp_auth(alice, timeout=20)
        self.assertTrue(self.env.running(), "the server stopped:\n" + self.env.log_tail())
        # The key role's line reaches the log through the supervisor's pipe,
        # possibly after the client saw the failed handshake: wait for it.
        log = self.env.wait_log(rb"key: TLS signature for smtp failed in the key store: .*"
                                rb"\(PCR policy not satisfied\)").decode(errors="replace")
        self.assertNotIn(auth, log)

        # Started again on the changed PCRs: the key role cannot open the
        # keys, and onionmaild stops at start-up with the reason.
        self.env.stop()
        seen = len(self.env.log_bytes())
        try:
            self.env.start()
        except AssertionError:
            pass  # it may exit before the ports answer
        try:
            rc = self.env.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("onionmaild runs on with keys it cannot use:\n" + self.env.log_tail())
        self.assertNotEqual(rc, 0)
        log = self.env.log_bytes()[seen:].decode(errors="replace")
        self.assertIn("(PCR policy not satisfied)", log)
        self.assertIn("the key role could not start", log)
        self.assertNotIn(auth, log)


if __name__ == "__main__":
    unittest.main()
