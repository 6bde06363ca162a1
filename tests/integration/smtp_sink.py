"""A small SMTP server that takes every message, with STARTTLS (TLS 1.3),
standing in for an exit gateway's smarthost (docs/gateways.md, "The exit
direction"). It records each transaction that reached its final dot:
the MAIL FROM path, the RCPT TO paths and the data (dot-unstuffed, CRLF),
and the EHLO names it was greeted with. Runs on its own thread."""

import os
import socket
import ssl
import subprocess
import tempfile
import threading


class SmtpSink:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="om-sink-")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                        "-subj", "/CN=smarthost.test", "-keyout", self.key,
                        "-out", self.cert], check=True, capture_output=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(self.cert, self.key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.messages = []   # (mail_from, [rcpt], data bytes)
        self.ehlo_names = []
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.stopping = True
        self.sock.close()
        subprocess.run(["rm", "-rf", self.dir], check=False)

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(60)
        f = conn.makefile("rb")
        tls = False

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            send("220 smarthost.test ESMTP sink")
            mail_from, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode("ascii", "replace")
                verb = cmd[:4].upper()
                if verb == "EHLO":
                    with self.lock:
                        self.ehlo_names.append(cmd[5:])
                    extra = [] if tls else ["250-STARTTLS"]
                    for l in ["250-smarthost.test"] + extra + ["250-8BITMIME",
                                                               "250 SIZE 10485760"]:
                        send(l)
                elif cmd.upper() == "STARTTLS" and not tls:
                    send("220 2.0.0 go ahead")
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    f = conn.makefile("rb")
                    tls = True
                elif verb == "MAIL":
                    mail_from = cmd[cmd.index("<") + 1:cmd.index(">")]
                    rcpts = []
                    send("250 2.1.0 ok")
                elif verb == "RCPT":
                    rcpts.append(cmd[cmd.index("<") + 1:cmd.index(">")])
                    send("250 2.1.5 ok")
                elif verb == "DATA":
                    send("354 go on")
                    data = b""
                    while True:
                        l = f.readline()
                        if not l:
                            return  # no final dot: nothing recorded
                        if l == b".\r\n":
                            break
                        data += l[1:] if l.startswith(b".") else l
                    with self.lock:
                        self.messages.append((mail_from, rcpts, data))
                    send("250 2.0.0 queued")
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    send("250 2.0.0 ok")
                elif verb == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("502 5.5.1 not here")
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass
