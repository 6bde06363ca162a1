"""Client-side helpers of the integration harness (re-exported by harness.py).

Contract:
  * CRLF, crlf(): the wire line ending and a message normaliser to it.
  * retr_bytes(): a POP3 RETR through poplib, rebuilt byte-exact with CRLF.
  * RawLine: a minimal line client over a (possibly TLS) socket for protocol
    abuse tests; raw_smtp_tls(env) gives one that is greeted, EHLO'd,
    STARTTLS'd (verifying env's certificate) and EHLO'd again.
Nothing here starts or stops servers; `env` is a harness.TestEnv.
"""

import socket
import ssl
import time

CRLF = b"\r\n"


def retr_bytes(p, n):
    """RETR n through poplib and rebuild the message bytes with CRLF."""
    _, lines, _ = p.retr(n)
    return CRLF.join(lines) + CRLF


def crlf(text):
    """Normalises a str/bytes message to CRLF line endings, ending in CRLF."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    text = text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not text.endswith(CRLF):
        text += CRLF
    return text


# ----------------------------------------------------------- raw clients
class RawLine:
    """Minimal line client over a (possibly TLS) socket, for protocol abuse
    tests. Reads byte-exact; never over-reads past a reply when asked to read
    a single reply from a plaintext socket (read_reply_exact)."""

    def __init__(self, host, port, timeout=15):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def readline(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def readline_exact(self):
        """Reads one line byte by byte (leaves the rest in the kernel)."""
        assert not self.buf
        line = b""
        while not line.endswith(b"\n"):
            c = self.sock.recv(1)
            if not c:
                raise EOFError("connection closed; partial=%r" % line)
            line += c
        return line

    def smtp_reply(self, exact=False):
        """Returns (code, [lines]) of one possibly multi-line SMTP reply."""
        lines = []
        while True:
            line = self.readline_exact() if exact else self.readline()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), lines

    def starttls(self, ctx, server_hostname="127.0.0.1"):
        assert not self.buf, "unread plaintext before TLS: %r" % self.buf
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)

    def pending(self, wait=1.0):
        """Returns bytes that arrive within `wait` seconds (b'' if none)."""
        if self.buf:
            data, self.buf = self.buf, b""
            return data
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return b""
        finally:
            self.sock.settimeout(15)

    def closed_by_peer(self, wait=5.0):
        """True if the peer closes (EOF/reset) within `wait`; reads and
        discards any data before EOF."""
        self.sock.settimeout(wait)
        deadline = time.monotonic() + wait
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionError, ssl.SSLError, OSError):
            return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_smtp_tls(env, ehlo="raw.test"):
    """Raw SMTP connection, greeted, EHLO'd, STARTTLS'd and EHLO'd again."""
    c = RawLine("127.0.0.1", env.smtp_port)
    code, _ = c.smtp_reply()
    assert code == 220, code
    c.send(b"EHLO " + ehlo.encode() + CRLF)
    assert c.smtp_reply()[0] == 250
    c.send(b"STARTTLS\r\n")
    code, lines = c.smtp_reply()
    assert code == 220, lines
    c.starttls(env.tls_context())
    c.send(b"EHLO " + ehlo.encode() + CRLF)
    code, lines = c.smtp_reply()
    assert code == 250, lines
    return c
