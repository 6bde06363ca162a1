"""/proc scanning helpers of the integration harness (re-exported by harness.py).

Contract:
  * Read-only: nothing here signals or otherwise touches a process.
  * A process that vanishes while being scanned is skipped, not an error;
    zombies count as gone once every thread of theirs has exited.
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


def _has_live_task(pid):
    """True if a thread of pid has not exited yet. A killed multi-threaded
    process can show its leader as a zombie while another thread is still
    exiting, and that thread still holds the process's files (listeners)."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] != "Z":
            return True
    return False


def live_in_group(pgid):
    """Pids of the processes in process group pgid that have a live thread
    (a zombie whose threads have all exited counts as gone)."""
    return [pid for pid, _, fields in _proc_stats()
            if int(fields[2]) == pgid and (fields[0] != "Z" or _has_live_task(pid))]


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
