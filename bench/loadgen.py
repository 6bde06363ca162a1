#!/usr/bin/env python3
"""Phase driver for bench/run.sh: the same SMTP and POP3 workload against any server.

The connections are made by the C++ client bench/loadgen/om-loadgen (--client): C threads, so
the client is not the bottleneck (1.3-1.5 ms of client CPU per message on a first-generation
EPYC, mostly its TLS handshake, by GnuTLS; OpenSSL 3.0 needed 1.8-2.2 ms).
This script runs the phases, counts delivered messages, and samples the servers (CPU, ΣRSS,
ΣPSS; hardware-token operations through perf uprobes with --probe-events; apart, the CPU of
--aux-pids, e.g. a swtpm standing in for a TPM chip). Loopback only.

SMTP (per message, one new connection): connect, EHLO, STARTTLS, EHLO, AUTH PLAIN (the
recipient's own SMTP credentials; phase "smtp"), MAIL, RCPT one local user, DATA, 250, QUIT.
Each repetition starts with one untimed message with AUTH per user (warm_smtp_auth).
Phase "smtp-noauth" is the same without AUTH (inbound mail as an MX sees it), at 10 KiB only.
Phase "smtp-resume" is "smtp" at 10 KiB where each client thread offers the TLS session of its
previous connection (resumption, as mail clients do when they reconnect): a resumed handshake
has no server signature; "resumed" counts the handshakes the server resumed.
Phase "smtp-pipelined" is "smtp" at 10 KiB with MAIL, RCPT and DATA sent in one write (RFC 2920
PIPELINING, offered by both servers; Postfix's own SMTP client and Thunderbird pipeline).
Latency is connect .. 250 after the final dot (TLS handshake included, QUIT excluded).
For onionmaild the 250 means stored and fsynced. For Postfix + Dovecot the 250 means queued;
with --maildir the driver waits until every message is a file in the users' Maildir and reports
that end-to-end "delivered" rate (the one the ratios use).

POP3 (per mailbox, one session each): connect, STLS, USER, PASS, LIST, RETR all, DELE all,
QUIT. Before every POP3 phase each of the 8 mailboxes is refilled (untimed, no AUTH) with F
messages of 10 KiB; C=1 runs the 8 sessions one after another, C=8 all at once.
A POP3 group (--pop3-group LABEL:PREFIX:PASSWORD_FILE[:MODE]) is 8 users PREFIX1..PREFIX8;
MODE is a comma-separated list of: "fresh" uses new users for every phase
(PREFIX<run>-<conc>-<i>, see --print-fresh-users; the caller creates them), so that every timed
login is the user's first since the server started; "warm" logs every user in once (untimed)
just before the phase, as a client polling within onionmaild's pop3.unlock_cache_seconds would
have; "pipelined" sends every RETR and DELE and the QUIT in one write after LIST (RFC 2449
PIPELINING, offered by both servers). bench/report.py compares pipelined groups only with
pipelined groups (their labels end in "-pipelined").

bench/run.sh interleaves the servers: it starts all of them, then calls this script once per
server and repetition (--only-run K --append), so that each repetition measures every server in
turn and a slow spell of a shared host falls on all of them. Before its first phase a call waits
until the machine is quiet (the previous server's deferred work, e.g. onionmaild's spare-file
stocker or Postfix's queue manager, has finished), and every phase records when it started.

For every phase it records the servers' CPU seconds (procmon.ProcTree over --pids), the peak
sum of RSS and PSS of the servers' processes, the clients' own CPU, and how busy the machine was.
Output: one JSON document (--out).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procmon  # noqa: E402

SENDER = b"sender@example.org"
PLANS = {
    # smtp: (size, concurrency, messages) with AUTH; noauth: the same without AUTH;
    # pop3: concurrencies (8 sessions, one per mailbox); fixture: messages per mailbox
    # The target cell (10 KiB, 8 clients) gets 600 messages: at 200 it lasted under half a
    # second for onionmaild, too short to be steady on a shared host.
    "full": {"smtp": [(1024, 1, 30), (1024, 8, 96), (10240, 1, 30), (10240, 8, 600),
                      (102400, 1, 30), (102400, 8, 96)],
             "noauth": [(10240, 1, 100), (10240, 8, 400)], "resume": [(10240, 8, 600)],
             "pipelined": [(10240, 8, 600)], "pop3": [1, 8], "fixture": 25},
    "quick": {"smtp": [(1024, 1, 16), (10240, 8, 8), (102400, 8, 8)],
              "noauth": [(10240, 8, 16)], "resume": [(10240, 8, 24)],
              "pipelined": [(10240, 8, 16)], "pop3": [8], "fixture": 3},
}
POP3_MSG_SIZE = 10240


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def pop3_users(prefix, mode, run, conc):
    if "fresh" in mode.split(","):
        return [f"{prefix}{run}-{conc}-{i}" for i in range(1, 9)]
    return [f"{prefix}{i}" for i in range(1, 9)]


class Bench:
    def __init__(self, args):
        self.args = args
        self.tree = procmon.ProcTree(args.pids.split(","))
        # Processes that work for the server but are not part of it (swtpm: a TPM chip's work).
        self.aux = procmon.ProcTree(args.aux_pids.split(",")) if args.aux_pids else None

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

    def client(self, kind, port, users, conc, count, size=None, auth_pass_file=None,
               pass_file=None, dele=False, resume=False, pipelining=False):
        cmd = [self.args.client, kind, "--port", str(port), "--conc", str(conc), "--count",
               str(count), "--users", ",".join(users)]
        if size:
            cmd += ["--size", str(size)]
        if auth_pass_file:
            cmd += ["--auth-pass-file", auth_pass_file]
        if pass_file:
            cmd += ["--pass-file", pass_file]
        if dele:
            cmd.append("--dele")
        if resume:
            cmd.append("--resume")
        if pipelining:
            cmd.append("--pipelining")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    def probe_start(self):
        if not self.args.probe_events:
            return None
        path = os.path.join(self.args.tmp, "perf-stat.txt")
        proc = subprocess.Popen(["perf", "stat", "-x", ",", "-o", path, "-e",
                                 self.args.probe_events, "-p", self.args.probe_pid],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # perf attaches the uprobes
        return proc, path

    def probe_stop(self, probe):
        if probe is None:
            return None
        proc, path = probe
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        counts = {}
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[0].isdigit():
                    counts[parts[2].split(":")[-1]] = int(parts[0])
        return counts

    def run_tasks(self, kind, port, users, size, conc, count, users_for_count, auth=False,
                  pass_file=None, dele=False, resume=False, pipelining=False):
        stored0 = self.stored_count(users_for_count) if kind == "smtp" else 0
        sampler = procmon.Sampler(self.tree)
        probe = self.probe_start()
        cpu0, mach0 = self.tree.cpu_seconds(), procmon.machine_cpu()
        aux0 = self.aux.cpu_seconds() if self.aux else None
        t0_unix = time.time()
        sampler.start()
        t0 = time.perf_counter()
        res = self.client(kind, port, users, conc, count, size=size,
                          auth_pass_file=self.args.auth_pass_file if auth else None,
                          pass_file=pass_file, dele=dele, resume=resume,
                          pipelining=pipelining)
        t_done = time.perf_counter()
        results = res["threads"]
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
        aux1 = self.aux.cpu_seconds() if self.aux else None
        sampler.stop()
        device = self.probe_stop(probe)
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
            "client_cpu_s": res["cpu_s"],
            "peak_rss_mib": sampler.peak_rss / 2**20, "peak_pss_mib": sampler.peak_pss / 2**20,
            "peak_procs": sampler.peak_procs, "machine_busy_pct": busy, "steal_pct": steal,
            "tls": res["tls"], "tls_library": res.get("tls_library"), "started_unix": t0_unix,
            "resumed": sum(r.get("resumed", 0) for r in results),
        }
        if self.aux:
            out["aux_name"] = self.args.aux_name
            out["aux_cpu_s"] = aux1 - aux0
            out["aux_cpu_ms_per_item"] = (aux1 - aux0) * 1e3 / ok if ok else None
        if device is not None:
            out["device_ops"] = device
            out["device_ops_per_item"] = sum(device.values()) / ok if ok else None
        if stored is not None:
            out["stored"] = stored
            span = t_stored - t0
            out["delivered_rate"] = stored / span if span > 0 else 0
        if kind == "pop3":
            out["msgs"] = sum(r["msgs"] for r in results)
            out["bytes"] = sum(r["bytes"] for r in results)
            out["msg_rate"] = out["msgs"] / wall if wall > 0 else 0
            out["mb_rate"] = out["bytes"] / wall / 1e6 if wall > 0 else 0
        return out

    def refill(self, users, per_user):
        """Untimed: exactly per_user messages of POP3_MSG_SIZE in each mailbox (no AUTH)."""
        r = self.client("smtp", self.args.smtp_port, users, len(users), per_user * len(users),
                        size=POP3_MSG_SIZE)
        n_err = sum(len(t["errors"]) for t in r["threads"])
        if n_err:
            print(f"    refill errors: {n_err}", flush=True)
        want = self.stored_count(users)  # the peer delivers asynchronously: wait for it
        deadline = time.perf_counter() + 120
        while self.args.maildir and want < per_user * len(users) \
                and time.perf_counter() < deadline:
            time.sleep(0.02)
            want = self.stored_count(users)

    def warm_smtp_auth(self, users):
        """Untimed: one message with AUTH from each SMTP user, waited for until stored. The
        timed SMTP phases then measure clients that sent mail within onionmaild's
        smtp.auth_cache_seconds (300 s); without it, the first AUTH of each user in each of
        the server's turns (several minutes apart) would run a full Argon2id inside the first
        phase. The peers get the same messages."""
        before = self.stored_count(users)
        r = self.client("smtp", self.args.smtp_port, users, len(users), len(users), size=1024,
                        auth_pass_file=self.args.auth_pass_file)
        ok = sum(len(t["lat"]) for t in r["threads"])
        if ok != len(users):
            print(f"    AUTH warm-up: {ok} of {len(users)} messages accepted", flush=True)
        deadline = time.perf_counter() + 120
        while self.stored_count(users) < before + ok and time.perf_counter() < deadline:
            time.sleep(0.02)

    def suite(self):
        a = self.args
        plan = PLANS[a.plan]
        smtp_users = [f"{a.smtp_prefix}{i}" for i in range(1, 9)]
        groups = []
        for spec in a.pop3_group:
            label, prefix, password_file, *mode = spec.split(":")
            groups.append((label, prefix, password_file, mode[0] if mode else ""))
        phases = []
        settled = procmon.wait_until_quiet()
        print(f"  [{a.name}] machine quiet after {settled['waited_s']:.1f} s "
              f"({settled['busy_pct']:.0f} % busy over the last {settled['window_s']:g} s)",
              flush=True)
        for run in (range(a.runs) if a.only_run is None else [a.only_run]):
            self.warm_smtp_auth(smtp_users)
            for name, auth, resume, pipelining, key in (
                    ("smtp", True, False, False, "smtp"),
                    ("smtp-noauth", False, False, False, "noauth"),
                    ("smtp-resume", True, True, False, "resume"),
                    ("smtp-pipelined", True, False, True, "pipelined")):
                for size, conc, count in plan[key]:
                    r = self.run_tasks("smtp", a.smtp_port, smtp_users, size, conc, count,
                                       smtp_users, auth=auth, resume=resume,
                                       pipelining=pipelining)
                    r.update(run=run, size=size, label=f"{name} {size // 1024} KiB",
                             phase=name)
                    phases.append(r)
                    self.report(r)
                    time.sleep(0.3)
            for label, prefix, password_file, mode in groups:
                flags = mode.split(",")
                for conc in plan["pop3"]:
                    users = pop3_users(prefix, mode, run, conc)
                    if "warm" in flags:  # untimed logins (mailboxes are empty: LIST, QUIT)
                        self.client("pop3", a.pop3_port, users, len(users), len(users),
                                    pass_file=password_file)
                    self.refill(users, plan["fixture"])
                    r = self.run_tasks("pop3", a.pop3_port, users, None, conc, len(users),
                                       users, pass_file=password_file, dele=True,
                                       pipelining="pipelined" in flags)
                    r.update(run=run, group=label, label=f"pop3 {label}", phase="pop3")
                    phases.append(r)
                    self.report(r)
                    time.sleep(0.3)
        return {"server": a.name, "plan": a.plan, "runs": a.runs, "fixture_per_mailbox":
                plan["fixture"], "pop3_msg_size": POP3_MSG_SIZE, "phases": phases,
                "settle": [dict(settled, run=a.only_run)]}

    def report(self, r):
        extra = f" delivered {r['delivered_rate']:.1f}/s" if "delivered_rate" in r else ""
        if "msg_rate" in r:
            extra += f" {r['msg_rate']:.1f} msg/s {r['mb_rate']:.2f} MB/s"
        if r.get("resumed"):
            extra += f" resumed {r['resumed']}"
        if r.get("device_ops") is not None:
            extra += f" device ops/item {r['device_ops_per_item'] or 0:.2f}"
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
                   help="LABEL:PREFIX:PASSWORD_FILE; repeatable")
    p.add_argument("--auth-pass-file", required=True, help="SMTP AUTH password of u1..u8")
    p.add_argument("--client", required=True, help="path of om-loadgen")
    p.add_argument("--probe-events", help="perf events counting token operations")
    p.add_argument("--probe-pid", help="the pid to attach --probe-events to")
    p.add_argument("--aux-pids", help="comma-separated root pids of processes that work for the "
                   "server but are not counted in its CPU or memory (swtpm); their CPU is "
                   "recorded apart")
    p.add_argument("--aux-name", default="aux", help="what to call --aux-pids in the report")
    p.add_argument("--tmp", default="/tmp")
    p.add_argument("--maildir", help="peer: root of <user>/Maildir, to count delivered files")
    p.add_argument("--om-mbox", help="onionmaild: state_dir/mbox, to count stored messages")
    p.add_argument("--plan", choices=sorted(PLANS), default="full")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out")
    p.add_argument("--only-run", type=int, metavar="K",
                   help="run only repetition K (0-based) of --runs; fresh users are named by K")
    p.add_argument("--append", action="store_true",
                   help="add this call's phases to the document already in --out (same server, "
                        "plan and runs)")
    p.add_argument("--print-fresh-users", metavar="PREFIX",
                   help="print the users a 'fresh' POP3 group with PREFIX needs, and exit")
    if "--print-fresh-users" in sys.argv:  # only --plan and --runs matter
        q = argparse.ArgumentParser()
        q.add_argument("--print-fresh-users", required=True)
        q.add_argument("--plan", choices=sorted(PLANS), default="full")
        q.add_argument("--runs", type=int, default=3)
        b, _ = q.parse_known_args()
        print(" ".join(u for run in range(b.runs) for conc in PLANS[b.plan]["pop3"]
                       for u in pop3_users(b.print_fresh_users, "fresh", run, conc)))
        return
    a = p.parse_args()
    if not a.out:
        p.error("--out is required")
    if a.host not in ("127.0.0.1", "::1", "localhost"):
        p.error("loopback only")
    if a.only_run is not None and not 0 <= a.only_run < a.runs:
        p.error("--only-run must be below --runs")
    previous = None
    if a.append and os.path.exists(a.out):
        with open(a.out) as f:
            previous = json.load(f)
        if (previous["server"], previous["plan"], previous["runs"]) != (a.name, a.plan, a.runs):
            p.error(f"--append: {a.out} holds another server, plan or number of runs")
    result = Bench(a).suite()
    if previous is not None:
        previous["phases"] += result["phases"]
        previous["settle"] = previous.get("settle", []) + result["settle"]
        result = previous
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
