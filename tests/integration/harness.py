"""Integration-test harness: runs the real onionmaild / onionmailctl binaries.

Contract used by every test module:
  * Binaries come from $ONIONMAILD / $ONIONMAILCTL (set by CTest), falling
    back to /work/main/build-int/src/{server,ctl}/...
  * Each TestEnv owns one temp directory: config file, state dir, password
    files (mode 0600, passwords never on argv), and the server's stderr log
    (kept OUTSIDE the state dir so forensic scans see only server state).
  * TLS clients verify the server certificate against <state_dir>/tls/cert.pem
    and connect to 127.0.0.1 (certificate SAN contains IP:127.0.0.1).
  * Small KDF parameters and short auth-failure delay keep tests fast.
  * Run as root, onionmailctl and the server's roles drop to the [sandbox]
    users (default onionmail, onionmail-smtp, onionmail-pop3): the harness
    creates them once with provisioning/create-users.sh if they are missing,
    and hands each TestEnv's temp root to onionmail (mode 0711) after the key
    setup, so the key role reaches the state dir and the SoftHSM2 token.
    Password files stay root-only: onionmailctl reads them before it drops.
  * Client helpers (CRLF, crlf, retr_bytes, RawLine, raw_smtp_tls) live in
    harness_clients.py and /proc scanning in harness_proc.py; the client
    helpers are re-exported here, so tests import them from harness.
"""

import os
import poplib
import pwd
import re
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

# Re-exported: the test modules import these from harness.
from harness_clients import CRLF, RawLine, crlf, raw_smtp_tls, retr_bytes  # noqa: F401
from harness_ports import free_port, free_port_pair  # noqa: F401 (re-exported)
from harness_proc import live_in_group

_DEFAULT_BUILD = "/work/main/build-int"
ONIONMAILD = os.environ.get(
    "ONIONMAILD", os.path.join(_DEFAULT_BUILD, "src/server/onionmaild"))
ONIONMAILCTL = os.environ.get(
    "ONIONMAILCTL", os.path.join(_DEFAULT_BUILD, "src/ctl/onionmailctl"))

# Which key-store backend the servers use: file (default), pkcs11 (a real
# SoftHSM2 token made per TestEnv) or tpm2 (a real swtpm started per TestEnv).
KEYS_BACKEND = os.environ.get("ONIONMAIL_TEST_KEYS", "file")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


KEY_USER = "onionmail"  # [sandbox] key_user default
_role_users_checked = False


def ensure_role_users():
    """As root: creates the role users once per process if they are missing
    (the key role's user alone is not enough: the front ends drop too)."""
    global _role_users_checked
    if os.geteuid() != 0 or _role_users_checked:
        return
    users = ("onionmail", "onionmail-smtp", "onionmail-pop3", "onionmail-peer",
             "onionmail-relay")
    if any(subprocess.run(["getent", "passwd", u],
                          stdout=subprocess.DEVNULL).returncode != 0 for u in users):
        subprocess.run([os.path.join(REPO, "provisioning", "create-users.sh")],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
    _role_users_checked = True


def hand_to_key_user(root):
    """As root: gives `root` (recursively) to the key role's user and makes
    the top searchable (0711) but not listable by others, so the dropped key
    role can reach the state dir and token inside it. No-op as non-root."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(KEY_USER)
    for base, dirs, files in os.walk(root):
        for name in [base] + [os.path.join(base, n) for n in dirs + files]:
            try:
                os.lchown(name, pw.pw_uid, pw.pw_gid)
            except FileNotFoundError:
                pass  # swtpm replaced its state file (written to a temp name, renamed)
    os.chmod(root, 0o711)


def random_domain():
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "t" + "".join(secrets.choice(alphabet) for _ in range(15)) + ".onion"


def write_secret_file(path, content):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content + "\n")


class User:
    def __init__(self, name, smtp_pw, pop3_pw, domain):
        self.name = name
        self.smtp_pw = smtp_pw
        self.pop3_pw = pop3_pw
        self.addr = "%s@%s" % (name, domain)


class TestEnv:
    """One server instance with its own state dir, config and users."""

    def __init__(self, prefix="om-int-", domain=None, extra_config=None,
                 log_addresses=False):
        self.root = tempfile.mkdtemp(prefix=prefix)
        self.domain = domain or random_domain()
        self.state_dir = os.path.join(self.root, "state")
        self.secrets_dir = os.path.join(self.root, "secrets")
        os.mkdir(self.secrets_dir, 0o700)
        self.config_path = os.path.join(self.root, "onionmaild.toml")
        self.log_path = os.path.join(self.root, "server.log")
        self.smtp_port = free_port()
        self.pop3_port = free_port()
        self.proc = None
        self._pgids = set()  # process groups of servers we started
        self.users = {}
        self._log_file = None
        cfg = extra_config or {}
        self.swtpm = None
        ensure_role_users()
        keys = self._setup_keys()
        hand_to_key_user(self.root)
        sections = {
            "server": {"domain": self.domain, "state_dir": self.state_dir,
                       "auth_failure_delay_ms": 50},
            "smtp": {"listen": "127.0.0.1:%d" % self.smtp_port,
                     "idle_timeout_seconds": 60},
            "pop3": {"listen": "127.0.0.1:%d" % self.pop3_port,
                     "idle_timeout_seconds": 60},
            "store": {},
            "kdf": {"argon2_t_cost": 1, "argon2_m_cost_kib": 8192,
                    "argon2_parallelism": 1},
            "log": {"level": "info", "log_addresses": log_addresses},
            "keys": keys,
        }
        for sec, kv in cfg.items():
            sections.setdefault(sec, {}).update(kv)
        lines = []
        for sec, kv in sections.items():
            lines.append("[%s]" % sec)
            for k, v in kv.items():
                if isinstance(v, bool):
                    lines.append("%s = %s" % (k, "true" if v else "false"))
                elif isinstance(v, int):
                    lines.append("%s = %d" % (k, v))
                elif isinstance(v, list):  # of strings
                    lines.append("%s = [%s]" % (k, ", ".join('"%s"' % x for x in v)))
                else:
                    lines.append('%s = "%s"' % (k, v))
            lines.append("")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    # --------------------------------------------------------------- keys
    def _setup_keys(self):
        if KEYS_BACKEND == "file":
            return {"backend": "file"}
        if KEYS_BACKEND == "pkcs11":
            d = os.path.join(self.root, "softhsm")
            subprocess.run([os.path.join(REPO, "provisioning", "softhsm-init.sh"),
                            "--dir", d, "--non-interactive"], check=True,
                           capture_output=True, stdin=subprocess.DEVNULL)
            return {"backend": "pkcs11", "pin_file": os.path.join(d, "user.pin"),
                    "softhsm2_conf": os.path.join(d, "softhsm2.conf")}
        if KEYS_BACKEND == "tpm2":
            self.swtpm_dir = os.path.join(self.root, "swtpm")
            os.mkdir(self.swtpm_dir, 0o700)
            self.swtpm_port = free_port_pair()
            self.start_swtpm()
            return {"backend": "tpm2",
                    "tcti": "swtpm:host=127.0.0.1,port=%d" % self.swtpm_port}
        raise AssertionError("unknown ONIONMAIL_TEST_KEYS=%s" % KEYS_BACKEND)

    def start_swtpm(self):
        """Starts (or restarts, on the same state and port) the test swtpm."""
        port = self.swtpm_port
        self.swtpm = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + self.swtpm_dir,
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % port,
             "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % (port + 1),
             "--flags", "not-need-init,startup-clear"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self._pgids.add(self.swtpm.pid)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("swtpm did not start")
                time.sleep(0.05)

    def stop_swtpm(self):
        self.swtpm.kill()
        self.swtpm.wait()

    # ---------------------------------------------------------------- ctl
    def ctl(self, *args, check=True, timeout=120):
        p = subprocess.run([ONIONMAILCTL, "--config", self.config_path] +
                           list(args), capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, start_new_session=True)
        if check and p.returncode != 0:
            raise AssertionError(
                "onionmailctl %s failed rc=%d\nstdout=%r\nstderr=%r" %
                (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def init(self):
        self.ctl("init")
        if not os.path.exists(self.cert_path):
            raise AssertionError("init did not create %s" % self.cert_path)
        self.check_state_owner()

    def check_state_owner(self):
        """As root: onionmailctl must have created everything in the state
        dir as the key role's user (it drops before touching state)."""
        if os.geteuid() != 0:
            return
        uid = pwd.getpwnam(KEY_USER).pw_uid
        for base, dirs, files in os.walk(self.state_dir):
            for name in [base] + [os.path.join(base, n) for n in dirs + files]:
                st = os.lstat(name)
                if st.st_uid != uid:
                    raise AssertionError("%s is owned by uid %d, not by %s"
                                         % (name, st.st_uid, KEY_USER))

    @property
    def cert_path(self):
        return os.path.join(self.state_dir, "tls", "cert.pem")

    def pw_file(self, content):
        path = os.path.join(self.secrets_dir, "pw-" + secrets.token_hex(6))
        write_secret_file(path, content)
        return path

    def add_user(self, name, smtp_pw=None, pop3_pw=None):
        smtp_pw = smtp_pw or "s-" + secrets.token_urlsafe(15)
        pop3_pw = pop3_pw or "p-" + secrets.token_urlsafe(15)
        a, b = self.pw_file(smtp_pw), self.pw_file(pop3_pw)
        self.ctl("user", "add", name, "--smtp-password-file", a,
                 "--pop3-password-file", b)
        os.unlink(a)
        os.unlink(b)
        u = User(name, smtp_pw, pop3_pw, self.domain)
        self.users[name] = u
        return u

    # ------------------------------------------------------------- server
    def start(self, timeout=20.0):
        assert self.proc is None or self.proc.poll() is not None
        if self.proc is not None:  # roles of a killed server may linger briefly
            self._kill_group(self.proc.pid)
            # Its listeners must be gone too: otherwise the new server cannot
            # bind (and exits) while the readiness probe below reaches the
            # dying old listener, whose close then resets the test's next
            # connection (seen once under ASan after a SIGKILL).
            self._wait_ports_free((self.smtp_port, self.pop3_port))
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [ONIONMAILD, "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=self._log_file, start_new_session=True)
        self._pgids.add(self.proc.pid)
        deadline = time.monotonic() + timeout
        pending = {self.smtp_port, self.pop3_port}
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError("onionmaild exited rc=%s during start:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("onionmaild not ready after %.0fs:\n%s"
                                     % (timeout, self.log_tail()))
            for port in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    pending.discard(port)
                except OSError:
                    pass
            if pending:
                time.sleep(0.05)

    def stop(self, timeout=15.0):
        """SIGTERM; returns exit code. Raises if the server ignores SIGTERM."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("onionmaild did not stop on SIGTERM within "
                                 "%.0fs" % timeout)
        finally:
            self._close_log()
        return rc

    def kill(self):
        """SIGKILL the server and its roles (its process group), and wait
        until every one of them is gone: the roles die of PDEATHSIG shortly
        after the supervisor, and until then they hold the listeners and
        mailbox locks a restarted server needs."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._kill_group(self.proc.pid)
        self._close_log()

    # Pids of the non-zombie processes in process group pgid.
    _live_in_group = staticmethod(live_in_group)

    @classmethod
    def _kill_group(cls, pgid, wait=10.0):
        deadline = time.monotonic() + wait
        while cls._live_in_group(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("processes of group %d survive SIGKILL" % pgid)
            time.sleep(0.02)

    @staticmethod
    def _wait_ports_free(ports, wait=10.0):
        """Waits until nothing listens on `ports` of 127.0.0.1 (a bind with
        SO_REUSEADDR, as the server's own, succeeds)."""
        deadline = time.monotonic() + wait
        for port in ports:
            while True:
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        s.bind(("127.0.0.1", port))
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise AssertionError("port %d still held after the "
                                                 "server was killed" % port)
                time.sleep(0.02)

    def _close_log(self):
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_bytes(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def wait_log(self, pattern, wait=10.0, start=0):
        """The log from byte `start` once it matches the bytes regex `pattern`. Roles'
        lines reach the log through the supervisor (a pipe it reads), so a line may land
        a moment after the client got the reply that followed it."""
        deadline = time.monotonic() + wait
        while True:
            log = self.log_bytes()[start:]
            if re.search(pattern, log):
                return log
            if time.monotonic() > deadline:
                raise AssertionError("log never matched %r:\n%s" % (pattern, self.log_tail()))
            time.sleep(0.05)

    def log_tail(self, n=4000):
        return self.log_bytes()[-n:].decode("utf-8", "replace")

    def cleanup(self):
        try:
            self.kill()
            # Reap any helper processes the server left behind (they are in
            # the process groups we created; never signal anything else).
            for pgid in self._pgids:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        finally:
            if os.environ.get("ONIONMAIL_KEEP_TMP"):
                print("kept", self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ clients
    def tls_context(self):
        return ssl.create_default_context(cafile=self.cert_path)

    def smtp(self, tls=True, timeout=30):
        s = smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout)
        s.ehlo("client.test")
        if tls:
            s.starttls(context=self.tls_context())
            s.ehlo("client.test")
        return s

    def smtp_auth(self, user, timeout=30):
        s = self.smtp(timeout=timeout)
        s.login(user.name, user.smtp_pw)
        return s

    def pop3(self, timeout=30):
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)
        p.stls(context=self.tls_context())
        return p

    def pop3_login(self, user, timeout=30):
        p = self.pop3(timeout)
        p.user(user.name)
        p.pass_(user.pop3_pw)
        return p

    def send_external(self, rcpts, msg, sender="someone@remote.onion",
                      mail_options=()):
        """Delivers msg (bytes) via STARTTLS without AUTH from an external
        sender; returns sendmail's refused dict."""
        s = self.smtp()
        try:
            refused = s.sendmail(sender, rcpts, msg,
                                 mail_options=list(mail_options))
        except smtplib.SMTPException as e:
            # sendmail closes the socket on a 421 or a dropped connection; a
            # quit() then would hide the server's reply behind "please run
            # connect() first".
            s.close()
            e.add_note("server log:\n" + self.log_tail())
            raise
        s.quit()
        return refused

    def mail_files(self):
        """The message files and files being written in the state dir
        (docs/store.md). spare/ is left out: the store refills it by itself
        when idle."""
        found = []
        for sub in ("mbox", "tmp"):
            for base, _, files in os.walk(os.path.join(self.state_dir, sub)):
                found += [os.path.join(base, f) for f in files]
        return sorted(found)

    def fetch_all(self, user):
        """Returns list of (uidl, message bytes) for the user's mailbox."""
        p = self.pop3_login(user)
        try:
            out = []
            count, _ = p.stat()
            uids = {}
            for line in p.uidl()[1]:
                n, uid = line.split(None, 1)
                uids[int(n)] = uid
            for i in range(1, count + 1):
                out.append((uids.get(i), retr_bytes(p, i)))
            return out
        finally:
            p.quit()

    def mailbox_count(self, user):
        p = self.pop3_login(user)
        try:
            return p.stat()[0]
        finally:
            p.quit()


class ServerTestCase:
    """Mixin for unittest.TestCase: one initialised, running server per class
    with users alice and bob. Subclasses may set EXTRA_CONFIG / USERS."""

    EXTRA_CONFIG = None
    USERS = ("alice", "bob")
    LOG_ADDRESSES = False

    @classmethod
    def setUpClass(cls):
        cls.env = TestEnv(prefix="om-%s-" % cls.__name__.lower(),
                          extra_config=cls.EXTRA_CONFIG,
                          log_addresses=cls.LOG_ADDRESSES)
        try:
            cls.env.init()
            for name in cls.USERS:
                cls.env.add_user(name)
            cls.env.start()
        except BaseException:
            cls.env.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    # A role the supervisor had to restart during a test is a defect even when
    # the test's own checks pass: the client saw a dropped connection. Tests
    # that kill a role on purpose set self.role_deaths_expected = True; classes
    # that make roles fail at start set ROLE_DEATHS_EXPECTED.
    ROLE_DEATHS_EXPECTED = False
    ROLE_DEATH = re.compile(rb"role \S+ \(pid \d+\) [^\n]*restarting in")

    def setUp(self):
        if not self.env.running():
            self.fail("server not running before test:\n" + self.env.log_tail())
        self.role_deaths_expected = self.ROLE_DEATHS_EXPECTED
        self._log_offset = len(self.env.log_bytes())

    def tearDown(self):
        if not self.env.running():
            tail = self.env.log_tail()
            # Restart so later tests in the class still get a server.
            try:
                self.env.start()
            except AssertionError:
                pass
            self.fail("server died during test:\n" + tail)
        log = self.env.log_bytes()[self._log_offset:]
        if not self.role_deaths_expected and self.ROLE_DEATH.search(log):
            self.fail("a role died during the test:\n" +
                      log[-6000:].decode("utf-8", "replace"))
