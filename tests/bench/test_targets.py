"""bench/targets.py: the table of issue 6's targets at the top of each report (nothing is timed).

Each test builds loadgen-shaped JSON for onionmaild and the two Postfix + Dovecot variants and
reads the verdicts the table gives.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import targets  # noqa: E402


def smtp(run, rate, pss=24.0, delivered=None, steal=1.0):
    p = {"phase": "smtp", "kind": "smtp", "size": 10240, "conc": 8, "run": run, "rate": rate,
         "peak_pss_mib": pss, "device_ops_per_item": 1.0, "steal_pct": steal}
    if delivered is not None:
        p["delivered_rate"] = delivered
    return p


def pop3(group, conc, msg_rate, run=0, steal=1.0):
    return {"phase": "pop3", "kind": "pop3", "group": group, "conc": conc, "run": run,
            "msg_rate": msg_rate, "device_ops_per_item": 2.0, "steal_pct": steal}


def onionmaild(smtp_rates, pss=24.0, pop=None, plan="full"):
    phases = [smtp(i, r, pss) for i, r in enumerate(smtp_rates)]
    pop = pop or {("kdf-default-repeat", 1): 800.0, ("kdf-default-repeat", 8): 1800.0,
                  ("kdf-default-first", 1): 120.0, ("kdf-default-first", 8): 240.0}
    phases += [pop3(g, c, r) for (g, c), r in pop.items()]
    return {"server": "onionmaild", "plan": plan, "phases": phases}


def peer(name, delivered, pop=None):
    phases = [smtp(i, d, 100.0, delivered=d) for i, d in enumerate(delivered)]
    pop = pop or {1: 100.0, 8: 200.0}
    phases += [pop3("sha512-crypt", c, r) for c, r in pop.items()]
    phases += [pop3("argon2id", c, r / 10) for c, r in pop.items()]
    return {"server": name, "phases": phases}


def row(text, start):
    return next(line for line in text.splitlines() if line.startswith("| " + start))


class TargetsTest(unittest.TestCase):
    def setUp(self):
        # mail_crypt delivers 80 msg/s in each repetition; plain 120 (it is not the reference).
        self.peers = [peer("postfix+dovecot-plain", [120.0, 120.0, 120.0]),
                      peer("postfix+dovecot-crypt", [80.0, 80.0, 80.0])]

    def test_the_smtp_target_is_met_by_the_median_and_counted_by_repetition(self):
        text = targets.section(onionmaild([440.0, 480.0, 396.0]), self.peers)
        line = row(text, "delivered msg/s")
        self.assertIn("5.50× (repetitions 5.50×, 6.00×, 4.95×: 2 of 3 at 5× or more)", line)
        self.assertTrue(line.endswith("| met |"))

    def test_a_repetition_the_hypervisor_took_cpus_from_is_named_and_the_rest_counted(self):
        om = onionmaild([440.0, 480.0, 240.0])  # 5.50×, 6.00×, 3.00×
        om["phases"][2]["steal_pct"] = 30.4  # onionmaild's third turn
        self.peers[1]["phases"][1]["steal_pct"] = 12.0  # mail_crypt's second turn
        line = row(targets.section(om, self.peers), "delivered msg/s")
        self.assertIn("5.50× (repetitions 5.50×, 6.00×, 3.00×: 2 of 3 at 5× or more; the "
                      "hypervisor took more than 10 % of the CPUs (steal, onionmaild's turn / "
                      "mail_crypt's) in repetitions 2 (1 % / 12 %), 3 (30 % / 1 %): of the other "
                      "1, 1 at 5× or more)", line)
        self.assertTrue(line.endswith("| met |"))  # the verdict still takes every repetition

    def test_steal_at_or_below_the_limit_or_not_recorded_is_not_mentioned(self):
        om = onionmaild([440.0, 396.0])
        om["phases"][0]["steal_pct"] = 10.0
        del om["phases"][1]["steal_pct"]
        line = row(targets.section(om, self.peers), "delivered msg/s")
        self.assertIn("(repetitions 5.50×, 4.95×: 1 of 2 at 5× or more)", line)
        self.assertNotIn("hypervisor", line)

    def test_when_every_repetition_lost_cpus_none_is_left_to_count(self):
        om = onionmaild([440.0, 396.0])
        for ph in om["phases"][:2]:
            ph["steal_pct"] = 20.0
        line = row(targets.section(om, self.peers), "delivered msg/s")
        self.assertIn("in repetitions 1 (20 % / 1 %), 2 (20 % / 1 %): none left)", line)

    def test_a_ratio_just_below_five_is_not_met_though_it_nearly_rounds_to_it(self):
        text = targets.section(onionmaild([399.68, 399.68, 399.68]), self.peers)  # 4.996×
        line = row(text, "delivered msg/s")
        self.assertIn("4.99×", line)
        self.assertTrue(line.endswith("| **not met** |"))

    def test_pop3_rows_compare_each_login_kind_with_the_crypt_peers_sha512_crypt_users(self):
        text = targets.section(onionmaild([480.0]), self.peers)
        self.assertIn("| POP3 RETR msg/s, 1 client, repeat logins (within", text)
        self.assertIn("≥ 5× mail_crypt | 8.00× | met |",
                      row(text, "POP3 RETR msg/s, 1 client, rep"))
        self.assertIn("| 9.00× | met |", row(text, "POP3 RETR msg/s, 8 clients, repeat"))
        self.assertIn("| 1.20× | **not met** |", row(text, "POP3 RETR msg/s, 1 client, first"))
        self.assertIn("| 1.20× | **not met** |", row(text, "POP3 RETR msg/s, 8 clients, first"))

    def test_pop3_rows_give_each_repetition_and_name_the_ones_steal_disturbed(self):
        om = onionmaild([480.0])
        om["phases"] = [p for p in om["phases"] if p["phase"] == "smtp"]
        om["phases"] += [pop3("kdf-default-repeat", 8, r, run=i, steal=st)
                         for i, (r, st) in enumerate([(1800.0, 1.0), (900.0, 40.0), (1700.0, 2.0)])]
        crypt = self.peers[1]
        crypt["phases"] = [p for p in crypt["phases"] if p["phase"] == "smtp"]
        crypt["phases"] += [pop3("sha512-crypt", 8, 200.0, run=i) for i in range(3)]
        line = row(targets.section(om, self.peers), "POP3 RETR msg/s, 8 clients, repeat")
        self.assertIn("| 8.50× (repetitions 9.00×, 4.50×, 8.50×: 2 of 3 at 5× or more; the "
                      "hypervisor took more than 10 % of the CPUs (steal, onionmaild's turn / "
                      "mail_crypt's) in repetition 2 (40 % / 1 %): of the other 2, 2 at 5× or "
                      "more) | met |", line)

    def test_pss_takes_the_highest_repetition_against_32_mib(self):
        om = onionmaild([480.0, 480.0])
        om["phases"][1]["peak_pss_mib"] = 33.5
        text = targets.section(om, self.peers)
        self.assertIn("| 33.5 MiB (the highest repetition) | **not met** |", text)
        text = targets.section(onionmaild([480.0], pss=31.9), self.peers)
        self.assertIn("| 31.9 MiB (the highest repetition) | met |", text)

    def test_token_operations_and_unseal_are_shown_without_a_verdict(self):
        unseal = {"threshold": 3, "n": 5, "summary": {"unsealed_ms": {"median": 61.0}}}
        text = targets.section(onionmaild([480.0]), self.peers, unseal)
        self.assertIn("| 1.00 / 2.00 | measured (no target) |", text)
        self.assertIn("(3-of-5 peers on loopback), median | 61 ms | measured (no target) |", text)

    def test_a_missing_cell_is_not_measured_rather_than_met(self):
        om = onionmaild([480.0], pop={("kdf-default-repeat", 1): 800.0})
        text = targets.section(om, self.peers)
        self.assertIn("| – | not measured |", row(text, "POP3 RETR msg/s, 8 clients, repeat"))
        self.assertIn("| – | not measured |", row(text, "POP3 RETR msg/s, 1 client, first"))

    def test_a_run_without_the_smtp_cell_judges_neither_its_speed_nor_its_memory(self):
        om = onionmaild([])
        text = targets.section(om, self.peers)
        self.assertTrue(row(text, "delivered msg/s").endswith("| – | not measured |"))
        self.assertTrue(row(text, "whole-server peak").endswith("| – | not measured |"))

    def test_a_quick_run_gives_its_figures_but_no_verdict(self):
        text = targets.section(onionmaild([480.0], plan="quick"), self.peers)
        self.assertIn("say nothing about speed", text)
        self.assertIn("| 6.00× | no verdict (`--quick`) |", row(text, "delivered msg/s"))
        self.assertIn("| 1.20× | no verdict (`--quick`) |",
                      row(text, "POP3 RETR msg/s, 1 client, first"))
        self.assertNotIn("| met |", text)
        self.assertNotIn("not met", text)
        full = targets.section(onionmaild([480.0]), self.peers)
        self.assertNotIn("say nothing", full)
        self.assertNotIn("no verdict", full)

    def test_without_a_mail_crypt_peer_there_is_no_table(self):
        self.assertEqual(targets.section(onionmaild([480.0]), self.peers[:1]), "")


if __name__ == "__main__":
    unittest.main()
