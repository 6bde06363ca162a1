"""The per-mailbox quota (store.mailbox_quota_mib), end to end.

One user's mail must not fill the disk that every user's mail shares. Once a
mailbox's message files hold its quota, every RCPT to it gets 452 4.2.2
(a temporary failure: senders retry) before any data is sent; the other
recipients of the same message still get it; a sender that declares a size
the mailbox has no room for is refused the same way; every message that got a 250
reads back whole; the log says so once, naming the mailbox only by its
hashed id, which `onionmailctl user show` ties to the user, and
`onionmailctl status` counts it; and when the user deletes mail, the
mailbox takes mail again.
"""

import re
import smtplib
import unittest

from harness import ServerTestCase, crlf

MESSAGE_LINES = 1400  # about 100 KiB a message


def message(i):
    line = "%06d" % i + "q" * 64 + "\n"
    return crlf("Subject: quota %d\n\n%s" % (i, line * MESSAGE_LINES))


class QuotaTest(ServerTestCase, unittest.TestCase):
    # A quota may not be smaller than the largest message (config check).
    EXTRA_CONFIG = {"store": {"mailbox_quota_mib": 1}, "smtp": {"max_message_bytes": 1 << 20}}
    USERS = ("alice", "bob")

    def rcpt_code(self, user):
        s = self.env.smtp()
        try:
            s.mail("someone@remote.onion")
            return s.rcpt(user.addr)
        finally:
            s.close()

    def test_a_full_mailbox_gets_452_422_keeps_its_mail_and_takes_mail_again_after_deletions(self):
        alice, bob = self.env.users["alice"], self.env.users["bob"]
        accepted = []
        refused = None
        for i in range(30):
            s = self.env.smtp()
            try:
                s.sendmail("someone@remote.onion", [alice.addr], message(i))
                accepted.append(i)
            except smtplib.SMTPRecipientsRefused as e:
                refused = list(e.recipients.values())[0]
                break
            finally:
                s.close()
        self.assertIsNotNone(refused, "the quota was never reached")
        self.assertEqual(refused, (452, b"4.2.2 Mailbox full, try again later"))
        # About 100 KiB each, stored in two 64 KiB segments: 1 MiB holds 8 or so.
        self.assertIn(len(accepted), range(6, 11), accepted)
        self.assertEqual(self.rcpt_code(alice)[0], 452)
        # The operator sees it in `onionmailctl status` (counts only, no names).
        out = self.env.ctl("status").stdout.decode()
        self.assertRegex(out, r"mail: %d message\(s\), [0-9.]+ MiB in 1 mailbox" % len(accepted))
        self.assertIn("mailbox quota: 1 MiB; mailboxes that hold it: 1", out)

        # One user's quota, not everyone's: bob gets the message that alice
        # is refused, in the same transaction.
        s = self.env.smtp()
        try:
            refusals = s.sendmail("someone@remote.onion", [alice.addr, bob.addr], message(500))
        finally:
            s.close()
        self.assertEqual(refusals, {alice.addr: (452, b"4.2.2 Mailbox full, try again later")})
        got = self.env.fetch_all(bob)
        self.assertEqual(len(got), 1)
        self.assertIn(b"Subject: quota 500", got[0][1])

        # A sender that declares its message's size (SIZE=, RFC 1870) is told
        # at RCPT when the mailbox has no room for it, though it is not full.
        s = self.env.smtp()
        try:
            s.mail("someone@remote.onion", ["SIZE=1000000"])
            self.assertEqual(s.rcpt(bob.addr), (452, b"4.2.2 Mailbox full, try again later"))
            s.rset()
            s.mail("someone@remote.onion", ["SIZE=10000"])
            self.assertEqual(s.rcpt(bob.addr), (250, b"2.1.5 Recipient ok"))
        finally:
            s.close()

        log = self.env.wait_log(rb"refusing new mail for it \(452 4\.2\.2\)")
        self.assertEqual(log.count(b"refusing new mail for it (452 4.2.2)"), 1)
        line = re.search(rb"mailbox ([0-9a-f]{8})\.\.\. holds [0-9.]+ [KM]iB, "
                         rb"store.mailbox_quota_mib 1.0 MiB: refusing", log)
        self.assertIsNotNone(line, self.env.log_tail())
        self.assertNotIn(b"alice", log)
        # `user show` ties the log's mailbox id to the user, for the operator.
        out = self.env.ctl("user", "show", "alice").stdout.decode()
        self.assertIn("user alice: mailbox %s..." % line.group(1).decode(), out)
        self.assertRegex(out, r"mail: %d message\(s\), 1\.[0-9] MiB" % len(accepted))
        self.assertIn("quota: 1 MiB, full: new mail gets 452 4.2.2", out)
        self.assertIn("quota: 1 MiB, not full", self.env.ctl("user", "show", "bob").stdout.decode())
        self.assertNotEqual(self.env.ctl("user", "show", "nobody", check=False).returncode, 0)

        # Every message that got a 250 is there, whole; the user deletes
        # three, and the mailbox takes mail again.
        p = self.env.pop3_login(alice)
        count, _ = p.stat()
        self.assertEqual(count, len(accepted))
        subjects = []
        for n in range(1, count + 1):
            body = b"\r\n".join(p.retr(n)[1])
            subjects.append(int(re.search(rb"Subject: quota (\d+)", body).group(1)))
            self.assertEqual(body.count(b"q" * 64), MESSAGE_LINES)
        self.assertEqual(sorted(subjects), accepted)
        for n in (1, 2, 3):
            p.dele(n)
        p.quit()
        self.assertEqual(self.rcpt_code(alice), (250, b"2.1.5 Recipient ok"))
        self.env.wait_log(rb"accepting its mail again")
        self.assertIn("mailboxes that hold it: 0", self.env.ctl("status").stdout.decode())
        s = self.env.smtp()
        try:
            s.sendmail("someone@remote.onion", [alice.addr], message(1000))
        finally:
            s.close()
        self.assertEqual(self.env.mailbox_count(alice), len(accepted) - 3 + 1)


if __name__ == "__main__":
    unittest.main()
