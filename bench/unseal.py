#!/usr/bin/env python3
"""bench/unseal.py: time to unseal at boot, k-of-n unseal peers on loopback (issue 6).

Starts P = n - 1 peer servers (onionmaild with [peer] serve = true, file key backend, as in
tests/integration/test_unseal.py) and one measured server on 127.0.0.1, enrols the measured
server with its peers (`onionmailctl enrol --threshold k`, the local share is the n-th), then
boots it R times. Each boot: the previous run's <state>/unseal/status is removed, the clock
starts just before onionmaild is spawned, and one loop polls every --poll-ms (default 2 ms)
the status file and the server's log, while a second thread waits for the greetings (SMTP 220
then POP3 +OK, as bench/run.sh does). Measured, per boot, from process start:

  listening  both front ends greet (bench/run.sh's "start-up" figure)
  status     the key role wrote its first status ("sealed: yes": token open, enrolment read)
  asking     the peer role logged "master key sealed: asking N peers"
  unsealed   the status file says "sealed: no" (written after the master key is rebuilt,
             checked and the user services are active): the headline "time to unseal"

plus the DERK requests of the boot: the measured server's peer role logs one line per peer
it asked, each peer logs one "DERK: ok" per answer. Each request is one TLS connection, one
after another (TCP connect + greeting, EHLO, STARTTLS, TLS 1.3 handshake, EHLO, TORM DERK,
QUIT: about 7 round trips, from src/peer/torm_client.cc; not measured), and the key role's
count of key store device operations from start to stop (token open, DERK signatures). The
measured server uses the pkcs11 backend on a private SoftHSM2 token by default (--backend
tpm2: a private swtpm; --backend file: the file backend) and [log] level = "info" (the counts
come from the log). Peers allow 10000 answers per minute (the default 6 would refuse boots
after the sixth in a minute).

Prints a Markdown table (median, min..max over the boots) and writes JSON (--json). All
processes run in their own process groups and are killed at the end, on errors and on
Ctrl-C/SIGTERM; the temp dirs (one per server, under $TMPDIR) are removed unless --keep.
Reuses tests/integration/harness.py (TestEnv); run as root like the rest of bench/.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import harness  # noqa: E402  (TestEnv: config, keys, start/stop, process-group cleanup)

ROLES = ("onionmail-key", "onionmail-smtp", "onionmail-pop3", "onionmail-peer")
ASKING = re.compile(rb"peer: master key sealed: asking (\d+) peers")
ASKED = re.compile(rb"peer: peer \d+ \([^)]*\): (answered|refused|unreachable)")
ROUND_FAILED = re.compile(rb"still sealed after this round")
DERK_LINE = re.compile(rb"torm: DERK: (\S+)")
DEVICE_OPS = re.compile(rb"key: stopping on [^;\n]*; key store device operations since start: "
                        rb"(\d+)")
MEASURES = [  # key, label
    ("listening_ms", "listening: SMTP 220 and POP3 +OK (as bench/run.sh)"),
    ("status_ms", "key role up: first status written (\"sealed: yes\")"),
    ("asking_ms", "peer role starts asking its peers"),
    ("unsealed_ms", "**unsealed**: status \"sealed: no\""),
    ("exchange_ms", "asking .. unsealed (the DERK exchanges)"),
]


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted("signal %d" % signum)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def tls_pin(env):
    out = env.ctl("pin").stdout.decode()
    m = re.search(r"tls-pin: ([0-9a-f]{64})", out)
    if not m:
        raise RuntimeError("onionmailctl pin printed no tls-pin:\n" + out)
    return m.group(1)


def greetings(ports, t0, out, stop):
    """As bench/run.sh: SMTP then POP3, each until its greeting arrives."""
    for name, port, greeting in ports:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.settimeout(0.5)
                    if s.recv(64).startswith(greeting):
                        out[name] = (time.monotonic() - t0) * 1000
                        break
            except OSError:
                pass
            time.sleep(0.005)
    if "smtp" in out and "pop3" in out:
        out["listening_ms"] = max(out["smtp"], out["pop3"])


def boot_once(env, peers, poll, timeout):
    """One measured boot of the enrolled, stopped server env; returns its figures."""
    status_path = os.path.join(env.state_dir, "unseal", "status")
    if os.path.exists(status_path):
        os.unlink(status_path)
    log_off = size(env.log_path)
    peer_offs = [size(p.log_path) for p in peers]
    env._log_file = open(env.log_path, "ab")
    stop = threading.Event()
    greeted = {}
    t0 = time.monotonic()
    env.proc = subprocess.Popen([harness.ONIONMAILD, "--config", env.config_path],
                                stdin=subprocess.DEVNULL, stdout=env._log_file,
                                stderr=env._log_file, start_new_session=True)
    env._pgids.add(env.proc.pid)
    probe = threading.Thread(target=greetings, daemon=True, args=(
        [("smtp", env.smtp_port, b"220"), ("pop3", env.pop3_port, b"+OK")], t0, greeted, stop))
    probe.start()
    r = {}
    deadline = t0 + timeout
    try:
        with open(env.log_path, "rb") as log:
            log.seek(log_off)
            seen = b""
            while True:
                now = time.monotonic()
                if env.proc.poll() is not None:
                    raise RuntimeError("onionmaild exited rc=%s during boot:\n%s"
                                       % (env.proc.returncode, env.log_tail()))
                if now > deadline:
                    raise RuntimeError("not unsealed %.0f s after start:\n%s\n%s"
                                       % (timeout, read(status_path).decode(), env.log_tail()))
                seen += log.read()
                if "asking_ms" not in r and ASKING.search(seen):
                    r["asking_ms"] = (now - t0) * 1000
                st = read(status_path)
                if st and "status_ms" not in r:
                    r["status_ms"] = (now - t0) * 1000
                if b"sealed: no" in st:
                    r["unsealed_ms"] = (now - t0) * 1000
                    break
                time.sleep(poll)
        probe.join(max(0.0, deadline - time.monotonic()))
        if "listening_ms" not in greeted:
            raise RuntimeError("unsealed, but the front ends did not greet:\n" + env.log_tail())
    finally:
        stop.set()
        probe.join(1)
        env.stop()
        env._kill_group(env.proc.pid)  # the roles too, before the next boot
    r["listening_ms"] = greeted["listening_ms"]
    r["smtp_greeting_ms"], r["pop3_greeting_ms"] = greeted["smtp"], greeted["pop3"]
    if "asking_ms" in r:
        r["exchange_ms"] = r["unsealed_ms"] - r["asking_ms"]
    log = read(env.log_path)[log_off:]
    r["peer_requests"] = len(ASKED.findall(log))
    r["peer_requests_answered"] = sum(1 for m in ASKED.finditer(log) if m.group(1) == b"answered")
    r["failed_rounds"] = len(ROUND_FAILED.findall(log))
    ops = DEVICE_OPS.search(log)  # token open, server key, DERK request signatures
    r["device_ops"] = int(ops.group(1)) if ops else None
    outcomes = [o.decode() for p, off in zip(peers, peer_offs)
                for o in DERK_LINE.findall(read(p.log_path)[off:])]
    r["derk_at_peers"] = len(outcomes)
    r["derk_at_peers_ok"] = outcomes.count("ok")
    return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}


def summary(boots):
    out = {}
    for key in boots[0]:
        vals = [b[key] for b in boots if b.get(key) is not None]
        if vals:
            out[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
    return out


def markdown(doc):
    s = doc["summary"]
    lines = [
        "### Time to unseal at boot (%d-of-%d peers on loopback)\n" % (doc["threshold"], doc["n"]),
        "%d peers (onionmaild, `[peer] serve = true`, %s backend) + the local share; the server "
        "uses the %s backend. %d boots after one enrolment; time from spawning onionmaild; "
        "status file and log polled every %g ms.\n"
        % (doc["peers"], doc["peer_backend"], doc["server_backend_label"], doc["runs"],
           doc["poll_ms"]),
        "| from process start to ... | median ms | min..max ms |",
        "|---|---|---|",
    ]
    for key, label in MEASURES:
        if key in s:
            v = s[key]
            lines.append("| %s | %.0f | %.0f..%.0f |" % (label, v["median"], v["min"], v["max"]))
    for key, label in (("peer_requests", "DERK requests per boot (server log; 1 TLS connection, "
                                          "about 7 round trips each)"),
                       ("derk_at_peers_ok", "DERK answers per boot (peer logs, \"DERK: ok\")"),
                       ("device_ops", "key store device operations per boot (start .. stop; "
                                      "the key role's own count)"),
                       ("failed_rounds", "rounds that ended still sealed")):
        if key in s:
            v = s[key]
            lines.append("| %s | %g | %g..%g |" % (label, v["median"], v["min"], v["max"]))
    return "\n".join(lines) + "\n"


def softhsm_version():
    try:
        return subprocess.run(["softhsm2-util", "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main():
    default_build = os.environ.get("BUILD_DIR", os.path.join(TOP, "build-bench"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[2:]))
    ap.add_argument("--onionmaild", default=os.path.join(default_build, "src/server/onionmaild"),
                    help="the server binary; the role executables must be beside it")
    ap.add_argument("--onionmailctl", default=os.path.join(default_build, "src/ctl/onionmailctl"))
    ap.add_argument("--runs", type=int, default=5, help="measured boots (default 5)")
    ap.add_argument("--threshold", "-k", type=int, default=3, help="k (default 3)")
    ap.add_argument("--n", "-n", type=int, default=5,
                    help="n = peers + 1, the local share (default 5)")
    ap.add_argument("--backend", choices=("pkcs11", "tpm2", "file"), default="pkcs11",
                    help="the measured server's key backend (peers: file)")
    ap.add_argument("--poll-ms", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds per boot")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    a = ap.parse_args()
    if not 2 <= a.threshold <= a.n:
        ap.error("need 2 <= k <= n")
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    bindir = os.path.dirname(os.path.abspath(a.onionmaild))
    missing = [p for p in [a.onionmaild, a.onionmailctl] + [os.path.join(bindir, r)
               for r in ROLES] if not os.access(p, os.X_OK)]
    if missing:
        sys.exit("unseal.py: missing executables: " + " ".join(missing))
    harness.ONIONMAILD = os.path.abspath(a.onionmaild)
    harness.ONIONMAILCTL = os.path.abspath(a.onionmailctl)
    os.environ.pop("SOFTHSM2_CONF", None)  # bench/run.sh exports its own token's
    if a.keep:
        os.environ["ONIONMAIL_KEEP_TMP"] = "1"
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)

    peer_cfg = {"peer": {"serve": True, "rate_limit_answers": 10000}}
    peers, envs, server = [], [], None
    try:
        harness.KEYS_BACKEND = "file"
        for i in range(a.n - 1):
            env = harness.TestEnv(prefix="om-bench-unseal-peer%d-" % i, extra_config=peer_cfg)
            envs.append(env)
            peers.append(env)
            env.init()
            env.start()
        harness.KEYS_BACKEND = a.backend
        server = harness.TestEnv(prefix="om-bench-unseal-server-")
        envs.append(server)
        server.init()
        peer_args = []
        for p in peers:
            peer_args += ["--peer", "127.0.0.1:%d=%s" % (p.smtp_port, tls_pin(p))]
        server.ctl("enrol", "--threshold", str(a.threshold), "--kctl-out",
                   os.path.join(server.secrets_dir, "kctl.pem"), *peer_args)
        print("unseal.py: %d peers up, server enrolled %d-of-%d (%s backend); %d boots"
              % (len(peers), a.threshold, a.n, a.backend, a.runs), file=sys.stderr)
        boots = []
        for i in range(a.runs):
            b = boot_once(server, peers, a.poll_ms / 1000, a.timeout)
            boots.append(b)
            print("unseal.py: boot %d: listening %.0f ms, unsealed %.0f ms, %d DERK request(s)"
                  % (i + 1, b["listening_ms"], b["unsealed_ms"], b["peer_requests"]),
                  file=sys.stderr)
    except Interrupted as e:
        print("unseal.py: interrupted (%s); cleaning up" % e, file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for env in reversed(envs):
            try:
                env.stop()  # SIGTERM first: the supervisor reaps its roles
            except AssertionError:
                pass  # cleanup() kills the process group
            env.cleanup()

    backend_label = {"pkcs11": "pkcs11 (SoftHSM2 %s token)" % softhsm_version(),
                     "tpm2": "tpm2 (a private swtpm, TCP TCTI)"}.get(a.backend, a.backend)
    doc = {"threshold": a.threshold, "n": a.n, "peers": a.n - 1, "runs": a.runs,
           "server_backend": a.backend, "server_backend_label": backend_label,
           "peer_backend": "file", "poll_ms": a.poll_ms, "log_level": "info",
           "round_trips_per_request": 7, "boots": boots, "summary": summary(boots)}
    print(markdown(doc))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(doc, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
