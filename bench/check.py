#!/usr/bin/env python3
"""Checks that a bench run did all its work: what `bench/run.sh --check` (and --quick) ends with.

The benchmark times servers; this script times nothing. It reads the loadgen JSON of every
server (bench/loadgen.py --out) and, optionally, bench/unseal.py's JSON, and fails (exit 1,
one line per problem on stderr) unless, in every phase of every run:
  - every requested SMTP message and POP3 session completed, without a client error;
  - every message answered 250 is stored: a file in the peer's Maildir, an onionmaild
    message file (the loadgen counts them; "stored" must not be below "ok");
  - every POP3 session retrieved its whole mailbox (fixture_per_mailbox messages each);
  - in phase smtp-resume, every connection after each client thread's first resumed TLS;
  - the server's memory was sampled (non-zero ΣPSS);
and that each server's CPU was sampled (non-zero in some phase: a tiny phase can take less than
the kernel's 10 ms clock tick);
and the unseal measurement, when given, has one successful boot per run.
This is what CI's smoke run of the benchmark asserts (provisioning/test.sh).
"""

import argparse
import json
import sys


def phase_problems(server, doc):
    """Yields one line per problem of one server's loadgen document."""
    phases = doc.get("phases") or []
    if not phases:
        yield f"{server}: no phase was run"
    fixture = doc.get("fixture_per_mailbox")
    for p in phases:
        where = f"{server}: run {p.get('run', 0) + 1} {p.get('label', p.get('kind'))} c={p.get('conc')}"
        if p.get("ok") != p.get("requested"):
            yield f"{where}: {p.get('ok')} of {p.get('requested')} completed"
        if p.get("errors"):
            samples = "; ".join(str(s) for s in p.get("error_samples") or [])
            yield f"{where}: {p['errors']} client errors ({samples})"
        if p.get("kind") == "smtp" and "stored" in p and p["stored"] < p.get("ok", 0):
            yield f"{where}: {p['stored']} of {p['ok']} accepted messages are stored"
        if p.get("phase") == "smtp-resume":
            want = p.get("ok", 0) - p.get("conc", 0)
            if p.get("resumed", 0) < want:
                yield f"{where}: {p.get('resumed', 0)} TLS sessions resumed, expected {want}"
        if p.get("kind") == "pop3" and fixture is not None:
            want = fixture * p.get("requested", 0)
            if p.get("msgs") != want:
                yield f"{where}: retrieved {p.get('msgs')} messages, expected {want}"
        if not p.get("peak_pss_mib"):
            yield f"{where}: no memory sample"
    # CPU comes from the kernel's per-process counters, in clock ticks (10 ms): a --quick phase
    # of 8 messages can take less than one tick on a fast machine and read 0. So the server
    # must have been seen using CPU in some phase, not in each (0 everywhere: sampling broke).
    if phases and not any(p.get("server_cpu_s") for p in phases):
        yield f"{server}: no CPU sample in any phase"


def unseal_problems(doc, runs):
    boots = doc.get("boots") or []
    ok = [b for b in boots if b.get("unsealed_ms") is not None]
    if runs is not None and len(ok) < runs:
        yield f"unseal: {len(ok)} of {runs} boots unsealed"
    elif not ok:
        yield "unseal: no boot unsealed"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("loadgen_json", nargs="+", help="bench/loadgen.py --out files")
    p.add_argument("--unseal", help="bench/unseal.py --json file")
    p.add_argument("--unseal-runs", type=int, help="boots bench/unseal.py was asked for")
    a = p.parse_args(argv)
    problems = []
    for path in a.loadgen_json:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"{path}: cannot read: {e}")
            continue
        problems.extend(phase_problems(doc.get("server", path), doc))
    if a.unseal:
        try:
            with open(a.unseal) as f:
                problems.extend(unseal_problems(json.load(f), a.unseal_runs))
        except (OSError, ValueError) as e:
            problems.append(f"{a.unseal}: cannot read: {e}")
    for line in problems:
        print(f"bench check: {line}", file=sys.stderr)
    if problems:
        return 1
    print(f"bench check: every phase of {len(a.loadgen_json)} servers did all its work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
