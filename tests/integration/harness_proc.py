"""/proc scanning helpers of the integration harness (re-exported by harness.py).

Contract:
  * Read-only: nothing here signals or otherwise touches a process.
  * A process that vanishes while being scanned is skipped, not an error;
    zombies count as gone.
  * Linux only (reads /proc/<pid>/stat and /proc/<pid>/status).
"""

import os


def _proc_stats():
    """Yields (pid, comm, fields) for every process whose /proc/<pid>/stat
    could be read; fields are the stat fields after "(comm)", from the state
    (fields[0]) on: fields[1] is the ppid, fields[2] the process group."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        yield int(entry), comm, fields


def live_in_group(pgid):
    """Pids of the non-zombie processes in process group pgid."""
    return [pid for pid, _, fields in _proc_stats()
            if fields[0] != "Z" and int(fields[2]) == pgid]


def children_of(ppid):
    """{comm: pid} of the live children of ppid."""
    out = {}
    for pid, comm, fields in _proc_stats():
        if int(fields[1]) == ppid and fields[0] != "Z":
            out[comm] = pid
    return out


def status_fields(pid):
    """/proc/<pid>/status as {key: value} (values stripped). Raises OSError
    if the process is gone."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out
