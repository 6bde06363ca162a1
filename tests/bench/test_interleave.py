"""bench/: the pieces that let bench/run.sh interleave the servers (nothing here is timed).

- procmon.ProcTree finds a server's whole process tree from the kernel's per-thread lists of
  children, the same processes as a scan of /proc, including children of non-main threads;
- loadgen.py --only-run K --append adds one repetition's phases to a server's document and
  refuses a document of another server, plan or number of runs;
- report.py states the order in which the servers ran, gives the target cell's ratio
  repetition by repetition (pairing each onionmaild repetition with the peer's same one;
  ratios are cut to two decimals, not rounded up across a target) and the servers' CPU per
  message there, and names the load generator's TLS library, the backend that held
  onionmaild's keys, and a swtpm's CPU apart from the server's.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
sys.path.insert(0, BENCH)
import procmon  # noqa: E402
import report  # noqa: E402


class ProcTreeTest(unittest.TestCase):
    def test_children_lists_find_the_same_tree_as_a_scan_of_proc(self):
        # A process with a child and a grandchild, and a child started from a second thread.
        root = subprocess.Popen([sys.executable, "-c", """
import subprocess, sys, threading, time
kids = [subprocess.Popen(["sh", "-c", "sleep 30 & wait"])]
t = threading.Thread(target=lambda: kids.append(subprocess.Popen(["sleep", "30"])))
t.start(); t.join()
print("ready", flush=True)
time.sleep(30)
"""], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(root.stdout.readline().strip(), "ready")
            time.sleep(0.2)  # the grandchild sleep has been forked by sh
            by_lists = procmon.ProcTree([root.pid])
            by_scan = procmon.ProcTree([root.pid])
            by_scan._scan = True
            found = sorted(by_lists.pids())
            self.assertFalse(by_lists._scan, "this kernel has the children lists")
            self.assertEqual(found, sorted(by_scan.pids()))
            self.assertEqual(len(found), 4)  # python, sh, its sleep, the thread's sleep
            self.assertIn(root.pid, found)
        finally:
            for pid in procmon.ProcTree([root.pid]).pids():
                if pid != root.pid:
                    os.kill(pid, 9)
            root.kill()
            root.wait()

    def test_a_root_that_is_gone_gives_an_empty_tree(self):
        p = subprocess.Popen(["true"])
        p.wait()
        self.assertEqual(procmon.ProcTree([p.pid]).pids(), [])


class WaitUntilQuietTest(unittest.TestCase):
    def test_gives_up_after_its_bound_on_a_busy_machine(self):
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                pass

        t = threading.Thread(target=spin)
        t.start()
        try:
            # Threshold 0 %: nothing is ever quiet enough, so only the bound ends the wait.
            r = procmon.wait_until_quiet(busy_below_pct=0.0, window_s=0.05, max_wait_s=0.2)
        finally:
            stop.set()
            t.join()
        self.assertFalse(r["quiet"])
        self.assertGreaterEqual(r["waited_s"], 0.2)
        self.assertLess(r["waited_s"], 2.0)


def run_loadgen_append(out, name="onionmaild", plan="quick", runs=3, only_run=0):
    """loadgen.py's argument handling up to the merge, with Bench.suite replaced by a stub that
    returns one phase for the requested repetition (no client, no server)."""
    code = f"""
import sys
sys.path.insert(0, {BENCH!r})
import loadgen
def suite(self):
    return {{"server": self.args.name, "plan": self.args.plan, "runs": self.args.runs,
             "fixture_per_mailbox": 3, "pop3_msg_size": 10240,
             "phases": [{{"run": self.args.only_run, "kind": "smtp"}}],
             "settle": [{{"run": self.args.only_run, "waited_s": 0.5}}]}}
loadgen.Bench.suite = suite
loadgen.Bench.__init__ = lambda self, a: setattr(self, "args", a)
sys.argv = ["loadgen.py", "--name", {name!r}, "--smtp-port", "1", "--pop3-port", "2",
            "--pids", "1", "--auth-pass-file", "/dev/null", "--client", "/bin/true",
            "--plan", {plan!r}, "--runs", "{runs}", "--only-run", "{only_run}", "--append",
            "--out", {out!r}]
loadgen.main()
"""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


class LoadgenAppendTest(unittest.TestCase):
    def test_each_call_adds_its_repetition_to_the_same_document(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "om.json")
            for k in (0, 1, 2):
                r = run_loadgen_append(out, only_run=k)
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                doc = json.load(f)
            self.assertEqual([p["run"] for p in doc["phases"]], [0, 1, 2])
            self.assertEqual([s["run"] for s in doc["settle"]], [0, 1, 2])

    def test_refuses_to_append_to_another_servers_document(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "om.json")
            self.assertEqual(run_loadgen_append(out).returncode, 0)
            r = run_loadgen_append(out, name="postfix+dovecot-plain", only_run=1)
            self.assertEqual(r.returncode, 2)
            self.assertIn("another server", r.stderr)
            r = run_loadgen_append(out, runs=5, only_run=1)
            self.assertEqual(r.returncode, 2)

    def test_refuses_a_repetition_beyond_runs(self):
        with tempfile.TemporaryDirectory() as d:
            r = run_loadgen_append(os.path.join(d, "om.json"), runs=3, only_run=3)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--only-run", r.stderr)


def target_phase(run, rate, started, delivered=None):
    p = {"phase": "smtp", "kind": "smtp", "size": 10240, "conc": 8, "run": run, "rate": rate,
         "started_unix": started, "ok": 600, "requested": 600, "errors": 0,
         "client_cpu_s": 0.6, "peak_rss_mib": 60.0, "peak_pss_mib": 30.0, "peak_procs": 5,
         "machine_busy_pct": 95.0, "steal_pct": 0.0, "tls": ["TLSv1.3"]}
    if delivered is not None:
        p["delivered_rate"] = delivered
    return p


class ReportOrderTest(unittest.TestCase):
    def setUp(self):
        # onionmaild ran first in repetition 1 and last in repetition 2.
        self.om = {"server": "onionmaild", "phases": [target_phase(0, 500.0, 100.0),
                                                      target_phase(1, 400.0, 400.0)],
                   "settle": [{"waited_s": 0.5}, {"waited_s": 1.5}]}
        self.peer = {"server": "crypt", "phases": [target_phase(0, 80.0, 200.0, 100.0),
                                                   target_phase(1, 80.0, 300.0, 50.0)],
                     "settle": [{"waited_s": 0.5}, {"waited_s": 0.5}]}

    def test_the_order_of_each_repetition_is_stated(self):
        note = report.order_note(self.om, [self.peer])
        self.assertIn("repetition 1: onionmaild, crypt; 2: crypt, onionmaild", note)
        self.assertIn("at most 1.5 s", note)

    def test_no_order_is_claimed_without_start_times(self):
        for p in self.om["phases"] + self.peer["phases"]:
            del p["started_unix"]
        self.assertEqual(report.order_note(self.om, [self.peer]), "")

    def test_the_target_cell_is_paired_repetition_by_repetition(self):
        text = report.build({**self.om, "fixture_per_mailbox": 3}, [self.peer])
        # 500/100 in repetition 1, 400/50 in repetition 2; the medians would give 450/75 = 6.
        self.assertIn("vs crypt 5.00×, 8.00×", text)

    def test_a_ratio_just_below_the_target_is_not_rounded_up_to_it(self):
        # Run AG's third repetition: 412.5 msg/s against 82.57 delivered, 4.996×.
        self.om["phases"][1]["rate"] = 412.5
        self.peer["phases"][1]["delivered_rate"] = 82.57
        text = report.build({**self.om, "fixture_per_mailbox": 3}, [self.peer])
        self.assertIn("vs crypt 5.00×, 4.99×", text)
        self.assertEqual(report.ratio(5.0, 1.0), "5.00×")
        self.assertEqual(report.ratio(0.3, 0.1), "3.00×")  # 2.9999999999999996 as a float
        self.assertEqual(report.ratio(1.0, None), "–")

    def test_the_servers_cpu_per_message_is_compared_in_the_target_cell(self):
        for p, cpu in zip(self.om["phases"], (2.0, 4.0)):
            p["server_cpu_ms_per_item"] = cpu
        for p, cpu in zip(self.peer["phases"], (20.0, 22.0)):
            p["server_cpu_ms_per_item"] = cpu
        text = report.build({**self.om, "fixture_per_mailbox": 3}, [self.peer])
        self.assertIn("onionmaild 3.00 ms; crypt 21.00 ms (7.00× onionmaild's)", text)

    def test_each_repetition_shows_the_servers_and_the_clients_cpu_and_the_steal(self):
        # The client's CPU per message rose in repetition 2 (0.6 s → 0.9 s for 600 messages):
        # the host was slower during that turn, and the hypervisor took 31 % of the CPUs.
        for p, cpu, client, steal in zip(self.om["phases"], (2.0, 2.5), (0.6, 0.9), (0.4, 30.6)):
            p["server_cpu_ms_per_item"], p["client_cpu_s"], p["steal_pct"] = cpu, client, steal
        for p, cpu in zip(self.peer["phases"], (20.0, 22.0)):
            p["server_cpu_ms_per_item"] = cpu
        text = report.build({**self.om, "fixture_per_mailbox": 3}, [self.peer])
        self.assertIn("onionmaild 2.00 / 1.00 (steal 0 %), 2.50 / 1.50 (steal 31 %); "
                      "crypt 20.00 / 1.00 (steal 0 %), 22.00 / 1.00 (steal 0 %).", text)

    def test_a_swtpms_cpu_is_reported_apart_and_not_added_to_the_servers(self):
        for p, cpu, tpm in zip(self.om["phases"], (2.0, 4.0), (0.8, 1.0)):
            p["server_cpu_ms_per_item"] = cpu
            p["aux_name"], p["aux_cpu_ms_per_item"] = "swtpm", tpm
        for p, cpu in zip(self.peer["phases"], (20.0, 22.0)):
            p["server_cpu_ms_per_item"] = cpu
        text = report.build({**self.om, "fixture_per_mailbox": 3}, [self.peer])
        self.assertIn("onionmaild 3.00 ms; crypt 21.00 ms (7.00× onionmaild's)", text)
        self.assertIn("swtpm CPU per message in that cell, apart from onionmaild's figure above",
                      text)
        self.assertIn("it still took these CPUs): 0.90 ms.", text)
        self.assertIn("not counted in onionmaild's CPU or memory: smtp 10 KiB c=8 0.90 ms (POP3", text)

    def test_without_a_swtpm_there_is_no_line_for_it(self):
        text = report.build({**self.om, "fixture_per_mailbox": 3}, [self.peer])
        self.assertNotIn("swtpm", text)
        self.assertNotIn("aux", text)

    def test_the_key_backend_and_what_token_ops_count_are_stated(self):
        self.assertEqual(report.keys_note(self.om), "")  # results from before bench/run.sh said
        self.om["keys"] = "tpm2 (swtpm 0.7.1, TCP TCTI)"
        self.assertIn("onionmaild's keys: tpm2 (swtpm 0.7.1, TCP TCTI); *token ops* count TPM "
                      "commands.", report.keys_note(self.om))
        self.om["keys"] = "pkcs11 (SoftHSM2 2.6.1 token)"
        self.assertIn("count token operations (C_*Init, C_DeriveKey)", report.keys_note(self.om))

    def test_the_clients_tls_library_is_named_when_known(self):
        self.assertEqual(report.client_library(self.om), "")
        self.om["phases"][0]["tls_library"] = "gnutls"
        self.assertEqual(report.client_library(self.om), " (its TLS by gnutls)")


if __name__ == "__main__":
    unittest.main()
