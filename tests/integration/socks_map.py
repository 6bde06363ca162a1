"""A SOCKS5 proxy for integration tests that maps names to loopback ports.

Stands in for Tor's SOCKS port when servers on one machine must reach each
other by onion name (mail federation, docs/federation.md) without starting a
Tor network (tests/integration/torlab.py does that, slower).

Contract:
  * SocksMap(routes) listens on 127.0.0.1:<free port> (harness_ports) from
    start() until stop(). routes maps "name:port" (the name as the client
    sends it, lower case) to a loopback port.
  * Only SOCKS5 without authentication and CONNECT with ATYP=3 (a name) are
    served, as a client that leaves name resolution to Tor sends them. A
    name:port not in routes gets reply 4 (host unreachable), like Tor for an
    unknown onion; any other request gets reply 7 or 8 and the connection is
    closed.
  * requests lists every "name:port" asked for, in order, answered or not;
    refuse_all (settable) makes every CONNECT fail with reply 4.
  * Each connection is relayed byte for byte in its own threads until either
    side closes.
"""

import socket
import struct
import threading

from harness_ports import free_port


class SocksMap:
    def __init__(self, routes):
        self.routes = {k.lower(): v for k, v in routes.items()}
        self.requests = []
        self.refuse_all = False
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener = None
        self._thread = None
        self._conns = []

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self._listener = s
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.close()
            except OSError:
                pass

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except (OSError, AttributeError):
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _recv_exact(sock, n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client closed")
            data += chunk
        return data

    def _serve(self, conn):
        try:
            conn.settimeout(10)
            ver, nmethods = self._recv_exact(conn, 2)
            methods = self._recv_exact(conn, nmethods)
            if ver != 5 or 0 not in methods:
                conn.sendall(b"\x05\xff")
                return conn.close()
            conn.sendall(b"\x05\x00")
            ver, cmd, _, atyp = self._recv_exact(conn, 4)
            if ver != 5 or cmd != 1:
                conn.sendall(b"\x05\x07\x00\x01" + b"\x00" * 6)
                return conn.close()
            if atyp != 3:
                conn.sendall(b"\x05\x08\x00\x01" + b"\x00" * 6)
                return conn.close()
            name = self._recv_exact(conn, self._recv_exact(conn, 1)[0]).decode("ascii", "replace")
            (port,) = struct.unpack(">H", self._recv_exact(conn, 2))
            key = "%s:%d" % (name.lower(), port)
            with self._lock:
                self.requests.append(key)
            target = None if self.refuse_all else self.routes.get(key)
            up = None
            if target is not None:
                try:
                    up = socket.create_connection(("127.0.0.1", target), timeout=10)
                except OSError:
                    up = None
            if up is None:
                conn.sendall(b"\x05\x04\x00\x01" + b"\x00" * 6)
                return conn.close()
            conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", self.port))
            conn.settimeout(None)
            up.settimeout(None)
            with self._lock:
                self._conns.append(up)
            t = threading.Thread(target=self._pipe, args=(up, conn), daemon=True)
            t.start()
            self._pipe(conn, up)
        except (OSError, ConnectionError, ValueError):
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s, how in ((dst, socket.SHUT_WR),):
            try:
                s.shutdown(how)
            except OSError:
                pass
