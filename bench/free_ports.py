#!/usr/bin/env python3
"""bench/free_ports.py: free TCP ports on 127.0.0.1 for the servers a benchmark starts.

    python3 bench/free_ports.py N [--consecutive]

prints N port numbers on one line; with --consecutive they are p, p+1, ... (tss2's swtpm TCTI
finds swtpm's control channel on the port after the TPM's). Exits 1 when it finds none.

The ports come from outside the kernel's ephemeral range (net.ipv4.ip_local_port_range), from
which outgoing connections take their local ports. A benchmark opens thousands of short loopback
connections, and each leaves a socket in TIME_WAIT for a minute on its local port: a server
that then binds such a port without SO_REUSEADDR (swtpm does) fails with "Address already in
use", although the port looked free to a bind(0) a moment before. Each port is checked with
bind and listen, without SO_REUSEADDR, the strictest way a server may open it; another process
may still take it before the server does, so callers that can retry do.
"""
import argparse
import random
import socket
import sys

FIRST_PORT = 10000  # below: well-known and registered services' ports, which a host may run


def ephemeral_range(path="/proc/sys/net/ipv4/ip_local_port_range"):
    try:
        with open(path) as fh:
            low, high = (int(x) for x in fh.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def listenable(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def candidates(count, consecutive, low, high, rng):
    """Start ports to try: outside [low, high] first, shuffled; the ephemeral range last."""
    span = count if consecutive else 1
    outside = [p for p in range(FIRST_PORT, 65536 - span + 1)
               if p + span - 1 < low or p > high]
    inside = [p for p in range(max(low, FIRST_PORT), min(high, 65535 - span + 1) + 1)]
    rng.shuffle(outside)
    rng.shuffle(inside)
    return outside + inside


def pick(count, consecutive=False, rng=None, low_high=None, check=listenable):
    """Returns `count` free ports (consecutive if asked), or [] when none were found."""
    rng = rng or random.Random()
    low, high = low_high or ephemeral_range()
    chosen = []
    for start in candidates(count, consecutive, low, high, rng)[:5000]:
        if consecutive:
            group = list(range(start, start + count))
            if all(check(p) for p in group):
                return group
        elif start not in chosen and check(start):
            chosen.append(start)
            if len(chosen) == count:
                return chosen
    return []


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("count", type=int)
    ap.add_argument("--consecutive", action="store_true")
    args = ap.parse_args(argv)
    ports = pick(args.count, args.consecutive)
    if not ports:
        print("free_ports.py: no free ports found", file=sys.stderr)
        return 1
    print(*ports)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
