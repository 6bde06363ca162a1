"""bench/free_ports.py: the ports a benchmark gives the servers it starts (swtpm, onionmaild).

The ports must lie outside the kernel's ephemeral range when the host has such ports (the local
ports of outgoing connections, whose TIME_WAIT sockets make a later bind fail), be consecutive
when asked, and each pass the check; nothing is returned when no port does.
"""

import os
import random
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import free_ports  # noqa: E402


class FreePortsTest(unittest.TestCase):
    def test_ports_outside_the_ephemeral_range_come_first(self):
        starts = free_ports.candidates(2, True, 32768, 60999, random.Random(1))
        outside = [p for p in starts if p + 1 < 32768 or p > 60999]
        self.assertEqual(starts[:len(outside)], outside)
        self.assertGreater(len(outside), 20000)
        self.assertTrue(all(p >= free_ports.FIRST_PORT for p in starts))
        self.assertTrue(all(p + 1 <= 65535 for p in starts))
        # A pair that straddles the range's low end is not "outside".
        self.assertNotIn(32767, outside)

    def test_consecutive_ports_are_consecutive_and_outside_the_range(self):
        ports = free_ports.pick(2, consecutive=True, rng=random.Random(2),
                                low_high=(32768, 60999))
        self.assertEqual(len(ports), 2)
        self.assertEqual(ports[1], ports[0] + 1)
        self.assertTrue(ports[1] < 32768 or ports[0] > 60999)

    def test_picked_ports_can_be_listened_on(self):
        ports = free_ports.pick(3)
        self.assertEqual(len(set(ports)), 3)
        for p in ports:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))  # no SO_REUSEADDR, as swtpm
                s.listen(1)
            finally:
                s.close()

    def test_a_port_the_check_refuses_is_skipped(self):
        refused = set(range(free_ports.FIRST_PORT, 32768, 2))  # every even port below the range
        ports = free_ports.pick(2, consecutive=True, rng=random.Random(3),
                                low_high=(32768, 60999), check=lambda p: p not in refused)
        self.assertTrue(ports)
        self.assertFalse(set(ports) & refused)

    def test_nothing_is_returned_when_no_port_passes(self):
        self.assertEqual(free_ports.pick(2, consecutive=True, check=lambda p: False), [])
        self.assertEqual(free_ports.pick(1, check=lambda p: False), [])

    def test_the_range_is_read_from_the_kernel_or_defaults(self):
        low, high = free_ports.ephemeral_range()
        self.assertLess(low, high)
        self.assertEqual(free_ports.ephemeral_range("/nonexistent"), (32768, 60999))


if __name__ == "__main__":
    unittest.main()
