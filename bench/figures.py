"""The figures bench/report.py and bench/targets.py are made of: phases grouped by cell,
medians, and how a number or a ratio is written. Pure functions of loadgen.py's JSON.
"""

import math
import statistics


def groups(doc):
    out = {}
    for ph in doc["phases"]:
        key = (ph.get("phase", ph["kind"]), ph.get("size"), ph.get("group"), ph["conc"])
        out.setdefault(key, []).append(ph)
    return out


def med(phases, field):
    vals = [p[field] for p in phases if p.get(field) is not None]
    return statistics.median(vals) if vals else None


def span(phases, field):
    vals = [p[field] for p in phases if p.get(field) is not None]
    return (min(vals), max(vals)) if vals else (None, None)


def f(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def rate_cell(phases, field):
    lo, hi = span(phases, field)
    m = med(phases, field)
    if m is None:
        return "–"
    return f(m) if len(phases) == 1 else f"{f(m)} ({f(lo)}..{f(hi)})"


def ratio(a, b):
    """a / b to two decimals, cut rather than rounded: 4.996 shows as 4.99×, never as a 5.00×
    that would read as a target met. The 1e-9 keeps an exact 5 (a float just under it) at 5.00×."""
    if a is None or not b:
        return "–"
    return f"{math.floor(a / b * 100 + 1e-9) / 100:.2f}×"
