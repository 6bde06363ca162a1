"""provisioning/systemd/onionmaild.service, checked by systemd's own tools.

`systemd-analyze verify` must have nothing to say about the unit (an unknown
or misspelt directive is only a warning to systemd, which then runs the
service without it: a hardening line lost without a sound), and `systemd-
analyze security --offline` must rate its exposure no worse than today's 2.4
of 10, so that loosening the sandbox is a deliberate change of this test.
ExecStart= points at the built onionmaild for the check (verify wants an
executable there). Skipped where systemd's tools are missing.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(REPO, "provisioning", "systemd", "onionmaild.service")
ONIONMAILD = os.environ.get("ONIONMAILD", "")
INSTALLED = "/usr/local/bin/onionmaild"
# systemd-analyze's exposure, scaled by 10 for --threshold: 2.4 shows as 24.
MAX_EXPOSURE = 24


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
class SystemdUnitTest(unittest.TestCase):

    def setUp(self):
        self.assertTrue(os.access(ONIONMAILD, os.X_OK), "set $ONIONMAILD to the built binary")
        self.dir = tempfile.mkdtemp(prefix="om-unit-")
        self.addCleanup(shutil.rmtree, self.dir)
        with open(UNIT) as f:
            text = f.read()
        self.assertIn("ExecStart=%s " % INSTALLED, text)
        self.unit = os.path.join(self.dir, "onionmaild.service")
        with open(self.unit, "w") as f:
            f.write(text.replace(INSTALLED, ONIONMAILD))

    def analyze(self, *argv):
        return subprocess.run(["systemd-analyze"] + list(argv), capture_output=True,
                              timeout=60, stdin=subprocess.DEVNULL, text=True)

    def test_verify_has_nothing_to_say_about_the_unit(self):
        p = self.analyze("verify", self.unit)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", "systemd would ignore or reject this")

    def test_verify_would_report_a_misspelt_directive(self):
        # The check above can fail: the same unit with one directive misspelt.
        with open(self.unit) as f:
            text = f.read()
        with open(self.unit, "w") as f:
            f.write(text.replace("NoNewPrivileges=true", "NoNewPrivilege=true"))
        self.assertIn("NoNewPrivilege", self.analyze("verify", self.unit).stderr)

    def test_exposure_is_no_worse_than_today(self):
        p = self.analyze("security", "--offline=true", "--threshold=%d" % MAX_EXPOSURE,
                         self.unit)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr)
        self.assertIn("Overall exposure level for onionmaild.service:", p.stdout)

    def test_a_looser_sandbox_would_exceed_the_threshold(self):
        with open(self.unit) as f:
            text = f.read()
        with open(self.unit, "w") as f:
            f.write(text.replace("ProtectSystem=strict", "ProtectSystem=false"))
        p = self.analyze("security", "--offline=true", "--threshold=%d" % MAX_EXPOSURE,
                         self.unit)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
