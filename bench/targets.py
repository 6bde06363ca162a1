"""The targets of issue 6, checked against one run: the table at the top of each report.

One row per target, with this run's figure and a verdict, so that a report says by itself which
targets the run met and which it did not:
- delivered msg/s at 10 KiB / 8 clients with AUTH >= 5x Postfix + Dovecot mail_crypt (the
  median ratio, and how many repetitions met it when they are paired by repetition);
- POP3 RETR msg/s >= 5x Dovecot mail_crypt (its SHA512-CRYPT users), for repeat logins and for
  first logins at the default Argon2id, 1 and 8 clients;
- whole-server peak PSS <= 32 MiB under the SMTP target load (the highest repetition).
Each speed row also gives its ratio repetition by repetition. A repetition in which either
server's turn lost more than STEAL_LIMIT_PCT of the CPUs to the hypervisor (steal time, from
/proc/stat: the guest wanted to run and was not let) is named, with the count of the other
repetitions at 5x; the verdict still takes every repetition. A steal spell is outside the guest,
and onionmaild's turns are short, so one spell can fall on one server only.
Verdicts compare the exact ratio, not the two decimals shown. Token operations and the time to
unseal at boot have no target; they are shown as measured. Nothing here is timed or asserted:
CI's smoke check is bench/check.py. With --quick the counts are too small to mean anything: the
table says so and gives no verdict.
"""

from figures import f, groups, med, ratio

SPEED_TARGET = 5.0  # times the mail_crypt peer
STEAL_LIMIT_PCT = 10.0  # a turn that lost more of the CPUs to the hypervisor is named
PSS_LIMIT_MIB = 32.0
SMTP_CELL = ("smtp", 10240, None, 8)
SMTP_LABEL = "delivered msg/s, SMTP 10 KiB / 8 clients, AUTH, ≥ 5× mail_crypt"
POP3_ROWS = [("kdf-default-repeat", 1, "repeat logins (within `pop3.unlock_cache_seconds`)"),
             ("kdf-default-repeat", 8, "repeat logins"),
             ("kdf-default-first", 1, "first logins, default Argon2id"),
             ("kdf-default-first", 8, "first logins, default Argon2id")]
PEER_POP3_GROUP = "sha512-crypt"


def verdict(met):
    if met is None:
        return "not measured"
    return "met" if met else "**not met**"


def unjudged(row):
    """The row with its verdict replaced: a --quick run's counts cannot meet or miss a target."""
    for v in ("| met |", "| **not met** |"):
        if row.endswith(v):
            return row[:-len(v)] + "| no verdict (`--quick`) |"
    return row


def crypt_peer(peers):
    """The Postfix + Dovecot variant with mail_crypt (its name ends in "crypt"), or None."""
    return next((p for p in peers if p["server"].endswith("crypt")), None)


def steal_note(pairs):
    """The repetitions in which the hypervisor took more than STEAL_LIMIT_PCT of the CPUs from
    either server's turn, and how the others fared; "" when there were none. `pairs` holds
    (onionmaild's rate, the peer's, onionmaild's steal %, the peer's) per repetition."""
    stolen = [max(q[2] or 0.0, q[3] or 0.0) > STEAL_LIMIT_PCT for q in pairs]
    if not any(stolen):
        return ""
    which = ", ".join(f"{i} ({f(q[2], 0)} % / {f(q[3], 0)} %)"
                      for i, (q, s) in enumerate(zip(pairs, stolen), 1) if s)
    rest = [q for q, s in zip(pairs, stolen) if not s]
    tail = "none left" if not rest else (
        f"of the other {len(rest)}, {sum(1 for q in rest if q[0] / q[1] >= SPEED_TARGET)} at 5× or"
        " more")
    return (f"; the hypervisor took more than {f(STEAL_LIMIT_PCT, 0)} % of the CPUs (steal, "
            f"onionmaild's turn / mail_crypt's) in repetition{'s' if sum(stolen) > 1 else ''} "
            f"{which}: {tail}")


def by_repetition(o, p, o_field, p_field):
    """The median ratio of onionmaild's phases `o` to the peer's `p`, and when they hold more
    than one repetition, each repetition's ratio, how many met 5x, and the steal note."""
    a, b = med(o, o_field), med(p, p_field)
    by_run = {q.get("run"): q for q in p}
    pairs = [(x.get(o_field), by_run[x.get("run")].get(p_field), x.get("steal_pct"),
              by_run[x.get("run")].get("steal_pct"))
             for x in sorted(o, key=lambda x: x.get("run", 0)) if x.get("run") in by_run]
    pairs = [q for q in pairs if q[0] is not None and q[1]]
    figure = ratio(a, b)
    if len(pairs) > 1:
        met = sum(1 for q in pairs if q[0] / q[1] >= SPEED_TARGET)
        figure += (f" (repetitions {', '.join(ratio(q[0], q[1]) for q in pairs)}: {met} of "
                   f"{len(pairs)} at 5× or more{steal_note(pairs)})")
    return figure


def smtp_row(omg, pg):
    o, p = omg.get(SMTP_CELL, []), pg.get(SMTP_CELL, [])
    a, b = med(o, "rate"), med(p, "delivered_rate")
    if a is None or not b:
        return f"| {SMTP_LABEL} | – | not measured |"
    figure = by_repetition(o, p, "rate", "delivered_rate")
    return f"| {SMTP_LABEL} | {figure} | {verdict(a / b >= SPEED_TARGET)} |"


def pop3_rows(omg, pg):
    rows = []
    for group, conc, label in POP3_ROWS:
        o = next((v for k, v in omg.items() if k[0] == "pop3" and k[2] == group and k[3] == conc),
                 [])
        p = next((v for k, v in pg.items()
                  if k[0] == "pop3" and k[2] == PEER_POP3_GROUP and k[3] == conc), [])
        a, b = med(o, "msg_rate"), med(p, "msg_rate")
        ok = a is not None and bool(b)
        figure = by_repetition(o, p, "msg_rate", "msg_rate") if ok else "–"
        rows.append(f"| POP3 RETR msg/s, {conc} client{'s' if conc > 1 else ''}, {label}, ≥ 5× "
                    f"mail_crypt | {figure} | {verdict(a / b >= SPEED_TARGET if ok else None)} |")
    return rows


def pss_row(omg):
    peak = max((p["peak_pss_mib"] for p in omg.get(SMTP_CELL, [])
                if p.get("peak_pss_mib") is not None), default=None)
    figure = f"{f(peak)} MiB (the highest repetition)" if peak is not None else "–"
    return (f"| whole-server peak ΣPSS under the SMTP target load ≤ 32 MiB | {figure} | "
            f"{verdict(None if peak is None else peak <= PSS_LIMIT_MIB)} |")


def measured_rows(omg, unseal):
    delivery = med(omg.get(SMTP_CELL, []), "device_ops_per_item")
    pop3 = med(next((v for k, v in omg.items() if k[0] == "pop3" and k[2] == "kdf-default-repeat"
                     and k[3] == 8), []), "device_ops_per_item")
    rows = [f"| token operations per delivery / per POP3 session | {f(delivery, 2)} / "
            f"{f(pop3, 2)} | measured (no target) |"]
    if unseal is not None and "unsealed_ms" in unseal.get("summary", {}):
        rows.append(f"| time to unseal at boot ({unseal['threshold']}-of-{unseal['n']} peers on "
                    f"loopback), median | {f(unseal['summary']['unsealed_ms']['median'], 0)} ms | "
                    "measured (no target) |")
    return rows


def section(om, peers, unseal=None):
    """Markdown: the targets table for this run, or "" when the run has no mail_crypt peer."""
    crypt = crypt_peer(peers)
    if crypt is None:
        return ""
    omg, pg = groups(om), groups(crypt)
    lines = ["### The targets of issue 6 in this run\n"]
    quick = om.get("plan") == "quick"
    if quick:
        lines.append("A `--quick` run: a handful of messages per phase, so these ratios say "
                     "nothing about speed and get no verdict; only a full run's do.\n")
    lines += [f"Ratios against {crypt['server']}, medians over the repetitions, cut to two "
              "decimals; a verdict compares the exact ratio.\n",
              "| target | this run | verdict |", "|---|---|---|"]
    judged = [smtp_row(omg, pg)] + pop3_rows(omg, pg) + [pss_row(omg)]
    lines += [unjudged(r) for r in judged] if quick else judged
    lines += measured_rows(omg, unseal)
    return "\n".join(lines) + "\n\n"
