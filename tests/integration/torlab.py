"""Private, fully offline Tor test network for the integration tests.

Contract:
  * TorLab(workdir, base_port, relays=5, hs_extra_lines=()) runs 1 directory
    authority (a0), `relays` relays, one "hs" tor hosting onion services
    (hs_extra_lines: extra torrc lines, e.g. HiddenServiceDir/Port) and one
    "client" tor with a SOCKS port, all on 127.0.0.1; nothing leaves the host.
    Why 5 relays, not 3: onion circuits need 4 distinct relays (guard,
    vanguard, middle, intro/rendezvous/HSDir); with a0 + 3 relays, one relay
    missing from a consensus stalled a service for > 90 s.
  * Ports: ORPort base+i (a0=0, relays 1..N), the authority's DirPort
    base+100, ControlPort base+200+i (hs=N+1, client=N+2), client SocksPort
    base+900 (socks_port_for()). start() fails if one of them is taken.
  * Every tor is a foreground child (RunAsDaemon 0, Sandbox 0) with its own
    DataDirectory (0700, wiped by start()) and torrc in workdir/<node>/,
    logging notices to notice.log there. __OwningControllerProcess makes them
    exit by themselves if this Python process dies without calling stop().
  * start() returns once the client and the hs tor log "Bootstrapped 100%"
    AND both see every relay Running with its microdescriptor (tor says 100%
    with part of the relays; onion circuits then fail for a while). On
    failure or timeout it stops whatever it started and raises RuntimeError
    with the tail of every log. stop() kills exactly the PIDs it started
    (SIGTERM, SIGKILL after 5 s) and is idempotent.
  * add_onion() creates a v3 onion service (ADD_ONION, Detach: it lives until
    stop()); wait_reachable() retries a SOCKS5 CONNECT (ATYP=3: .onion names
    are never resolved locally). No exits: clearnet fails by design.
  * Runs as root or as an unprivileged user (tor is fine as root with User
    unset). tor lives in /usr/sbin on Debian, which is searched explicitly.
"""

import os
import shutil
import socket
import struct
import subprocess
import time

TOR = os.environ.get("TOR") or shutil.which(
    "tor", path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin")
TOR_GENCERT = os.environ.get("TOR_GENCERT") or shutil.which(
    "tor-gencert", path=os.environ.get("PATH", "") + ":/usr/bin:/usr/sbin")

_COMMON = """TestingTorNetwork 1
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
TestingDirAuthVoteExit *
TestingMinExitFlagThreshold 0
PathsNeededToBuildCircuits 0.67
V3AuthNIntervalsValid 2
AssumeReachable 1
Schedulers Vanilla
GeoIPFile /dev/null
GeoIPv6File /dev/null
CookieAuthentication 1
Sandbox 0
SafeLogging 0
RunAsDaemon 0
"""
_RELAY = """Address 127.0.0.1
SocksPort 0
ExitRelay 0
ExitPolicy reject *:*
ServerDNSDetectHijacking 0
ServerDNSTestAddresses
ServerDNSResolvConfFile /dev/null
"""
_AUTHORITY = """AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
V3AuthVotingInterval 10
TestingV3AuthInitialVotingInterval 10
V3AuthVoteDelay 2
TestingV3AuthInitialVoteDelay 2
V3AuthDistDelay 2
TestingV3AuthInitialDistDelay 2
"""
SOCKS_REPLIES = dict(enumerate((
    "ok", "general failure", "not allowed", "network unreachable", "host unreachable",
    "connection refused", "TTL expired", "command not supported", "bad address type")))


class Socks5Error(OSError):
    """A SOCKS5 CONNECT failed; code is the server's reply code (REP), or
    None if the proxy closed or broke the handshake before replying."""

    def __init__(self, code, detail=""):
        self.code = code
        super().__init__("SOCKS5 reply %s (%s)" % ("none", detail) if code is None
                         else "SOCKS5 reply 0x%02x (%s)" % (code, SOCKS_REPLIES.get(code)))


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Socks5Error(None, "proxy closed the connection")
        data += chunk
    return data


def socks5_connect(socks_port, host, port, timeout):
    """Returns a socket connected to host:port through the SOCKS5 proxy on
    127.0.0.1:socks_port; the name goes to the proxy as ATYP=3 (hostname).
    Raises Socks5Error(code) if the proxy refuses, socket.timeout/OSError
    if the proxy itself is unreachable or too slow."""
    sock = socket.create_connection(("127.0.0.1", socks_port), timeout=timeout)
    try:
        sock.sendall(b"\x05\x01\x00")
        if _recv_exact(sock, 2) != b"\x05\x00":
            raise Socks5Error(None, "no-auth method refused")
        name = host.encode("ascii")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name
                     + struct.pack(">H", port))
        ver, rep, _, atyp = _recv_exact(sock, 4)
        if ver != 5 or rep != 0:
            raise Socks5Error(rep)
        # BND.ADDR (IPv4, IPv6 or length-prefixed name) + BND.PORT
        _recv_exact(sock, (_recv_exact(sock, 1)[0] if atyp == 3 else
                           16 if atyp == 4 else 4) + 2)
        sock.settimeout(None)
        return sock
    except BaseException:
        sock.close()
        raise


def socks_port_for(base_port):
    """The client's SocksPort for a lab on base_port (known before start())."""
    return base_port + 900


def _port_free(port):
    """True if nothing listens on 127.0.0.1:port (TIME_WAIT does not count:
    tor binds with SO_REUSEADDR too)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class TorLab:
    def __init__(self, workdir, base_port=17000, relays=5, hs_extra_lines=()):
        self.workdir = os.path.abspath(workdir)
        self.hs_extra_lines = list(hs_extra_lines)  # e.g. HiddenServiceDir/Port
        self.base = base_port
        self.relays = relays
        # (name, index): ORPort base+i (a0 and relays), ControlPort base+200+i
        self.nodes = [("r%d" % k if k else "a0", k) for k in range(relays + 1)]
        self.nodes += [("hs", relays + 1), ("client", relays + 2)]
        self.procs = {}            # node name -> Popen
        self.bootstrap_seconds = {}  # phase -> seconds after the first launch

    @property
    def socks_port(self):
        return socks_port_for(self.base)

    def control_port(self, node="hs"):
        return self.base + 200 + dict(self.nodes)[node]

    def _dir(self, node):
        return os.path.join(self.workdir, node)

    def ports(self):
        ports = [self.base + i for i in range(self.relays + 1)] + [self.base + 100]
        return ports + [self.base + 200 + i for _, i in self.nodes] + [self.socks_port]

    def _make_authority_keys(self):
        """tor-gencert keys in a0/keys; returns (v3ident, relay fingerprint)."""
        ddir = self._dir("a0")
        keys = os.path.join(ddir, "keys")
        os.makedirs(keys, mode=0o700, exist_ok=True)
        subprocess.run(
            [TOR_GENCERT, "--create-identity-key", "--passphrase-fd", "0",
             "-i", "keys/authority_identity_key", "-s", "keys/authority_signing_key",
             "-c", "keys/authority_certificate", "-m", "12",
             "-a", "127.0.0.1:%d" % (self.base + 100)],
            cwd=ddir, input=b"\n", check=True, capture_output=True)
        with open(os.path.join(keys, "authority_certificate")) as f:
            v3ident = next(line.split()[1] for line in f
                           if line.startswith("fingerprint "))
        out = subprocess.run(
            [TOR, "--ignore-missing-torrc", "-f", "/dev/null", "--orport", "1",
             "--datadirectory", ddir, "--list-fingerprint"],
            check=True, capture_output=True, text=True).stdout
        fp = "".join(out.strip().splitlines()[-1].split()[1:])
        if len(fp) != 40:
            raise RuntimeError("torlab: bad fingerprint output: %r" % out)
        return v3ident, fp

    def _torrc(self, node, i, dirauth):
        ddir = self._dir(node)
        lines = [_COMMON, dirauth,
                 "Nickname %s\nDataDirectory %s\nLog notice file %s\n"
                 "ControlPort 127.0.0.1:%d\n__OwningControllerProcess %d\n" % (
                     node, ddir,
                     os.path.join(ddir, "notice.log"), self.base + 200 + i, os.getpid())]
        if i <= self.relays:
            lines += [_RELAY, "ORPort 127.0.0.1:%d\n" % (self.base + i)]
        if node == "a0":
            lines += [_AUTHORITY, "DirPort 127.0.0.1:%d\n" % (self.base + 100)]
        if node == "hs":
            lines += ["SocksPort 0\n"] + [ln + "\n" for ln in self.hs_extra_lines]
        if node == "client":
            lines.append("SocksPort 127.0.0.1:%d\n" % self.socks_port)
        path = os.path.join(ddir, "torrc")
        with open(path, "w") as f:
            f.write("".join(lines))
        return path

    def start(self, timeout=150.0):
        if self.procs:
            raise RuntimeError("torlab: already started")
        if not TOR or not TOR_GENCERT:
            raise RuntimeError("torlab: tor or tor-gencert not found")
        taken = [p for p in self.ports() if not _port_free(p)]
        if taken:
            raise RuntimeError("torlab: 127.0.0.1 port(s) already in use: %s"
                               % ", ".join(map(str, taken)))
        try:
            self.bootstrap_seconds = {}
            for node, _ in self.nodes:  # fresh state: no stale keys/consensus
                shutil.rmtree(self._dir(node), ignore_errors=True)
                os.makedirs(self._dir(node), mode=0o700)
            v3ident, fp = self._make_authority_keys()
            dirauth = ("DirAuthority a0 orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s\n"
                       % (self.base, v3ident, self.base + 100, fp))
            t0 = self._t0 = time.monotonic()
            # hs and client start once a0 has a consensus listing every relay:
            # tor backs off its fetches after 404s (one bootstrap took 85 s).
            self._launch([n for n in self.nodes if n[1] <= self.relays], dirauth)
            self._wait(t0, timeout, "a0 consensus listing every relay",
                       lambda: self._full_view("a0"))
            self.bootstrap_seconds["consensus"] = time.monotonic() - t0
            self._launch([n for n in self.nodes if n[1] > self.relays], dirauth)
            self._nudge_at = time.monotonic() + 3
            self._wait(t0, timeout, "hs and client bootstrap", self._clients_ready)
        except BaseException as e:
            tail = self.log_tails()
            self.stop()
            if isinstance(e, Exception) and not isinstance(e, RuntimeError):
                raise RuntimeError("torlab: start failed: %r %s\n%s" % (
                    e, getattr(e, "stderr", "") or "", tail)) from e
            raise

    def _launch(self, nodes, dirauth):
        for node, i in nodes:
            torrc = self._torrc(node, i, dirauth)
            with open(os.path.join(self._dir(node), "stdout.log"), "wb") as out:
                self.procs[node] = subprocess.Popen(
                    [TOR, "-f", torrc], stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True)

    def _wait(self, t0, timeout, what, ready):
        while not ready():
            for node, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError("torlab: tor %s exited with %s\n%s"
                                       % (node, proc.returncode, self.log_tails()))
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("torlab: no %s within %.0f s\n%s"
                                   % (what, timeout, self.log_tails()))
            time.sleep(0.25)

    def _clients_ready(self):
        now = time.monotonic()
        for node in ("client", "hs"):
            if node not in self.bootstrap_seconds and \
                    "Bootstrapped 100%" in self._read_log(node):
                self.bootstrap_seconds[node] = now - self._t0
        lagging = [n for n in ("client", "hs") if not self._full_view(n)]
        if lagging and now > self._nudge_at:  # tor backs off failed microdesc
            for node in lagging:  # fetches for up to a minute; a HUP resets that
                try:  # (same torrc: nothing changes)
                    self.control(node, "SIGNAL RELOAD")
                except (OSError, RuntimeError):
                    pass
            self._nudge_at = now + 5
        if lagging or not {"client", "hs"} <= self.bootstrap_seconds.keys():
            return False
        self.bootstrap_seconds["full_view"] = now - self._t0
        return True

    def _read_log(self, node, name="notice.log"):
        try:
            with open(os.path.join(self._dir(node), name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tails(self, lines=12):
        out = []
        for node, _ in self.nodes:  # stdout.log only matters if tor died early
            name = "notice.log" if self._read_log(node) else "stdout.log"
            text = self._read_log(node, name).splitlines()[-lines:]
            if text:
                out.append("--- %s/%s\n%s" % (node, name, "\n".join(text)))
        return "\n".join(out)

    def control(self, node, *commands):
        """Runs commands on a fresh cookie-authenticated control connection
        to `node`; returns one list of reply lines per command (data lines of
        "250+" replies included). Raises RuntimeError if a reply is not 250."""
        with open(os.path.join(self._dir(node), "control_auth_cookie"), "rb") as f:
            cookie = f.read().hex()
        replies = []
        with socket.create_connection(("127.0.0.1", self.control_port(node)),
                                      timeout=30) as s:
            rf = s.makefile("rb")

            def line():
                r = rf.readline()
                if not r:
                    raise RuntimeError("torlab: %s control port closed" % node)
                return r.decode(errors="replace").rstrip("\r\n")

            for cmd in ("AUTHENTICATE " + cookie,) + commands + ("QUIT",):
                s.sendall(cmd.encode() + b"\r\n")
                reply = [line()]
                while reply[-1][3:4] != " ":
                    if reply[-1][3:4] == "+":  # data block up to "."
                        reply += iter(line, ".")
                    reply.append(line())
                if not reply[-1].startswith("250"):
                    raise RuntimeError("torlab: %s %s -> %s" % (node, cmd.split()[0], reply))
                replies.append(reply)
        return replies[1:-1]

    def _full_view(self, node):
        """True once `node`'s consensus lists a0 and every relay as Running
        and it holds all their microdescriptors (bootstrap 100% needs fewer)."""
        try:
            ns, = self.control(node, "GETINFO ns/all")
        except (OSError, RuntimeError):  # not listening yet, no consensus yet
            return False
        nicks = [ln.split()[1] for ln in ns if ln.startswith("r ")]
        running = sum("Running" in ln.split() for ln in ns if ln.startswith("s "))
        if sorted(nicks) != sorted(n for n, i in self.nodes if i <= self.relays) \
                or running != len(nicks):
            return False
        try:
            self.control(node, *("GETINFO md/name/" + n for n in nicks))
        except RuntimeError:  # 552: microdescriptor not there yet
            return False
        return True

    def add_onion(self, target_port, virt_port=25):
        """Returns "<56 chars>.onion" forwarding virt_port to 127.0.0.1:target_port."""
        reply, = self.control("hs", "ADD_ONION NEW:ED25519-V3 Flags=DiscardPK,Detach "
                              "Port=%d,127.0.0.1:%d" % (virt_port, target_port))
        sid = next(r[4:].split("=", 1)[1] for r in reply if r[4:].startswith("ServiceID="))
        return sid + ".onion"

    def wait_reachable(self, onion, port, timeout=90.0):
        """Retries a SOCKS5 CONNECT every 1 s (a try may take 20 s); returns
        the seconds it took. Raises RuntimeError naming the last error."""
        t0 = time.monotonic()
        last = None
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                raise RuntimeError("torlab: %s:%d unreachable after %.0f s, last: %s"
                                   % (onion, port, timeout, last))
            t = time.monotonic()
            try:
                socks5_connect(self.socks_port, onion, port, min(left, 20.0)).close()
                return time.monotonic() - t0
            except OSError as e:
                last = e
                if time.monotonic() - t > 5:  # hung: a stuck rendezvous?
                    self._reset_client()
            time.sleep(max(0.0, min(1.0, timeout - (time.monotonic() - t0))))

    def _reset_client(self):
        """Closes the client's onion circuits and purges its onion state
        (NEWNYM). A rendezvous circuit whose service gave up (seen while the
        service lacked relays) otherwise keeps every later stream stalling."""
        try:
            circs, = self.control("client", "GETINFO circuit-status")
            ids = [ln.split()[0] for ln in circs if "PURPOSE=HS_CLIENT" in ln]
            self.control("client", "SIGNAL NEWNYM", *("CLOSECIRCUIT " + i for i in ids))
        except (OSError, RuntimeError):
            pass  # a circuit that closed meanwhile: 552

    def stop(self):
        procs, self.procs = list(self.procs.values()), {}
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def pids(self):
        return [p.pid for p in self.procs.values()]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
