"""Durability under SIGKILL: "250 after DATA" must mean the message is stored.

Four client threads deliver 300 uniquely numbered messages (external sender,
STARTTLS, no AUTH) while a killer thread SIGKILLs the server at random points
and restarts it. Clients retry on connection errors. Invariant per id:
    n_250 <= count_in_mailbox <= n_250 + n_cut_after_dot
where n_cut_after_dot counts attempts whose connection died after the final
"." was written but before a reply was read (the server may or may not have
committed those). Every stored message must be complete and intact.
"""

import email
import email.policy
import hashlib
import random
import signal
import smtplib
import threading
import time
import unittest

from harness import TestEnv

TOTAL = 300
THREADS = 4
KILLS = 4


def body_for(msg_id):
    """Deterministic body: id, filler of id-dependent length, digest."""
    rnd = random.Random(msg_id)
    filler_lines = [("%06d-" % msg_id) + "".join(
        rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(70))
        for _ in range(rnd.randint(1, 60))]
    filler = "\r\n".join(filler_lines)
    digest = hashlib.sha256(filler.encode()).hexdigest()
    return filler, digest


def message_for(msg_id, rcpt):
    filler, digest = body_for(msg_id)
    return ("From: <sender@remote.onion>\r\nTo: <%s>\r\n"
            "Subject: durability id=%06d\r\nX-Test-Id: %06d\r\n\r\n"
            "ID:%06d\r\n%s\r\nDIGEST:%s\r\nEND-OF-MESSAGE\r\n"
            % (rcpt, msg_id, msg_id, msg_id, filler, digest)).encode()


class Attempts:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}        # id -> number of 250 replies to DATA
        self.cut = {}       # id -> attempts cut after the final dot
        self.other = []     # (id, code, text) non-250 final replies

    def add(self, table, msg_id):
        with self.lock:
            table[msg_id] = table.get(msg_id, 0) + 1


class DurabilityTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-durability-",
                           extra_config={"smtp": {"max_connections": 16}})
        self.env.init()
        self.bob = self.env.add_user("bob")
        self.env.start()

    def tearDown(self):
        self.env.cleanup()

    def _deliver(self, ids, attempts, stop_at):
        rcpt = self.bob.addr
        queue = list(ids)
        conn = None
        while queue and time.monotonic() < stop_at:
            msg_id = queue[0]
            sent_dot = False
            try:
                if conn is None:
                    conn = smtplib.SMTP("127.0.0.1", self.env.smtp_port, timeout=20)
                    conn.ehlo("dur.test")
                    conn.starttls(context=self.env.tls_context())
                    conn.ehlo("dur.test")
                code, _ = conn.mail("sender@remote.onion")
                if code != 250:
                    raise smtplib.SMTPResponseException(code, b"mail")
                code, _ = conn.rcpt(rcpt)
                if code != 250:
                    raise smtplib.SMTPResponseException(code, b"rcpt")
                conn.putcmd("data")
                code, _ = conn.getreply()
                if code != 354:
                    raise smtplib.SMTPResponseException(code, b"data")
                conn.send(message_for(msg_id, rcpt) + b".\r\n")
                sent_dot = True
                code, text = conn.getreply()
                if code == 250:
                    attempts.add(attempts.ok, msg_id)
                    queue.pop(0)
                else:
                    with attempts.lock:
                        attempts.other.append((msg_id, code, text))
                    conn.close()
                    conn = None
            except (OSError, smtplib.SMTPException, EOFError):
                if sent_dot:
                    attempts.add(attempts.cut, msg_id)
                if conn is not None:
                    try:
                        conn.close()
                    except OSError:
                        pass
                conn = None
                time.sleep(0.05)
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
        return queue

    def test_acknowledged_messages_survive_sigkill(self):
        attempts = Attempts()
        stop_at = time.monotonic() + 150
        leftovers = []
        kill_log = []
        done = threading.Event()

        def client(ids):
            leftovers.extend(self._deliver(ids, attempts, stop_at))

        def killer():
            # Kill at random points in the stream: after a random number of
            # acknowledged messages plus a random sub-second delay.
            rnd = random.Random()
            thresholds = sorted(rnd.sample(range(20, TOTAL - 40), KILLS))
            for threshold in thresholds:
                while sum(attempts.ok.values()) < threshold:
                    if done.wait(0.005):
                        return
                time.sleep(rnd.uniform(0.0, 0.3))
                self.env.proc.send_signal(signal.SIGKILL)
                self.env.proc.wait()
                kill_log.append(time.monotonic())
                self.env.kill()  # closes log handle
                self.env.start()

        ids = list(range(1, TOTAL + 1))
        threads = [threading.Thread(target=client, args=(ids[i::THREADS],))
                   for i in range(THREADS)]
        k = threading.Thread(target=killer)
        for t in threads:
            t.start()
        k.start()
        for t in threads:
            t.join(200)
        done.set()
        k.join(60)
        self.assertEqual(len(kill_log), KILLS,
                         "killer did not fire (clients too fast?)")
        self.assertEqual(leftovers, [], "ids never acknowledged within time")
        self.assertTrue(self.env.running(), self.env.log_tail())

        stored = self.env.fetch_all(self.bob)
        counts = {}
        problems = []
        for uid, raw in stored:
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            hdr = msg.get("X-Test-Id")
            if hdr is None:
                problems.append("message without X-Test-Id: %r" % raw[:200])
                continue
            msg_id = int(hdr)
            if not raw.endswith(message_for(msg_id, self.bob.addr)):
                problems.append("id %d stored incompletely/corrupt (len %d)"
                                % (msg_id, len(raw)))
            if not raw.startswith(b"Return-Path:"):
                problems.append("id %d lacks trace header" % msg_id)
            counts[msg_id] = counts.get(msg_id, 0) + 1
        for msg_id in range(1, TOTAL + 1):
            n_ok = attempts.ok.get(msg_id, 0)
            n_cut = attempts.cut.get(msg_id, 0)
            got = counts.get(msg_id, 0)
            if got < n_ok:
                problems.append("id %d: acknowledged %d times, stored %d "
                                "(LOST)" % (msg_id, n_ok, got))
            elif got > n_ok + n_cut:
                problems.append("id %d: acknowledged %d, cut-after-dot %d, "
                                "stored %d (PHANTOM)" % (msg_id, n_ok, n_cut, got))
        unexpected = set(counts) - set(range(1, TOTAL + 1))
        self.assertEqual(unexpected, set())
        uids = [u for u, _ in stored]
        self.assertEqual(len(uids), len(set(uids)), "duplicate UIDLs")
        print("\ndurability: kills=%d stored=%d acked=%d cut_after_dot=%d "
              "non250=%d" % (len(kill_log), len(stored),
                             sum(attempts.ok.values()),
                             sum(attempts.cut.values()), len(attempts.other)))
        self.assertEqual(problems, [], "\n".join(problems[:50]))


class RestartTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-restart-")
        self.env.init()
        self.bob = self.env.add_user("bob")
        self.env.start()

    def tearDown(self):
        self.env.cleanup()

    def test_sigterm_exits_cleanly_and_mail_and_uidls_survive_restart(self):
        msgs = [message_for(i, self.bob.addr) for i in (1, 2, 3)]
        for m in msgs:
            self.assertEqual(self.env.send_external([self.bob.addr], m), {})
        before = self.env.fetch_all(self.bob)
        rc = self.env.stop()
        self.assertEqual(rc, 0, "SIGTERM exit status %r\n%s" % (rc, self.env.log_tail()))
        self.env.start()
        after = self.env.fetch_all(self.bob)
        self.assertEqual(after, before)
        for (_, raw), m in zip(after, msgs):
            self.assertTrue(raw.endswith(m))

    def test_sigkill_while_idle_loses_nothing_and_restarts(self):
        for i in (1, 2):
            self.env.send_external([self.bob.addr], message_for(i, self.bob.addr))
        before = self.env.fetch_all(self.bob)
        self.env.proc.send_signal(signal.SIGKILL)
        self.env.proc.wait()
        self.env.kill()
        self.env.start()
        self.assertEqual(self.env.fetch_all(self.bob), before)

    def test_sigkill_during_pop3_quit_commit_leaves_consistent_mailbox(self):
        ids = list(range(1, 41))
        s = smtplib.SMTP("127.0.0.1", self.env.smtp_port, timeout=30)
        s.ehlo("x")
        s.starttls(context=self.env.tls_context())
        s.ehlo("x")
        for i in ids:
            s.sendmail("sender@remote.onion", [self.bob.addr],
                       message_for(i, self.bob.addr))
        s.quit()
        before = dict((int(email.message_from_bytes(raw)["X-Test-Id"]), uid)
                      for uid, raw in self.env.fetch_all(self.bob))
        self.assertEqual(sorted(before), ids)
        rnd = random.Random()
        p = self.env.pop3_login(self.bob)
        for n in range(2, len(ids) + 1, 2):  # delete even message numbers
            p.dele(n)
        p.sock.sendall(b"QUIT\r\n")
        time.sleep(rnd.uniform(0.0, 0.02))
        self.env.proc.send_signal(signal.SIGKILL)
        self.env.proc.wait()
        self.env.kill()
        p.close()
        self.env.start()
        after = {}
        for uid, raw in self.env.fetch_all(self.bob):
            i = int(email.message_from_bytes(raw)["X-Test-Id"])
            self.assertNotIn(i, after, "duplicate after crash")
            self.assertTrue(raw.endswith(message_for(i, self.bob.addr)),
                            "message %d damaged by crash during commit" % i)
            self.assertEqual(uid, before[i], "UIDL changed for %d" % i)
            after[i] = uid
        odd = [i for i in ids if i % 2]
        self.assertTrue(set(odd) <= set(after), "undeleted messages lost")
        self.assertTrue(set(after) <= set(ids))

    def test_sigkill_during_pop3_session_releases_lock_and_keeps_mail(self):
        self.env.send_external([self.bob.addr], message_for(1, self.bob.addr))
        p = self.env.pop3_login(self.bob)
        p.dele(1)
        self.env.proc.send_signal(signal.SIGKILL)
        self.env.proc.wait()
        self.env.kill()
        p.close()
        self.env.start()
        # No stale [IN-USE] lock, and the uncommitted DELE did not happen.
        self.assertEqual(self.env.mailbox_count(self.bob), 1)


if __name__ == "__main__":
    unittest.main()
