"""provisioning/install.sh and `cmake --install`: the operator's way to a real installation.

install.sh runs as root with every path moved into a temporary directory (--prefix, --config,
--state) and the binaries CTest built (--build-dir), so nothing of the machine's own
/usr/local, /etc or /var/lib is touched. With --keys softhsm --init it must leave an
installation that works as it stands: the installed onionmaild (which runs its four roles
from its own directory) starts on the written configuration, onionmailctl adds a user, and
real clients (smtplib with STARTTLS and AUTH, poplib with STLS) send and read a message. The
installed unit must name the installed paths, and systemd-analyze must accept it.
"""

import os
import re
import shutil
import signal
import smtplib
import poplib
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import free_port, retr_bytes, write_secret_file  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INSTALL = os.path.join(REPO, "provisioning", "install.sh")
BUILD = os.environ.get("ONIONMAIL_BUILD_DIR", os.path.join(REPO, "build"))
PROGRAMS = ("onionmaild", "onionmail-key", "onionmail-smtp", "onionmail-pop3", "onionmail-peer",
            "onionmail-relay", "onionmailctl")
DOMAIN = "installtestinstalltest.onion"


@unittest.skipUnless(os.geteuid() == 0, "install.sh runs as root (users, /etc)")
class InstallTest(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="om-install-test-")
        os.chmod(self.root, 0o755)  # the roles' users run the installed programs
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.prefix = os.path.join(self.root, "usr")
        self.config = os.path.join(self.root, "etc", "onionmaild.toml")
        self.state = os.path.join(self.root, "state")
        self.server = None

    def tearDown(self):
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()

    def run_install(self, *extra):
        p = subprocess.run([INSTALL, "--build-dir", BUILD, "--prefix", self.prefix,
                            "--config", self.config, "--state", self.state, *extra],
                           capture_output=True, text=True, timeout=600,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def ctl(self, *args):
        p = subprocess.run([os.path.join(self.prefix, "bin", "onionmailctl"), "--config",
                            self.config, *args], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_cmake_install_puts_every_program_the_unit_and_the_docs_under_the_prefix(self):
        subprocess.run(["cmake", "--install", BUILD, "--prefix", self.prefix], check=True,
                       capture_output=True)
        for name in PROGRAMS:
            self.assertTrue(os.access(os.path.join(self.prefix, "bin", name), os.X_OK), name)
        with open(os.path.join(self.prefix, "lib/systemd/system/onionmaild.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=%s/bin/onionmaild --config /etc/onionmaild.toml\n" % self.prefix,
                      unit)
        self.assertIn("Documentation=file:%s/share/doc/onionmaild/README.md" % self.prefix, unit)
        for doc in ("README.md", "SECURITY.md", "docs/operations.md", "docs/configuration.md"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, "share/doc/onionmaild", doc)))
        self.assertFalse(os.path.exists(os.path.join(self.prefix, "bin", "om-loadgen")))

    def test_install_script_leaves_a_server_that_carries_mail(self):
        out = self.run_install("--domain", DOMAIN, "--keys", "softhsm", "--init")
        self.assertIn("onionmaild is installed.", out)
        with open(self.config) as f:
            config = f.read()
        self.assertIn('domain = "%s"' % DOMAIN, config)
        self.assertIn('state_dir = "%s"' % self.state, config)
        self.assertIn('backend = "pkcs11"', config)
        self.assertEqual(os.stat(self.state).st_mode & 0o777, 0o700)
        self.assertTrue(os.path.isfile(os.path.join(self.state, "tls", "cert.pem")))
        unit_path = os.path.join(self.prefix, "lib/systemd/system/onionmaild.service")
        with open(unit_path) as f:
            unit = f.read()
        self.assertIn("ExecStart=%s/bin/onionmaild --config %s\n" % (self.prefix, self.config),
                      unit)
        self.assertIn("ReadWritePaths=%s\n" % self.state, unit)
        self.assertNotIn("/var/lib/onionmaild", unit)
        if shutil.which("systemd-analyze"):
            p = subprocess.run(["systemd-analyze", "verify", unit_path], capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        # Run again: nothing is lost or made twice; the existing config is kept.
        out = self.run_install("--keys", "softhsm", "--init")
        self.assertIn("exists; left unchanged", out)
        self.assertIn("is initialised already", out)

        # The installation as it stands, on free ports (two tests may run at once).
        smtp_port, pop3_port = free_port(), free_port()
        config = re.sub(r'listen = "127.0.0.1:2525"', 'listen = "127.0.0.1:%d"' % smtp_port,
                        config)
        config = re.sub(r'listen = "127.0.0.1:1110"', 'listen = "127.0.0.1:%d"' % pop3_port,
                        config)
        with open(self.config, "w") as f:
            f.write(config)
        secrets_dir = tempfile.mkdtemp(prefix="om-install-secrets-")
        self.addCleanup(shutil.rmtree, secrets_dir)
        smtp_pw, pop3_pw = "install-test-send-0123", "install-test-read-4567"
        files = []
        for i, pw in enumerate((smtp_pw, pop3_pw)):
            files.append(os.path.join(secrets_dir, "pw%d" % i))
            write_secret_file(files[-1], pw)
        self.ctl("user", "add", "alice", "--smtp-password-file", files[0],
                 "--pop3-password-file", files[1])
        log = open(os.path.join(self.root, "server.log"), "wb")
        self.addCleanup(log.close)
        self.server = subprocess.Popen([os.path.join(self.prefix, "bin", "onionmaild"),
                                        "--config", self.config], stdout=log, stderr=log,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_listening(smtp_port, pop3_port)

        tls = ssl.create_default_context(cafile=os.path.join(self.state, "tls", "cert.pem"))
        tls.check_hostname = False
        body = "Subject: installed\r\n\r\nfrom the installed programs\r\n"
        s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=30)
        s.starttls(context=tls)
        s.login("alice", smtp_pw)
        s.sendmail("alice@" + DOMAIN, ["alice@" + DOMAIN], body)
        s.quit()
        p = poplib.POP3("127.0.0.1", pop3_port, timeout=30)
        p.stls(context=tls)
        p.user("alice")
        p.pass_(pop3_pw)
        self.assertEqual(p.stat()[0], 1)
        self.assertIn(b"from the installed programs", retr_bytes(p, 1))
        p.quit()
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.wait(30), 0)
        with open(os.path.join(self.root, "server.log"), "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for role in ("key", "smtp", "pop3", "peer"):
            self.assertRegex(text, r"started role %s \(pid \d+\)" % role)
        self.assertNotIn("restarting in", text)

    def wait_listening(self, *ports):
        import socket
        deadline = time.monotonic() + 30
        for port in ports:
            while True:
                self.assertIsNone(self.server.poll(), "onionmaild exited")
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    break
                except OSError:
                    self.assertLess(time.monotonic(), deadline, "not listening on %d" % port)
                    time.sleep(0.05)


if __name__ == "__main__":
    unittest.main()
