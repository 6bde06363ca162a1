"""The README's first command, provisioning/demo.sh, end to end.

It provisions a SoftHSM2 token and a state directory, runs onionmaild in the
foreground on the embedded default ports (SMTP 127.0.0.1:2525, POP3
127.0.0.1:1110), and prints how to add a user, send with swaks and read with
curl. This test follows those instructions with those clients, stops the
server the way Ctrl-C does, starts the demo again on the same state (it must
reuse it) and reads the message again.

The state goes to a temporary directory (`--state`), so an operator's demo in
/var/lib/onionmaild-demo or ./demo-state is never touched; the binaries are
the ones CTest built (`--build-dir`, $ONIONMAIL_BUILD_DIR): demo.sh's own
build step is provisioning/build.sh, which provisioning/test.sh runs anyway.
Passwords go to swaks and curl in mode-0600 files, never in argv.
"""

import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import TestEnv, write_secret_file  # noqa: E402
from harness_proc import live_in_group  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(REPO, "provisioning", "demo.sh")
BUILD = os.environ.get("ONIONMAIL_BUILD_DIR", os.path.join(REPO, "build"))
SMTP_PORT, POP3_PORT = 2525, 1110  # the embedded defaults (src/config/config.h)


def listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class DemoTest(unittest.TestCase):

    def setUp(self):
        for port in (SMTP_PORT, POP3_PORT):
            if listening(port):
                self.fail("something already listens on 127.0.0.1:%d (a demo that is "
                          "running?): the demo needs that port" % port)
        self.root = tempfile.mkdtemp(prefix="om-demo-test-")
        os.chmod(self.root, 0o711)  # as root, the key role's user must reach the state
        self.state = os.path.join(self.root, "state")
        self.secrets = tempfile.mkdtemp(prefix="om-demo-secrets-")  # 0700, root's
        self.demo = None
        self.log_path = os.path.join(self.root, "demo.log")

    def tearDown(self):
        if self.demo is not None and self.demo.poll() is None:
            TestEnv._kill_group(self.demo.pid)
            self.demo.wait()
        subprocess.run(["rm", "-rf", self.root, self.secrets], check=False)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def start_demo(self, timeout=120):
        """Starts demo.sh in its own process group (Ctrl-C reaches the group)
        and waits until both ports answer. Returns the banner it printed."""
        log = open(self.log_path, "ab")
        self.demo = subprocess.Popen(
            [DEMO, "--state", self.state, "--build-dir", BUILD],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not (listening(SMTP_PORT) and listening(POP3_PORT)):
            if self.demo.poll() is not None:
                self.fail("demo.sh exited (rc=%d) before the server listened:\n%s"
                          % (self.demo.returncode, self.log()[-4000:]))
            if time.monotonic() > deadline:
                self.fail("the demo's ports did not open in %d s:\n%s"
                          % (timeout, self.log()[-4000:]))
            time.sleep(0.2)
        return self.log()

    def stop_demo_like_ctrl_c(self):
        os.killpg(self.demo.pid, signal.SIGINT)
        try:
            rc = self.demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("the demo did not stop within 30 s of SIGINT:\n" + self.log()[-4000:])
        deadline = time.monotonic() + 10
        while live_in_group(self.demo.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(live_in_group(self.demo.pid), [], "roles outlive the supervisor")
        self.assertFalse(listening(SMTP_PORT) or listening(POP3_PORT))
        return rc

    def token_files(self):
        top = os.path.join(self.state, "softhsm")
        return sorted(os.path.relpath(os.path.join(base, n), top)
                      for base, _, files in os.walk(top) for n in files)

    def secret_file(self, content):
        path = os.path.join(self.secrets, secrets.token_hex(6))
        write_secret_file(path, content)
        return path

    def curl_retr(self, cert, pop3_pw, timeout=60, number=1):
        netrc = self.secret_file("machine 127.0.0.1 login alice password %s" % pop3_pw)
        return subprocess.run(
            ["curl", "--silent", "--show-error", "--ssl-reqd", "--cacert", cert,
             "--netrc-file", netrc, "pop3://127.0.0.1:%d/%d" % (POP3_PORT, number)],
            capture_output=True, timeout=timeout)

    def test_demo_serves_the_mail_its_banner_describes_and_restarts_on_its_state(self):
        banner = self.start_demo()
        conf = os.path.join(self.state, "onionmaild.toml")
        cert = os.path.join(self.state, "data", "tls", "cert.pem")
        ctl = os.path.join(BUILD, "src", "ctl", "onionmailctl")
        for line in ("SMTP (STARTTLS required): 127.0.0.1:%d" % SMTP_PORT,
                     "POP3 (STLS required): 127.0.0.1:%d" % POP3_PORT,
                     "TLS certificate:          " + cert,
                     "%s --config %s user add alice" % (ctl, conf)):
            self.assertIn(line, banner)
        self.assertTrue(os.path.isfile(cert))
        if os.geteuid() == 0:  # the key role's user owns the state, the token with it
            self.assertEqual(
                {os.stat(os.path.join(self.state, d)).st_uid for d in ("data", "softhsm")},
                {pwd.getpwnam("onionmail").pw_uid})

        # "add a user (prints two generated passwords: SMTP send, POP3 read)"
        add = subprocess.run([ctl, "--config", conf, "user", "add", "alice"],
                             capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(add.returncode, 0, add.stderr)
        out = add.stdout.decode()
        smtp_pw = re.search(r"^smtp-password: (\S+)$", out, re.M).group(1)
        pop3_pw = re.search(r"^pop3-password: (\S+)$", out, re.M).group(1)
        self.assertNotEqual(smtp_pw, pop3_pw)

        # "send: swaks --server 127.0.0.1 --port 2525 --tls --auth PLAIN ..."
        # (and the certificate checked against the one the banner names)
        subject = "demo-smoke-" + secrets.token_hex(8)
        swaks = subprocess.run(
            ["swaks", "--config", self.secret_file("auth-password " + smtp_pw),
             "--server", "127.0.0.1", "--port", str(SMTP_PORT), "--tls",
             "--tls-verify", "--tls-ca-path", cert, "--auth", "PLAIN",
             "--auth-user", "alice", "--from", "alice@demo.onion",
             "--to", "alice@demo.onion", "--header", "Subject: " + subject,
             "--body", "sent by tests/provisioning/test_demo.py", "--timeout", "60"],
            capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(swaks.returncode, 0, swaks.stdout.decode()[-3000:])
        self.assertRegex(swaks.stdout.decode(), r"<~  250 .*\n ~> QUIT")

        # "read: curl --ssl-reqd --cacert <cert> pop3://127.0.0.1:1110/1 --user alice"
        got = self.curl_retr(cert, pop3_pw)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertIn(("Subject: " + subject).encode(), got.stdout)
        self.assertIn(b"sent by tests/provisioning/test_demo.py", got.stdout)
        # "ask the server@ bot ... --to server@demo.onion --header "Subject: HELP""
        self.assertIn("--to server@demo.onion --header \"Subject: HELP\"", banner)
        bot = subprocess.run(
            ["swaks", "--config", self.secret_file("auth-password " + smtp_pw),
             "--server", "127.0.0.1", "--port", str(SMTP_PORT), "--tls",
             "--tls-verify", "--tls-ca-path", cert, "--auth", "PLAIN",
             "--auth-user", "alice", "--from", "alice@demo.onion",
             "--to", "server@demo.onion", "--header", "Subject: HELP", "--timeout", "60"],
            capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(bot.returncode, 0, bot.stdout.decode()[-3000:])
        self.assertRegex(bot.stdout.decode(), r"<~  250 2.0.0 Answered: the reply is in your mailbox")
        answer = self.curl_retr(cert, pop3_pw, number=2)
        self.assertEqual(answer.returncode, 0, answer.stderr)
        self.assertIn(b"This is the command bot of demo.onion", answer.stdout)
        wrong = self.curl_retr(cert, smtp_pw)  # the send password does not read
        self.assertNotEqual(wrong.returncode, 0)
        self.assertNotIn(subject.encode(), wrong.stdout)

        self.assertIn(self.stop_demo_like_ctrl_c(), (0, -signal.SIGINT, 130))
        # "Idempotent: an existing demo state is reused."
        token = self.token_files()
        self.start_demo()
        self.assertEqual(self.token_files(), token, "the token was made again")
        again = self.curl_retr(cert, pop3_pw)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn(("Subject: " + subject).encode(), again.stdout)
        self.stop_demo_like_ctrl_c()
        for pw in (smtp_pw, pop3_pw):
            self.assertNotIn(pw, self.log(), "a password reached the demo's output")


if __name__ == "__main__":
    unittest.main()
