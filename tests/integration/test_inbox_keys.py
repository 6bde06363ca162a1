"""Inbox key types: new users get X25519 inbox keys (HPKE data-key wraps of
80 bytes) unless the operator sets store.inbox_key = "rsa"; users made under
either setting keep their key, and their mail stays readable when the setting
changes. Real clients (smtplib STARTTLS, poplib STLS); the message files on
disk are checked for the wrap size their format says (docs/store.md).
"""

import os
import secrets
import unittest

from harness import TestEnv, crlf


def make_msg(to, subject):
    return crlf(("From: <someone@remote.onion>\r\nTo: <%s>\r\nSubject: %s\r\n"
                 "Message-ID: <%s@test>\r\n\r\nbody %s\r\n" % (
                     to, subject, secrets.token_hex(8), secrets.token_hex(16))).encode())


class InboxKeyTypesTest(unittest.TestCase):

    def setUp(self):
        self.env = TestEnv(prefix="om-inboxkeys-", extra_config={"store": {"inbox_key": "rsa"}})

    def tearDown(self):
        if self.env.running():
            self.env.stop()
        self.env.cleanup()

    def wrap_sizes(self):
        """The W field (bytes 37..38) of every message file, per mailbox dir."""
        sizes = {}
        mbox = os.path.join(self.env.state_dir, "mbox")
        for box in os.listdir(mbox):
            for name in os.listdir(os.path.join(mbox, box)):
                if name == "lock":
                    continue
                with open(os.path.join(mbox, box, name), "rb") as f:
                    head = f.read(39)
                self.assertEqual(head[:5], b"OMMS\x01")
                sizes.setdefault(box, set()).add(int.from_bytes(head[37:39], "big"))
        return sizes

    def set_inbox_key(self, value):
        with open(self.env.config_path) as f:
            text = f.read()
        self.assertIn('inbox_key = "rsa"', text)
        with open(self.env.config_path, "w") as f:
            f.write(text.replace('inbox_key = "rsa"', 'inbox_key = "%s"' % value))

    def test_old_rsa_users_and_new_x25519_users_both_read_their_mail(self):
        env = self.env
        env.init()
        old = env.add_user("old")  # store.inbox_key = "rsa"
        env.start()
        first = make_msg(old.addr, "before the change")
        self.assertEqual(env.send_external([old.addr], first), {})
        env.stop()
        self.assertEqual([s for s in self.wrap_sizes().values()], [{256}])

        self.set_inbox_key("x25519")
        new = env.add_user("new")
        env.start()
        both = make_msg(new.addr, "to both")
        self.assertEqual(env.send_external([old.addr, new.addr], both), {})

        got_old = [m for _, m in env.fetch_all(old)]
        got_new = [m for _, m in env.fetch_all(new)]
        self.assertEqual(len(got_old), 2)
        self.assertTrue(got_old[0].endswith(first) or got_old[1].endswith(first))
        self.assertTrue(any(m.endswith(both) for m in got_old))
        self.assertEqual(len(got_new), 1)
        self.assertTrue(got_new[0].endswith(both))
        # The old user's mail is still wrapped to RSA-2048, the new one's to X25519.
        self.assertEqual(sorted(sorted(s) for s in self.wrap_sizes().values()), [[80], [256]])

    def test_default_is_x25519_and_a_bad_setting_is_refused(self):
        env = self.env
        self.set_inbox_key("ed25519")
        p = env.ctl("init", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"store.inbox_key", p.stdout + p.stderr)
        with open(env.config_path) as f:
            text = f.read()
        with open(env.config_path, "w") as f:
            f.write(text.replace('inbox_key = "ed25519"\n', ""))
        env.init()
        user = env.add_user("alice")
        env.start()
        msg = make_msg(user.addr, "default")
        self.assertEqual(env.send_external([user.addr], msg), {})
        got = env.fetch_all(user)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0][1].endswith(msg))
        self.assertEqual(list(self.wrap_sizes().values()), [{80}])


if __name__ == "__main__":
    unittest.main()
