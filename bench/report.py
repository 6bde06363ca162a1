#!/usr/bin/env python3
"""Turns the loadgen JSON of onionmaild and of the Postfix + Dovecot variants into one report.

Every figure is the median over the runs (min..max shown for rates). Ratios are
onionmaild / peer: above 1 means onionmaild is faster (rates) or costlier (CPU, memory, latency);
they are cut to two decimals, not rounded, so that none reads as a target it missed.
For the peer, SMTP throughput is the end-to-end "delivered" rate (message is a Maildir file),
because onionmaild answers 250 only after the message is stored and fsynced; the peer's
"accepted" (queued) rate is shown beside it. Nothing here is hard-coded: all numbers come from
the JSON files. Writes Markdown (--md) and JSON (--json) and prints the Markdown.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess

import targets
from figures import f, groups, med, rate_cell, ratio


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(), "cpu_model": model, "mem_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(), "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "filesystem": sh("df -T /tmp | awk 'NR==2{print $2\" on \"$1}'"),
        "postfix": sh("postconf -d -h mail_version"), "dovecot": sh("dovecot --version"),
        "openssl": sh("openssl version"), "python": platform.python_version(),
    }


def size_label(size):
    return f"{size // 1024} KiB" if size < 1 << 20 else f"{size >> 20} MiB"


def per_item_ms(seconds, items):
    """Seconds over `items` in ms per item, or None when either is missing."""
    return seconds * 1e3 / items if items and seconds is not None else None


def turn_speed_note(key, groups):
    """One line: server and client CPU per message in each repetition of the cell `key`, and the
    steal time of the turn. The client does the same work in every turn, so when its figure
    rises the host was slower during that turn, whichever server was measured."""
    parts = []
    for name, g in groups:
        cells = []
        for p in sorted(g.get(key, []), key=lambda p: p.get("run", 0)):
            client_ms = per_item_ms(p.get("client_cpu_s"), p.get("ok"))
            steal = p.get("steal_pct")
            cells.append(f"{f(p.get('server_cpu_ms_per_item'), 2)} / {f(client_ms, 2)}"
                         + (f" (steal {f(steal, 0)} %)" if steal is not None else ""))
        if cells:
            parts.append(f"{name} " + ", ".join(cells))
    if not parts:
        return ""
    return ("Server / client CPU ms per message in each repetition of that cell (the client does "
            "the same work in every turn, so a higher client figure marks a slower spell of the "
            "host), and the share of the CPUs the hypervisor took during the turn (steal time): "
            + "; ".join(parts) + ".\n")


def build(om, peers):
    omg = groups(om)
    pgs = [(p["server"], groups(p)) for p in peers]
    lines = []
    add = lines.append
    names = [n for n, _ in pgs]
    add("### SMTP delivery (STARTTLS; *smtp* = with AUTH PLAIN, *smtp-noauth* = without; one "
        "connection per message, 1 recipient)\n")
    add("onionmaild: 250 = encrypted, fsynced, renamed. Peer: *delivered* = file in Maildir "
        "(end-to-end); *accepted* = 250 from Postfix (queued).\n")
    head = "| phase | size | conc | onionmaild msg/s | " + " | ".join(
        f"{n} delivered msg/s (accepted)" for n in names) + " | " + " | ".join(
        f"ratio vs {n}" for n in names) + " |"
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    smtp_keys = sorted(k for k in omg if k[0].startswith("smtp"))
    for key in smtp_keys:
        o = omg[key]
        cells = [key[0], size_label(key[1]), str(key[3]), rate_cell(o, "rate")]
        rats = []
        for _, g in pgs:
            p = g.get(key, [])
            cells.append(f"{rate_cell(p, 'delivered_rate')} ({f(med(p, 'rate'))})")
            rats.append(ratio(med(o, "rate"), med(p, "delivered_rate")))
        add("| " + " | ".join(cells + rats) + " |")
    target = ("smtp", 10240, None, 8)
    if target in omg and len(omg[target]) > 1:
        parts = []
        for n, g in pgs:
            by_run = {p.get("run"): p for p in g.get(target, [])}
            pairs = [ratio(o["rate"], by_run[o.get("run")].get("delivered_rate"))
                     for o in sorted(omg[target], key=lambda o: o.get("run", 0))
                     if o.get("run") in by_run]
            parts.append(f"vs {n} " + ", ".join(pairs))
        add("\nThe target cell (smtp, 10 KiB, 8 clients) repetition by repetition, each ratio "
            "from servers measured in the same repetition: " + "; ".join(parts) + ".\n")
    if target in omg:
        om_cpu = med(omg[target], "server_cpu_ms_per_item")
        cpus = [f"{n} {f(med(g.get(target, []), 'server_cpu_ms_per_item'), 2)} ms "
                f"({ratio(med(g.get(target, []), 'server_cpu_ms_per_item'), om_cpu)} "
                "onionmaild's)" for n, g in pgs]
        add(f"Server CPU per delivered message in that cell (medians; the load generator shares "
            f"the CPUs, so this is the cost the ratios above are made of): onionmaild "
            f"{f(om_cpu, 2)} ms; " + "; ".join(cpus) + ".\n")
        add(turn_speed_note(target, [("onionmaild", omg)] + pgs))
        aux = aux_cell(omg[target])
        if aux:
            add(f"{aux} CPU per message in that cell, apart from onionmaild's figure above (the "
                f"work a TPM chip would do off the CPUs; it still took these CPUs): "
                f"{f(med(omg[target], 'aux_cpu_ms_per_item'), 2)} ms.\n")

    add("\n### SMTP latency and cost per message (medians over runs)\n")
    add("Latency: connect .. 250 after the final dot (TLS handshake included). CPU: all server "
        "processes (from /proc/<pid>/stat, reaped children included) per message, up to the "
        "last delivery. Memory: peak sum over the server's processes during the phase.\n")
    servers = [("onionmaild", omg)] + pgs
    head = "| phase | size | conc | server | p50 ms | p99 ms | CPU ms/msg | peak ΣRSS MiB | " \
           "peak ΣPSS MiB | procs | client CPU ms/msg | token ops/msg | TLS resumed |"
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    for key in smtp_keys:
        for name, g in servers:
            p = g.get(key, [])
            ok = med(p, "ok") or 0
            add(f"| {key[0]} | {size_label(key[1])} | {key[3]} | {name} | {f(med(p, 'p50_ms'))} | "
                f"{f(med(p, 'p99_ms'))} | {f(med(p, 'server_cpu_ms_per_item'), 2)} | "
                f"{f(med(p, 'peak_rss_mib'))} | {f(med(p, 'peak_pss_mib'))} | "
                f"{f(med(p, 'peak_procs'), 0)} | "
                f"{f(per_item_ms(med(p, 'client_cpu_s'), ok), 2)} | "
                f"{f(med(p, 'device_ops_per_item'), 2)} | "
                f"{f(100 * med(p, 'resumed') / ok if ok and med(p, 'resumed') is not None else None, 0)} % |")

    # SMTP phases only: a POP3 phase's 8 sessions need less of it than the kernel's CPU clock
    # tick (10 ms, 1.25 ms per session), so their figures would be 0 or 1.25 ms by chance.
    aux_rows = [(k, omg[k]) for k in smtp_keys if aux_cell(omg[k])]
    if aux_rows:
        add(f"\n{aux_cell(aux_rows[0][1])} CPU per message, medians, not counted in onionmaild's "
            "CPU or memory: " + "; ".join(
                f"{k[0]} {size_label(k[1])} c={k[3]} {f(med(v, 'aux_cpu_ms_per_item'), 2)} ms"
                for k, v in aux_rows) + " (POP3 phases: below the kernel's 10 ms CPU clock tick "
            "per phase).\n")

    add("\n### POP3 (per mailbox one session: STLS, USER/PASS, LIST, RETR all, DELE all, QUIT)\n")
    add(f"8 mailboxes, each refilled before every phase with {om['fixture_per_mailbox']} "
        f"messages of {om.get('pop3_msg_size', 4096) // 1024} KiB; conc 1 = the 8 sessions one "
        "after another, conc 8 = all at once. Ratios use RETR msg/s. onionmaild, shipped "
        "configuration: *kdf-default-first* = users logging in for the first time since the "
        "server started (new users every phase), so every login runs the default Argon2id "
        "(t=3, m=64 MiB); *kdf-default-repeat* = the same KDF, users who logged in within "
        "`pop3.unlock_cache_seconds` (300 s; an untimed login just before the phase, as a "
        "polling client): the login skips Argon2id but still uses the token; *kdf-small* = "
        "Argon2id t=1, m=8 KiB (protocol and storage cost without KDF cost); "
        "*kdf-owasp-first* = first logins of users made with OWASP's minimum for Argon2id "
        "(t=2, m=19 MiB), what an operator who lowers `[kdf]` gets. Peer = Dovecot "
        "passwd-file with SHA512-CRYPT (its usual scheme; *argon2id* = the same users' "
        "passwords hashed with Argon2id m=64 MiB, t=3, p=1, onionmaild's default KDF); crypt = "
        "mail_crypt with per-user secp521r1 keys whose private key the login password unlocks "
        "(PBKDF2, 2048 rounds). *-pipelined*: the client sends every RETR and DELE and the "
        "QUIT in one write after LIST (RFC 2449 PIPELINING, offered by both servers), and is "
        "compared only with the peer's pipelined group.\n")
    # One ratio column per peer and password scheme (group) it was measured with.
    peer_pop = {n: {(k[2], k[3]): v for k, v in g.items() if k[0] == "pop3"} for n, g in pgs}
    columns = [(n, grp) for n in names for grp in sorted({k[0] for k in peer_pop[n]},
                                                          key=lambda x: (x != "sha512-crypt", x))]
    head = "| conc | server / KDF | RETR msg/s | MB/s | session p50 ms | p99 ms | " \
           "CPU ms/session | token ops/session | peak ΣRSS MiB | peak ΣPSS MiB | " + " | ".join(
               f"ratio vs {n} {grp}" for n, grp in columns) + " |"
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    pop_keys = sorted((k for k in omg if k[0] == "pop3"), key=lambda k: (k[3], k[2]))
    rows = []
    for key in pop_keys:
        rows.append((key[3], f"onionmaild {key[2]}", omg[key], True))
    for conc in sorted({k[3] for k in pop_keys}):
        for n, grp in columns:
            if (grp, conc) in peer_pop[n]:
                rows.append((conc, f"{n} {grp}", peer_pop[n][(grp, conc)], False))
    rows.sort(key=lambda r: (r[0], not r[3]))
    for conc, label, p, is_om in rows:
        rats = []
        for n, grp in columns:
            q = peer_pop[n].get((grp, conc), [])
            same = label.endswith("-pipelined") == grp.endswith("-pipelined")
            rats.append(ratio(med(p, "msg_rate"), med(q, "msg_rate")) if is_om and same else "")
        add(f"| {conc} | {label} | {rate_cell(p, 'msg_rate')} | {f(med(p, 'mb_rate'), 2)} | "
            f"{f(med(p, 'p50_ms'))} | {f(med(p, 'p99_ms'))} | "
            f"{f(med(p, 'server_cpu_ms_per_item'), 2)} | "
            f"{f(med(p, 'device_ops_per_item'), 2)} | {f(med(p, 'peak_rss_mib'))} | "
            f"{f(med(p, 'peak_pss_mib'))} | " + " | ".join(rats) + " |")

    add("\n### Whole run\n")
    if om.get("boot_ms") is not None:
        add(f"onionmaild start-up (process start .. POP3 port accepts; opens the token and "
            f"derives the names root and record key): {om['boot_ms']} ms.\n")
    add("| server | peak ΣRSS MiB | peak ΣPSS MiB | max procs | errors | machine busy % "
        "(median) | steal % (max) | TLS |")
    add("|---|---|---|---|---|---|---|---|")
    for name, doc in [("onionmaild", om)] + [(p["server"], p) for p in peers]:
        ph = doc["phases"]
        tls = next((p["tls"] for p in ph if p.get("tls")), None)
        add(f"| {name} | {f(max(p['peak_rss_mib'] for p in ph))} | "
            f"{f(max(p['peak_pss_mib'] for p in ph))} | {max(p['peak_procs'] for p in ph)} | "
            f"{sum(p['errors'] for p in ph)} | {f(med(ph, 'machine_busy_pct'))} | "
            f"{f(max(p['steal_pct'] for p in ph), 2)} | {' '.join(tls) if tls else '–'} |")
    return "\n".join(lines) + "\n"


def aux_cell(phases):
    """The name of the processes sampled apart from the server (swtpm), or None."""
    return next((p["aux_name"] for p in phases if p.get("aux_cpu_ms_per_item") is not None),
                None)


def keys_note(om):
    """What held onionmaild's keys, from bench/run.sh (older results do not say)."""
    if not om.get("keys"):
        return ""
    ops = "TPM commands" if om["keys"].startswith("tpm2") else "token operations (C_*Init, " \
        "C_DeriveKey)"
    return f"onionmaild's keys: {om['keys']}; *token ops* count {ops}.\n\n"


def client_library(doc):
    """ (its TLS by LIBRARY), from om-loadgen's own report, or nothing for older results."""
    libs = sorted({p["tls_library"] for p in doc["phases"] if p.get("tls_library")})
    return f" (its TLS by {', '.join(libs)})" if libs else ""


def order_note(om, peers):
    """How the servers' phases were ordered (bench/run.sh interleaves them by repetition)."""
    starts = []
    for doc in [om] + peers:
        for ph in doc["phases"]:
            if ph.get("started_unix") is not None:
                starts.append((ph.get("run", 0), ph["started_unix"], doc["server"]))
    if not starts:
        return ""
    order = []
    for run in sorted({r for r, _, _ in starts}):
        seq = []
        for _, _, name in sorted(x for x in starts if x[0] == run):
            if not seq or seq[-1] != name:
                seq.append(name)
        order.append(f"{run + 1}: " + ", ".join(seq))
    waits = [w["waited_s"] for doc in [om] + peers for w in doc.get("settle", [])]
    quiet = f"; before each turn the driver waited for a quiet machine (at most {max(waits):.1f} s)" \
        if waits else ""
    return ("Order: every server is up for the whole run; each repetition measures them in turn "
            f"(repetition {'; '.join(order)}){quiet}.\n\n")


def unseal_section(u):
    """bench/unseal.py's JSON: time to unseal at boot (median, min..max over the boots)."""
    s = u["summary"]
    lines = [f"\n### Time to unseal at boot ({u['threshold']}-of-{u['n']} peers on loopback)\n",
             f"onionmaild with {u['peers']} onionmaild unseal peers ({u['peer_backend']} backend) "
             f"on 127.0.0.1 plus its local share; server key backend "
             f"{u.get('server_backend_label', u['server_backend'])}; {u['runs']} boots after one "
             f"enrolment (bench/unseal.py). Times from spawning onionmaild; *unsealed* = its "
             f"`<state>/unseal/status` says `sealed: no` (polled every {u['poll_ms']:g} ms).\n",
             "| from process start to ... | median ms | min..max ms |", "|---|---|---|"]
    rows = [("listening_ms", "listening (SMTP 220 and POP3 +OK)"),
            ("asking_ms", "peer role starts asking"),
            ("unsealed_ms", "**unsealed** (time to unseal at boot)"),
            ("exchange_ms", "asking .. unsealed (the DERK exchanges)")]
    for key, label in rows:
        if key in s:
            v = s[key]
            lines.append(f"| {label} | {f(v['median'], 0)} | {f(v['min'], 0)}..{f(v['max'], 0)} |")
    if "peer_requests" in s:
        lines.append(f"\nDERK requests per boot (one TLS connection and about "
                     f"{u.get('round_trips_per_request', '?')} round trips each, one after "
                     f"another): {s['peer_requests']['median']:g}; key store device operations "
                     f"per boot: {f(s.get('device_ops', {}).get('median'), 0)}.")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onionmaild", required=True)
    ap.add_argument("--peer", action="append", required=True)
    ap.add_argument("--md")
    ap.add_argument("--json")
    ap.add_argument("--command", default="bench/run.sh")
    ap.add_argument("--onionmaild-version", default="unknown")
    ap.add_argument("--unseal", help="bench/unseal.py's JSON (time to unseal at boot)")
    a = ap.parse_args()
    unseal = None
    if a.unseal:
        with open(a.unseal) as fh:
            unseal = json.load(fh)
    with open(a.onionmaild) as fh:
        om = json.load(fh)
    peers = []
    for path in a.peer:
        with open(path) as fh:
            peers.append(json.load(fh))
    m = machine()
    m["onionmaild"] = a.onionmaild_version
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"# onionmaild vs Postfix + Dovecot: {when}\n\n"
              f"Command: `{a.command}` (plan {om['plan']}, {om['runs']} run(s) per phase; "
              "median, min..max)\n\n"
              f"{order_note(om, peers)}"
              f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB, {m['os']}, "
              f"kernel {m['kernel']}, {m['filesystem']}. Load generator on the same CPUs"
              f"{client_library(om)}.\n\n"
              f"Versions: onionmaild {m['onionmaild']}, Postfix {m['postfix']}, Dovecot "
              f"{m['dovecot']}, {m['openssl']}, Python {m['python']}.\n\n"
              f"{keys_note(om)}")
    text = (header + targets.section(om, peers, unseal) + build(om, peers) +
            (unseal_section(unseal) if unseal else ""))
    print(text)
    if a.md:
        with open(a.md, "w") as fh:
            fh.write(text)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"when": when, "command": a.command, "machine": m, "onionmaild": om,
                       "peers": peers, "unseal": unseal}, fh, indent=1)


if __name__ == "__main__":
    main()
