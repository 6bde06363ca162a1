#!/usr/bin/env python3
"""Load generator for bench/run.sh: the same SMTP and POP3 workload against any server.

Stdlib only. Loopback only: the host must be 127.0.0.1 or ::1. Every loop is bounded by a
message or session count. Concurrency C means C client processes (not threads, so the client is
not held back by one interpreter lock), each with its own mailbox, started before the clock runs.

SMTP (per message, one new connection, as an MX sees it): connect, EHLO, STARTTLS, EHLO,
MAIL FROM an outside sender, RCPT TO one local user, DATA, 250; then QUIT. Latency is connect ..
250 after the final dot (TLS handshake included, QUIT excluded). No AUTH: inbound mail.
For onionmaild the 250 means stored and fsynced. For Postfix + Dovecot the 250 means queued;
with --maildir the generator also waits until every message is a file in the users' Maildir and
reports that end-to-end "delivered" rate too.

POP3 (per session, one new connection): connect, STLS, USER, PASS, LIST, RETR every message,
QUIT (no DELE, so sessions repeat on the same fixture of F x 4 KiB messages per mailbox).

For every phase it records the servers' CPU seconds (procmon.ProcTree over --pids), the peak
sum of RSS and PSS of the servers' processes, the clients' own CPU, and how busy the machine was.
Output: one JSON document (--out).
"""

import argparse
import json
import multiprocessing
import os
import random
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procmon  # noqa: E402

SENDER = b"sender@example.org"
PLANS = {
    # smtp: (size, concurrency, messages); pop3: (concurrency, sessions slow KDF, sessions fast)
    "full": {"smtp": [(4096, 1, 200), (4096, 8, 400), (1 << 20, 1, 16), (1 << 20, 8, 48)],
             "pop3": [(1, 8, 40), (8, 24, 96)], "fixture": 10},
    "quick": {"smtp": [(4096, 1, 10), (4096, 8, 16), (1 << 20, 1, 2), (1 << 20, 8, 8)],
              "pop3": [(1, 2, 4), (8, 8, 8)], "fixture": 2},
}


class ProtocolError(Exception):
    pass


def make_message(size, rcpt, seed):
    """Headers plus a body of exactly `size` bytes of 76-column printable lines, CRLF, no line
    starting with '.', so no dot-stuffing is needed; returns the DATA payload with the final dot."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    header = (f"From: <{SENDER.decode()}>\r\nTo: <{rcpt}>\r\nSubject: bench {size}\r\n"
              f"Message-ID: <{seed}.{size}@example.org>\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
              "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    line = "".join(rng.choice(alphabet) for _ in range(76)) + "\r\n"
    body = (line * (size // len(line) + 1))[:size - 2] + "\r\n"
    return header.encode() + body.encode() + b".\r\n"


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed on both sides; the handshake cost is the same
    return ctx


def smtp_reply(f):
    while True:
        line = f.readline(4096)
        if len(line) < 4:
            raise ProtocolError(f"short SMTP reply {line!r}")
        if line[3:4] != b"-":
            return int(line[:3])


def smtp_expect(f, code, what):
    got = smtp_reply(f)
    if got != code:
        raise ProtocolError(f"{what}: expected {code}, got {got}")


def smtp_send_one(host, port, ctx, rcpt, payload):
    """Returns (latency seconds, tls version, cipher)."""
    t0 = time.perf_counter()
    raw = socket.create_connection((host, port), timeout=120)
    try:
        f = raw.makefile("rb")
        smtp_expect(f, 220, "greeting")
        raw.sendall(b"EHLO client.example.org\r\n")
        smtp_expect(f, 250, "EHLO")
        raw.sendall(b"STARTTLS\r\n")
        smtp_expect(f, 220, "STARTTLS")
        tls = ctx.wrap_socket(raw)
        f = tls.makefile("rb")
        tls.sendall(b"EHLO client.example.org\r\n")
        smtp_expect(f, 250, "EHLO after TLS")
        tls.sendall(b"MAIL FROM:<" + SENDER + b">\r\n")
        smtp_expect(f, 250, "MAIL")
        tls.sendall(b"RCPT TO:<" + rcpt.encode() + b">\r\n")
        smtp_expect(f, 250, "RCPT")
        tls.sendall(b"DATA\r\n")
        smtp_expect(f, 354, "DATA")
        tls.sendall(payload)
        smtp_expect(f, 250, "end of data")
        latency = time.perf_counter() - t0
        info = (tls.version(), tls.cipher()[0])
        try:
            tls.sendall(b"QUIT\r\n")
            smtp_reply(f)
        except (OSError, ProtocolError):
            pass
        tls.close()
        return latency, info
    finally:
        raw.close()


def pop3_ok(f, what):
    line = f.readline(4096)
    if not line.startswith(b"+OK"):
        raise ProtocolError(f"{what}: {line[:40]!r}")
    return line


def pop3_multiline(f):
    lines, nbytes = [], 0
    while True:
        line = f.readline(1 << 20)
        if not line:
            raise ProtocolError("connection closed in multi-line reply")
        if line == b".\r\n":
            return lines, nbytes
        nbytes += len(line)
        lines.append(line)


def pop3_session(host, port, ctx, user, password):
    """Returns (latency seconds, messages retrieved, bytes retrieved)."""
    t0 = time.perf_counter()
    raw = socket.create_connection((host, port), timeout=120)
    try:
        f = raw.makefile("rb")
        pop3_ok(f, "greeting")
        raw.sendall(b"STLS\r\n")
        pop3_ok(f, "STLS")
        tls = ctx.wrap_socket(raw)
        f = tls.makefile("rb")
        tls.sendall(b"USER " + user.encode() + b"\r\n")
        pop3_ok(f, "USER")
        tls.sendall(b"PASS " + password.encode() + b"\r\n")
        pop3_ok(f, "PASS")
        tls.sendall(b"LIST\r\n")
        pop3_ok(f, "LIST")
        listing, _ = pop3_multiline(f)
        total = 0
        for entry in listing:
            tls.sendall(b"RETR " + entry.split()[0] + b"\r\n")
            pop3_ok(f, "RETR")
            total += pop3_multiline(f)[1]
        tls.sendall(b"QUIT\r\n")
        pop3_ok(f, "QUIT")
        tls.close()
        return time.perf_counter() - t0, len(listing), total
    finally:
        raw.close()


def worker(task):
    """Runs in a pool process: a bounded loop of messages or sessions; returns its own figures."""
    kind, host, port, user, arg, count, seed = task
    ctx = client_context()
    cpu0 = time.process_time()
    lat, errors, info, msgs, nbytes = [], [], None, 0, 0
    payload = make_message(arg, f"{user}@bench.test", seed) if kind == "smtp" else None
    for _ in range(count):
        try:
            if kind == "smtp":
                latency, info = smtp_send_one(host, port, ctx, f"{user}@bench.test", payload)
            else:
                latency, n, b = pop3_session(host, port, ctx, user, arg)
                msgs, nbytes = msgs + n, nbytes + b
            lat.append(latency)
        except (OSError, ProtocolError, ssl.SSLError) as e:
            errors.append(f"{type(e).__name__}: {e}"[:200])
    return {"lat": lat, "errors": errors, "cpu": time.process_time() - cpu0, "tls": info,
            "msgs": msgs, "bytes": nbytes}


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Bench:
    def __init__(self, args):
        self.args = args
        self.tree = procmon.ProcTree(args.pids.split(","))
        self.pool = multiprocessing.get_context("fork").Pool(8)

    def stored_count(self, users):
        """Messages stored: Maildir files (peer) or message files in onionmaild's store."""
        n = 0
        if self.args.maildir:
            for u in users:
                for sub in ("new", "cur"):
                    d = os.path.join(self.args.maildir, u, "Maildir", sub)
                    if os.path.isdir(d):
                        n += len(os.listdir(d))
        elif self.args.om_mbox:
            for d in os.listdir(self.args.om_mbox):
                n += sum(1 for x in os.listdir(os.path.join(self.args.om_mbox, d)) if x != "lock")
        return n

    def run_tasks(self, kind, port, users, arg, conc, count, users_for_count):
        per = [count // conc + (1 if i < count % conc else 0) for i in range(conc)]
        tasks = [(kind, self.args.host, port, users[i], arg, per[i], i) for i in range(conc)]
        stored0 = self.stored_count(users_for_count) if kind == "smtp" else 0
        sampler = procmon.Sampler(self.tree)
        cpu0, mach0 = self.tree.cpu_seconds(), procmon.machine_cpu()
        sampler.start()
        t0 = time.perf_counter()
        results = self.pool.map(worker, tasks, chunksize=1)
        t_done = time.perf_counter()
        ok = sum(len(r["lat"]) for r in results)
        stored, t_stored = None, None
        if kind == "smtp" and (self.args.maildir or self.args.om_mbox):
            deadline = t_done + 300
            while True:
                stored = self.stored_count(users_for_count) - stored0
                if stored >= ok or time.perf_counter() > deadline:
                    break
                time.sleep(0.01)
            t_stored = time.perf_counter()
        cpu1, mach1 = self.tree.cpu_seconds(), procmon.machine_cpu()
        sampler.stop()
        busy, steal = procmon.machine_busy(mach0, mach1)
        lat = sorted(x for r in results for x in r["lat"])
        errors = [e for r in results for e in r["errors"]]
        wall = t_done - t0
        out = {
            "kind": kind, "conc": conc, "requested": count, "ok": ok, "errors": len(errors),
            "error_samples": errors[:3], "wall_s": wall, "rate": ok / wall if wall > 0 else 0,
            "p50_ms": percentile(lat, 50) * 1e3 if lat else None,
            "p99_ms": percentile(lat, 99) * 1e3 if lat else None,
            "server_cpu_s": cpu1 - cpu0,
            "server_cpu_ms_per_item": (cpu1 - cpu0) * 1e3 / ok if ok else None,
            "client_cpu_s": sum(r["cpu"] for r in results),
            "peak_rss_mib": sampler.peak_rss / 2**20, "peak_pss_mib": sampler.peak_pss / 2**20,
            "peak_procs": sampler.peak_procs, "machine_busy_pct": busy, "steal_pct": steal,
            "tls": next((r["tls"] for r in results if r["tls"]), None),
        }
        if stored is not None:
            out["stored"] = stored
            span = t_stored - t0
            out["delivered_rate"] = stored / span if span > 0 else 0
        if kind == "pop3":
            out["msgs"] = sum(r["msgs"] for r in results)
            out["bytes"] = sum(r["bytes"] for r in results)
            out["msg_rate"] = out["msgs"] / wall if wall > 0 else 0
        return out

    def fixture(self, users, per_user):
        """Untimed: per_user 4 KiB messages in each POP3 mailbox."""
        for start in range(0, len(users), 8):
            chunk = users[start:start + 8]
            self.run_tasks("smtp", self.args.smtp_port, chunk, 4096, len(chunk),
                           per_user * len(chunk), chunk)

    def suite(self):
        a = self.args
        plan = PLANS[a.plan]
        smtp_users = [f"{a.smtp_prefix}{i}" for i in range(1, 9)]
        groups = []
        for spec in a.pop3_group:
            label, prefix, password, slow = spec.split(":")
            groups.append((label, [f"{prefix}{i}" for i in range(1, 9)], password, slow == "1"))
        for _, users, _, _ in groups:
            self.fixture(users, plan["fixture"])
        phases = []
        for run in range(a.runs):
            for size, conc, count in plan["smtp"]:
                r = self.run_tasks("smtp", a.smtp_port, smtp_users, size, conc, count, smtp_users)
                r.update(run=run, size=size, label=f"smtp {size // 1024} KiB")
                phases.append(r)
                self.report(r)
                time.sleep(0.3)
            for label, users, password, slow in groups:
                for conc, slow_n, fast_n in plan["pop3"]:
                    r = self.run_tasks("pop3", a.pop3_port, users, password, conc,
                                       slow_n if slow else fast_n, users)
                    r.update(run=run, group=label, label=f"pop3 {label}")
                    phases.append(r)
                    self.report(r)
                    time.sleep(0.3)
        return {"server": a.name, "plan": a.plan, "runs": a.runs, "fixture_per_mailbox":
                plan["fixture"], "phases": phases}

    def report(self, r):
        extra = f" delivered {r['delivered_rate']:.1f}/s" if "delivered_rate" in r else ""
        print(f"  [{self.args.name}] run {r['run'] + 1} {r['label']:<22} c={r['conc']} "
              f"ok={r['ok']}/{r['requested']} {r['rate']:.1f}/s{extra} "
              f"p50={r['p50_ms'] or 0:.1f}ms p99={r['p99_ms'] or 0:.1f}ms "
              f"cpu={r['server_cpu_ms_per_item'] or 0:.2f}ms/item "
              f"rss={r['peak_rss_mib']:.0f}MiB", flush=True)
        if r["errors"]:
            print(f"    errors: {r['errors']} e.g. {r['error_samples'][0]}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--name", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--pop3-port", type=int, required=True)
    p.add_argument("--pids", required=True, help="comma-separated root pids of the server")
    p.add_argument("--smtp-prefix", default="u", help="SMTP recipients are PREFIX1..PREFIX8")
    p.add_argument("--pop3-group", action="append", default=[],
                   help="LABEL:PREFIX:PASSWORD:SLOW (SLOW=1: fewer sessions); repeatable")
    p.add_argument("--maildir", help="peer: root of <user>/Maildir, to count delivered files")
    p.add_argument("--om-mbox", help="onionmaild: state_dir/mbox, to count stored messages")
    p.add_argument("--plan", choices=sorted(PLANS), default="full")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if a.host not in ("127.0.0.1", "::1", "localhost"):
        p.error("loopback only")
    bench = Bench(a)
    try:
        result = bench.suite()
    finally:
        bench.pool.terminate()
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
