"""Loopback TCP ports for the integration tests and the benchmark scripts.

Contract: free_port() and free_port_pair() return ports that were free a
moment ago, below the kernel's ephemeral range, and reserved for the calling
process against every other process using this module (ctest -j runs test
modules in parallel, each in its own Python) until that process exits.
"""

import atexit
import fcntl
import os
import secrets
import socket
import tempfile

_issued_ports = set()
# Ports are reserved across processes too: ctest runs test modules in
# parallel (-j), each in its own Python, and two of them must never pick the
# same port between the check and their server's bind. A reservation is a file
# named after the port holding the owner's pid; a file whose pid is gone is
# stale and taken over. One lock file serialises the check-and-create.
_PORT_DIR = os.environ.get("ONIONMAIL_TEST_PORT_DIR",
                           os.path.join(tempfile.gettempdir(), "onionmail-test-ports"))


def _port_dir():
    os.makedirs(_PORT_DIR, exist_ok=True)
    try:
        os.chmod(_PORT_DIR, 0o1777)  # shared by root and non-root test runs
    except PermissionError:
        pass  # made by another user: already 1777
    return _PORT_DIR


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def _reserve(port, d):
    """Called under the directory lock: True if `port` is now ours."""
    path = os.path.join(d, str(port))
    try:
        with open(path) as f:
            owner = int(f.read().strip() or "0")
        if owner == os.getpid() or _pid_alive(owner):
            return False
        os.unlink(path)  # stale: its process is gone
    except FileNotFoundError:
        pass
    except (ValueError, PermissionError):
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % os.getpid())
    _issued_ports.add(port)
    return True


@atexit.register
def _release_ports():
    for port in _issued_ports:
        path = os.path.join(_PORT_DIR, str(port))
        try:
            with open(path) as f:
                if f.read().strip() == str(os.getpid()):
                    os.unlink(path)
        except OSError:
            pass


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick(width):
    """Reserves `width` consecutive ports that were free a moment ago and
    that no test process (this one included) holds; returns the first."""
    d = _port_dir()
    with open(os.path.join(d, ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for _ in range(500):
            port = secrets.randbelow(32000 - 10000) + 10000
            ports = range(port, port + width)
            if any(p in _issued_ports or not _bindable(p) for p in ports):
                continue
            taken = []
            for p in ports:
                if not _reserve(p, d):
                    break
                taken.append(p)
            if len(taken) == width:
                return port
            for p in taken:  # partial pair: give the first back
                _issued_ports.discard(p)
                os.unlink(os.path.join(d, str(p)))
    raise AssertionError("no fresh free port")


def free_port():
    """Returns a TCP port that was free a moment ago and that no test process
    has reserved (several servers and swtpm instances pick ports before any
    of them binds, and ctest runs modules in parallel). Picked at random below
    the kernel's ephemeral range (32768 and up by default): a port from
    bind(0) is an ephemeral one, which any process's next outgoing connection
    may take before our server binds it."""
    return _pick(1)


def free_port_pair():
    """Returns p such that p and p + 1 are both reserved as free_port() would:
    swtpm's TPM and control ports (tss2's swtpm TCTI finds the control
    channel on the port after the TPM's). bench/keys.sh uses it too."""
    return _pick(2)
