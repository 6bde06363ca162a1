"""bench/check.py: what the benchmark's smoke run (provisioning/test.sh) asserts.

Each test feeds the checker loadgen/unseal JSON shaped like bench/loadgen.py's and
bench/unseal.py's output, with one thing missing, and expects it named and exit 1.
"""

import copy
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import check  # noqa: E402

COMPLETE = {
    "server": "onionmaild", "plan": "quick", "runs": 1, "fixture_per_mailbox": 3,
    "phases": [
        {"kind": "smtp", "conc": 8, "requested": 8, "ok": 8, "errors": 0, "error_samples": [],
         "stored": 8, "peak_pss_mib": 27.5, "server_cpu_s": 0.02, "run": 0,
         "label": "smtp 10 KiB"},
        {"kind": "smtp", "phase": "smtp-resume", "conc": 8, "requested": 24, "ok": 24,
         "errors": 0, "error_samples": [], "stored": 24, "resumed": 16, "peak_pss_mib": 27.5,
         "server_cpu_s": 0.02, "run": 0, "label": "smtp-resume 10 KiB"},
        {"kind": "pop3", "conc": 8, "requested": 8, "ok": 8, "errors": 0, "error_samples": [],
         "msgs": 24, "bytes": 24 * 10240, "peak_pss_mib": 30.1, "server_cpu_s": 0.1,
         "run": 0, "label": "pop3 kdf-small"},
    ],
}
UNSEAL = {"boots": [{"unsealed_ms": 50.0}, {"unsealed_ms": 48.0}]}


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, doc):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def run_check(self, docs, unseal=UNSEAL, unseal_runs=2):
        args = [self.write(f"server{i}.json", d) for i, d in enumerate(docs)]
        if unseal is not None:
            args += ["--unseal", self.write("unseal.json", unseal),
                     "--unseal-runs", str(unseal_runs)]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = check.main(args)
        return rc, err.getvalue()

    def broken(self, phase_index, **changes):
        doc = copy.deepcopy(COMPLETE)
        doc["phases"][phase_index].update(changes)
        return doc

    def test_complete_run_passes(self):
        rc, err = self.run_check([COMPLETE, COMPLETE])
        self.assertEqual((rc, err), (0, ""))

    def test_unfinished_smtp_messages_fail(self):
        rc, err = self.run_check([COMPLETE, self.broken(0, ok=6)])
        self.assertEqual(rc, 1)
        self.assertIn("6 of 8 completed", err)

    def test_client_errors_fail_and_are_quoted(self):
        rc, err = self.run_check([self.broken(0, errors=1, error_samples=["454 4.7.0"])])
        self.assertEqual(rc, 1)
        self.assertIn("1 client errors (454 4.7.0)", err)

    def test_accepted_but_not_stored_messages_fail(self):
        rc, err = self.run_check([self.broken(0, stored=7)])
        self.assertEqual(rc, 1)
        self.assertIn("7 of 8 accepted messages are stored", err)

    def test_pop3_session_missing_messages_fails(self):
        rc, err = self.run_check([self.broken(2, msgs=23)])
        self.assertEqual(rc, 1)
        self.assertIn("retrieved 23 messages, expected 24", err)

    def test_missing_samples_fail(self):
        doc = self.broken(2, peak_pss_mib=0)
        for p in doc["phases"]:
            p["server_cpu_s"] = 0
        rc, err = self.run_check([doc])
        self.assertEqual(rc, 1)
        self.assertIn("no memory sample", err)
        self.assertIn("onionmaild: no CPU sample in any phase", err)

    def test_a_phase_shorter_than_one_clock_tick_of_cpu_passes(self):
        # 8 messages at 1.6 ms of CPU each can read 0 ticks; the other phases show CPU.
        rc, err = self.run_check([self.broken(0, server_cpu_s=0)])
        self.assertEqual(rc, 0, err)

    def test_a_client_that_resumes_only_every_other_connection_fails(self):
        # 8 threads x 3 connections: the 16 after each thread's first must resume.
        rc, err = self.run_check([COMPLETE, self.broken(1, resumed=8)])
        self.assertEqual(rc, 1)
        self.assertIn("8 TLS sessions resumed, expected 16", err)

    def test_server_without_phases_fails(self):
        rc, err = self.run_check([dict(COMPLETE, phases=[])])
        self.assertEqual(rc, 1)
        self.assertIn("no phase was run", err)

    def test_too_few_unsealed_boots_fail(self):
        rc, err = self.run_check([COMPLETE], unseal={"boots": [{"unsealed_ms": 50.0}]})
        self.assertEqual(rc, 1)
        self.assertIn("unseal: 1 of 2 boots unsealed", err)

    def test_missing_unseal_file_fails(self):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = check.main([self.write("a.json", COMPLETE), "--unseal",
                             os.path.join(self.dir.name, "absent.json")])
        self.assertEqual(rc, 1)
        self.assertIn("absent.json: cannot read", err.getvalue())

    def test_unreadable_loadgen_json_fails(self):
        path = os.path.join(self.dir.name, "torn.json")
        with open(path, "w") as f:
            f.write('{"phases": [')
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = check.main([path])
        self.assertEqual(rc, 1)
        self.assertIn("torn.json: cannot read", err.getvalue())


if __name__ == "__main__":
    unittest.main()
