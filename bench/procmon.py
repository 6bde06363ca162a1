"""Process-tree accounting from /proc for the benchmark (Linux only, stdlib only).

ProcTree(root_pids) follows every descendant of the given server processes (Postfix master,
Dovecot master, or the single onionmaild process), through the kernel's per-thread lists of
children (/proc/<pid>/task/<tid>/children), so that sampling one server costs the same whether
or not the other servers are up (bench/run.sh keeps all of them up); a scan of /proc where the
kernel has no such lists.

* cpu_seconds(): utime+stime+cutime+cstime summed over the live processes of the tree. The c*
  fields hold the CPU of children that the process has already reaped, so a worker that came and
  went between two snapshots is still counted, once, in its parent. The difference of two
  snapshots is the servers' CPU spent in between.
* Sampler: a thread that samples the tree every `interval` seconds and keeps the peak of the sum
  of RSS (VmRSS; counts shared pages once per process, so it over-states multi-process servers)
  and of PSS (smaps_rollup; shared pages divided among their users: the fair total) and the peak
  process count.
* machine_cpu(): /proc/stat totals, to report how busy the machine was (and any steal time).
* wait_until_quiet(): waits (bounded) until the machine is nearly idle, before a server's phases.
"""

import os
import threading
import time

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read().decode("ascii", "replace")
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    return rest  # rest[0] is field 3 (state)


def _children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(name)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    return children


def _children_of(pid):
    """The children of every thread of pid, from /proc/<pid>/task/<tid>/children (the kernel's
    own list: no scan of /proc, so the cost does not grow with the other servers' processes).
    None where the kernel has no such file (CONFIG_PROC_CHILDREN off)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended
            return None
        except (OSError, ValueError):
            continue
    return out


class ProcTree:
    def __init__(self, root_pids):
        self.roots = [int(p) for p in root_pids]
        self._scan = False  # True: the kernel has no children files, scan /proc instead

    def pids(self):
        children = _children_map() if self._scan else None
        out, todo, seen = [], list(self.roots), set()
        while todo:
            pid = todo.pop()
            if pid in seen or not os.path.exists(f"/proc/{pid}"):
                continue
            seen.add(pid)
            out.append(pid)
            if children is not None:
                todo.extend(children.get(pid, []))
                continue
            kids = _children_of(pid)
            if kids is None:
                self._scan = True
                return self.pids()
            todo.extend(kids)
        return out

    def cpu_seconds(self):
        total = 0
        for pid in self.pids():
            try:
                f = _stat_fields(pid)
            except OSError:
                continue
            # fields 14..17 (utime, stime, cutime, cstime) are rest[11..14]
            total += sum(int(x) for x in f[11:15])
        return total / _TICKS

    def memory(self):
        """Returns (sum RSS bytes, sum PSS bytes, process count)."""
        rss = pss = n = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/statm") as f:
                    rss += int(f.read().split()[1]) * _PAGE
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1]) * 1024
                            break
                n += 1
            except (OSError, ValueError, IndexError):
                continue
        return rss, pss, n


class Sampler(threading.Thread):
    def __init__(self, tree, interval=0.1):
        super().__init__(daemon=True)
        self.tree, self.interval = tree, interval
        self.peak_rss = self.peak_pss = self.peak_procs = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self):
        rss, pss, n = self.tree.memory()
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_procs = max(self.peak_procs, n)

    def stop(self):
        self._halt.set()
        self.join()
        self.sample()


def machine_cpu():
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + vals[4]
    steal = vals[7] if len(vals) > 7 else 0
    return sum(vals[:8]), idle, steal


def machine_busy(before, after):
    total = after[0] - before[0]
    if total <= 0:
        return 0.0, 0.0
    return (1 - (after[1] - before[1]) / total) * 100, (after[2] - before[2]) / total * 100


def wait_until_quiet(busy_below_pct=15.0, window_s=0.5, max_wait_s=20.0):
    """Waits until the whole machine was less than busy_below_pct busy over window_s (at most
    max_wait_s), so that a phase does not start while another server finishes deferred work.
    Returns how long it waited and the busy share of the last window."""
    t0 = time.perf_counter()
    while True:
        before = machine_cpu()
        time.sleep(window_s)
        busy, _ = machine_busy(before, machine_cpu())
        waited = time.perf_counter() - t0
        if busy < busy_below_pct or waited >= max_wait_s:
            return {"waited_s": waited, "busy_pct": busy, "window_s": window_s,
                    "quiet": busy < busy_below_pct}


def now():
    return time.perf_counter()
