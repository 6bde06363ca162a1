"""Retention: the periodic sweep removes messages older than
store.retention_days (by file mtime, the arrival time; it needs no keys) and
keeps newer ones; a removed message is gone from POP3 and from disk.
"""

import glob
import os
import time
import unittest

from harness import ServerTestCase, crlf


def message_files(state_dir):
    return {p for p in glob.glob(os.path.join(state_dir, "mbox", "*", "*"))
            if os.path.basename(p) != "lock"}


class RetentionSweepTest(ServerTestCase, unittest.TestCase):
    EXTRA_CONFIG = {"store": {"retention_days": 2, "sweep_interval_seconds": 1}}

    def test_sweep_removes_only_messages_older_than_retention(self):
        env = self.env
        bob = env.users["bob"]
        env.send_external([bob.addr], crlf("Subject: old\n\nold-message-marker\n"))
        old_files = message_files(env.state_dir)
        self.assertEqual(len(old_files), 1)
        env.send_external([bob.addr], crlf("Subject: new\n\nnew-message-marker\n"))
        new_files = message_files(env.state_dir) - old_files
        self.assertEqual(len(new_files), 1)

        # One day old: inside the retention period, must survive sweeps.
        one_day = time.time() - 1 * 86400 - 60
        for path in new_files:
            os.utime(path, (one_day, one_day))
        # Three days old: past the two-day retention period.
        three_days = time.time() - 3 * 86400
        for path in old_files:
            os.utime(path, (three_days, three_days))

        deadline = time.time() + 15
        while time.time() < deadline and any(os.path.exists(p) for p in old_files):
            time.sleep(0.2)
        self.assertFalse(any(os.path.exists(p) for p in old_files),
                         "expired message file still on disk")
        self.assertTrue(all(os.path.exists(p) for p in new_files))

        messages = env.fetch_all(bob)
        self.assertEqual(len(messages), 1)
        self.assertIn(b"new-message-marker", messages[0][1])
        self.assertNotIn(b"old-message-marker", messages[0][1])


if __name__ == "__main__":
    unittest.main()
