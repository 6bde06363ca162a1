"""Least privilege, seen from outside: the running server is four processes
(supervisor, key role, SMTP and POP3 front ends), each under seccomp, with
no_new_privs, not dumpable, and (when started as root) its own user. A front
end that makes a forbidden syscall dies of SIGSYS, the supervisor logs it and
restarts it, and the server keeps delivering; killing a role mid-transaction
loses no message that had its 250.

The forbidden-syscall trigger is a test-only hook compiled into onionmail-smtp
when CMake runs with -DONIONMAIL_TEST_HOOKS=ON (provisioning/test.sh does):
the client line XSECCOMP-TEST-OPEN makes the front end call openat(2).
"""

import os
import re
import signal
import smtplib
import socket
import threading
import time
import unittest

from harness import CRLF, RawLine, ServerTestCase, raw_smtp_tls
from harness_proc import children_of, status_fields

ROLE_USERS = {"onionmail-key": "onionmail", "onionmail-smtp": "onionmail-smtp",
              "onionmail-pop3": "onionmail-pop3", "onionmail-peer": "onionmail-peer"}


def uid_name(uid):
    import pwd
    return pwd.getpwuid(uid).pw_name


class LeastPrivilegeTest(ServerTestCase, unittest.TestCase):
    USERS = ("alice",)

    def roles(self, wait=10.0):
        """Waits until the three roles run; returns {comm: pid}."""
        deadline = time.monotonic() + wait
        while True:
            kids = children_of(self.env.proc.pid)
            # Running and past start-up: the role's own filter is stacked on
            # the supervisor's.
            if all(name in kids and self.sandboxed(kids[name]) for name in ROLE_USERS):
                return kids
            if time.monotonic() > deadline:
                self.fail("roles not all running: %r\n%s" % (kids, self.env.log_tail()))
            time.sleep(0.05)

    @staticmethod
    def sandboxed(pid):
        try:
            return status_fields(pid).get("Seccomp_filters") == "2"
        except OSError:
            return False

    def deliver(self, tag, attempts=40):
        """Delivers one message to alice (retrying while a role restarts)."""
        msg = ("From: <x@remote.onion>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n"
               "body of %s\r\n" % (self.env.users["alice"].addr, tag, tag)).encode()
        last = None
        for _ in range(attempts):
            try:
                refused = self.env.send_external([self.env.users["alice"].addr], msg)
                self.assertEqual(refused, {})
                return
            except (smtplib.SMTPException, OSError) as e:
                last = e
                time.sleep(0.25)
        self.fail("could not deliver %s: %r\n%s" % (tag, last, self.env.log_tail()))

    def subjects(self):
        out = []
        for _, data in self.env.fetch_all(self.env.users["alice"]):
            m = re.search(rb"Subject: (\S+)", data)
            out.append(m.group(1).decode() if m else None)
        return out

    def wait_log(self, pattern, wait=15.0):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            m = re.search(pattern, self.env.log_bytes())
            if m:
                return m
            time.sleep(0.05)
        self.fail("log never matched %r:\n%s" % (pattern, self.env.log_tail()))

    # ------------------------------------------------------------------ tests
    def test_each_role_is_a_sandboxed_process_with_its_own_user(self):
        kids = self.roles()
        for comm, pid in kids.items():
            if comm not in ROLE_USERS:
                continue
            st = status_fields(pid)
            self.assertEqual(st["Seccomp"], "2", comm)      # filter mode
            self.assertEqual(st["NoNewPrivs"], "1", comm)
            uid = int(st["Uid"].split()[0])
            if os.geteuid() == 0:
                self.assertEqual(uid_name(uid), ROLE_USERS[comm], comm)
                # Not dumpable: the files in /proc/<pid> then belong to root,
                # not to the role's own uid.
                self.assertEqual(os.stat("/proc/%d/status" % pid).st_uid, 0, comm)
            else:
                self.assertEqual(uid, os.getuid(), comm)

    def test_front_ends_hold_no_file_and_only_the_key_role_holds_the_state(self):
        kids = self.roles()
        for comm in ("onionmail-smtp", "onionmail-pop3", "onionmail-peer"):
            pid = kids[comm]
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except FileNotFoundError:
                    continue  # closed since the listing (an earlier test's session ending)
                self.assertTrue(
                    target.startswith(("socket:", "pipe:", "anon_inode:")) or
                    target == "/dev/null", "%s holds %s" % (comm, target))
        # Only the key process maps the hardware key-store libraries.
        for comm, pid in kids.items():
            with open("/proc/%d/maps" % pid) as f:
                maps = f.read()
            has_hw = "libtss2" in maps or "libp11-kit" in maps
            self.assertEqual(has_hw, comm == "onionmail-key", comm)

    def test_forbidden_syscall_kills_smtp_front_end_which_restarts_and_delivers(self):
        self.deliver("before-hook")
        old = self.roles()["onionmail-smtp"]
        c = raw_smtp_tls(self.env)
        self.role_deaths_expected = True
        c.send(b"XSECCOMP-TEST-OPEN\r\n")
        self.assertTrue(c.closed_by_peer(10.0),
                        "the front end survived a forbidden syscall (built without "
                        "-DONIONMAIL_TEST_HOOKS=ON?)")
        c.close()
        self.wait_log(rb"role smtp \(pid %d\) killed by seccomp \(SIGSYS\): syscall openat"
                      % old)
        # Restarted: a new pid, still sandboxed.
        deadline = time.monotonic() + 15
        while self.roles().get("onionmail-smtp") in (None, old):
            self.assertLess(time.monotonic(), deadline, self.env.log_tail())
            time.sleep(0.05)
        self.deliver("after-hook")
        got = self.subjects()
        self.assertIn("before-hook", got)
        self.assertIn("after-hook", got)
        self.assertTrue(self.env.running())

    def test_killed_smtp_front_end_mid_data_loses_no_acknowledged_message(self):
        self.deliver("acked-1")
        c = raw_smtp_tls(self.env)
        c.send(b"MAIL FROM:<x@remote.onion>\r\n")
        self.assertEqual(c.smtp_reply()[0], 250)
        c.send(b"RCPT TO:<" + self.env.users["alice"].addr.encode() + b">\r\n")
        self.assertEqual(c.smtp_reply()[0], 250)
        c.send(b"DATA\r\n")
        self.assertEqual(c.smtp_reply()[0], 354)
        c.send(b"Subject: never-acked\r\n\r\n" + b"partial line\r\n" * 2000)
        self.role_deaths_expected = True
        os.kill(self.roles()["onionmail-smtp"], signal.SIGKILL)
        self.assertTrue(c.closed_by_peer(10.0))
        c.close()
        self.wait_log(rb"role smtp \(pid \d+\) killed by signal SIGKILL")
        self.deliver("acked-2")
        got = self.subjects()
        self.assertIn("acked-1", got)
        self.assertIn("acked-2", got)
        self.assertNotIn("never-acked", got)
        self.assertNotIn(None, got)

    def test_killed_key_role_is_restarted_and_mail_stays_readable(self):
        self.deliver("before-key-kill")
        old = self.roles()["onionmail-key"]
        self.role_deaths_expected = True
        os.kill(old, signal.SIGKILL)
        self.wait_log(rb"role key \(pid %d\) killed by signal SIGKILL" % old)
        self.deliver("after-key-kill")
        got = self.subjects()
        self.assertIn("before-key-kill", got)
        self.assertIn("after-key-kill", got)

    def test_pop3_front_end_killed_mid_session_releases_the_mailbox(self):
        self.deliver("pop3-kill")
        p = self.env.pop3_login(self.env.users["alice"])
        self.assertGreaterEqual(p.stat()[0], 1)
        self.role_deaths_expected = True
        os.kill(self.roles()["onionmail-pop3"], signal.SIGKILL)
        self.wait_log(rb"role pop3 \(pid \d+\) killed by signal SIGKILL")
        try:
            p.sock.close()
        except OSError:
            pass
        # The key role saw the session channel close and dropped the lock:
        # a new login (after the restart) opens the mailbox.
        deadline = time.monotonic() + 20
        while True:
            try:
                self.assertIn("pop3-kill", self.subjects())
                break
            except (OSError, EOFError, Exception) as e:  # poplib errors too
                if time.monotonic() > deadline:
                    self.fail("mailbox not reopened: %r\n%s" % (e, self.env.log_tail()))
                time.sleep(0.25)

    def test_key_role_hashes_passwords_in_huge_pages_under_its_filter(self):
        # The key role's own mmap (crypto/huge_pages.h) gives libsodium's
        # Argon2id memory (8 MiB here) 2 MiB pages, from inside the filter.
        try:
            with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
                mode = f.read()
            with open("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") as f:
                size = int(f.read())
        except OSError:
            self.skipTest("no transparent huge pages on this kernel")
        if "[never]" in mode or size != 2 << 20:
            self.skipTest("transparent huge pages are off or not 2 MiB here")
        self.roles()
        self.wait_log(rb"argon2id by libsodium in 2048 KiB pages, seccomp on")
        starts = self.env.log_bytes().count(b"started role key")
        self.deliver("huge-pages")
        self.assertIn("huge-pages", self.subjects())  # a POP3 login: one Argon2id
        self.assertEqual(self.env.log_bytes().count(b"started role key"), starts,
                         self.env.log_tail())


class SandboxedRolesUnderLoadTest(ServerTestCase, unittest.TestCase):
    """Eight clients at once, each delivering and reading its own mail: the
    sandboxed roles must survive what only concurrency makes glibc and OpenSSL
    do (new malloc arenas, large heap trims). A role that dies fails the test
    (ServerTestCase.tearDown reads the supervisor's log), even when every
    client happened to retry its way through."""

    USERS = tuple("load%d" % i for i in range(8))

    def test_eight_concurrent_clients_deliver_and_read_with_no_role_restart(self):
        errors = []

        def worker(name):
            user = self.env.users[name]
            try:
                for i in range(6):
                    body = ("x" * 1000 + "\r\n") * (20 * (i + 1))  # 20..120 KB
                    msg = ("From: <x@remote.onion>\r\nTo: <%s>\r\nSubject: %s-%d\r\n\r\n%s"
                           % (user.addr, name, i, body)).encode()
                    if self.env.send_external([user.addr], msg) != {}:
                        errors.append((name, i, "refused"))
                got = self.env.fetch_all(user)
                if len(got) != 6:
                    errors.append((name, "fetched %d" % len(got)))
            except Exception as e:  # noqa: BLE001
                errors.append((name, repr(e)[:300]))

        threads = [threading.Thread(target=worker, args=(n,)) for n in self.USERS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [], self.env.log_tail())


if __name__ == "__main__":
    unittest.main()
