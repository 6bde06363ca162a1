#!/usr/bin/env python3
"""Independent computation of the TORM and KCTL test vectors (docs/PROTOCOL.md).

Does not use onionmaild code. The encodings are written out here with
struct.pack from the text of docs/PROTOCOL.md; Ed25519, RSA-PSS and SHA-256 come
from the `cryptography` package. The points S, X, Y are those of the ECMR
vectors, recomputed by gen_vectors.py (same directory).

RSA-PSS signatures are randomised, so the signatures below were made once by this
script (run with --new-signature or --new-tkim-signature to make another one) and
are kept as fixed values; every run checks with `cryptography` that it verifies for the given
SPKI, channel binding and body, and that a copy with one bit flipped does not.

The RSA-2048 key below is a TEST KEY, published on purpose; it protects nothing.

Run: python3 tests/unseal/gen_torm_vectors.py [--new-signature] [--new-tkim-signature]
"""
import base64
import hashlib
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_vectors  # noqa: E402  (P-256 on Python integers)

TEST_RSA_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDawUUNmfSraLaa
wZC3dw3Fd8OKkjOiT/2dxeVqpa/L9q84X6dO3SSJVl7eJeQo6jyjKbwbVbpWFndw
qkucsVOD0TiBhFfWsZYjuD43s8LYnTtix6+T2YXZhB6iYk1XdWNhBFv1MWwM3uKK
LoStF20qUiIFZF5EssPtzwD7aD+XNFN133yfzscfEkKXF0GoGoNKm+hC8lNg7eOD
ImfzQw/v2IB5NL2bJhr9QeKTsThleMf41KHCNWmWjJ696LqQ/gE6QE/IJtlWYqI4
ng49PYZ/12T9mWRFc4xEe7p3YwQgQtPV0nXe3vqoLq0pbe1uhuox/cep+30Sl3kH
xcXak+UdAgMBAAECggEAATRKddAQzYmf0pS07b7GZY/TuUDIE9gsLHfSW//egYcD
6lq/Tx1V1PEmI4zLtUEY3Deo9RXaFvg8Q6pNembaFDRWJ4M7yWqSJTzoxsZwoxbI
yWjIcLu2d/7d2Je4Ftn0FggkU3S6sgxM7NLRKgXrfgAUdyb9p90E7mSS/AYvibgw
oXwk18mZB1Q9kUgg21EeucJnIGvgyktLDjk9P3AcTwEsY2Zuaq3BwAnsX8Bw60EO
+Z3q1hKmNcRSpNhDX/iZph2bGQgTgSLejmMRB23DYZxL2w24j7192biBGZZq75EF
qsDeIViEEfZWpPZgqabrz+Q/iGk2ZdAv8+qBxIhtQQKBgQD3Q6j4SETtAR0ZOPYf
98z1mq7T1d5zQ6nHnoWqeJzbVdXeGYUS7xEnk2zJt6KamzPc7+yTLGPt9AQOT/oH
fQOqGNrhcFlOEsTIMVQRSOO20ap2wDdKk6IdFNVKlRV7PiM46SeypDXmQYEOXCOG
M4GYuAujJXDfT1panfIWlyls4QKBgQDie8MH9rms27oJheDEa4rmhM4XioVoR2AK
ZT1GC6cLUIhch/SF2VHsG6hN89t1GuwCbWLLPASswW1CNTu74fivHXcExishSYji
aXnxc+pXjMAwVej81TU3LspLu4SPVMxeuGNh0SLUTXPEGAhTPYvOShvojFMaHt0w
lgAayNPjvQKBgQC+SEFGIEd6pDrCaEVwQIBoGYuk1ZcE2PNU/TccAwmi+SFGdBkm
gveOnzM+4KSvmfSFd9V1RNn6Cqj8YqulC53ATrRSfOUc4fCxptRtIMysqhkmnbFv
IMHG43tok+YeG6l7aGH2Zcxcz9gDNwDXi9eVsTyzZmLAVw7PYXEl1Vo5wQKBgQC0
r+I370nQs3fncwyQB/BH2noFY/js6cygXoaU5GT/bN9tWvXk9y0ZfjM3Ba727WSO
xzADTj24iZSeNpQSX8SkCJDUmTj9lIoFf/rOfBjggiUuKsv3Mi4DeWvhIZgvNYra
oqZ++necArKyJi42IqrwCEXdsF34P9ldkr5AoCoTzQKBgFW82bTaGcOvejg9DCvX
KptRWe+blVg6yl7BUv7XLatVjahA4V2S/oICYa0fVABSjyxDzTqhXM5+hwgMQxPE
Mok2BA3RX7o0dsPk0m4LU9MEmpKzPV+25A8peK4Tzi8P/OC0FBuUjpa5QmsOsmAy
G5MNiusa6N/9JxMsKmQf7+hw
-----END PRIVATE KEY-----
"""

# Made once by --new-signature; see the module docstring.
SIGNATURE_HEX = (
    "9888ba01e7a08919fa7907b5e2c1fe007a75e5c3e82fb85299114dd9579495f8"
    "bd95bead3f995f84d4548db967b2e6afee836667afa72742ff317cc49fe4e2bd"
    "09694c0f4d58e78aba12d9d516fd8d3e92ecfae4090519165fa0e25cb0ab6357"
    "ffb8c3886fe00d45e3dc97e9aa250a35c21feeafb2417b246a1f2ce86f51b22f"
    "23ecc45a8be031a64bd7246aaf93555dc5a7fa15a6f9983a3dd376604bb16027"
    "60f18f12f1938ed284d9aac72d770ed09eb6aedec79003d5e67909f996112158"
    "461074d72fa7d7bae5643b32d24c1f0e551aa11538d7d5c41898747c5acc9e24"
    "ba458c749c650f0c6278e47dae3528ad56c2d7ac981985237747a0546cf60f9c"
)

# The TKIM proof's signature, made once by --new-tkim-signature.
TKIM_SIGNATURE_HEX = (
    "23b36874a9223126821bc4935ef710eed0d967bc5553e0e11cff4635aad0e263"
    "1df5eac4efa0836f5e69b57d4e2f600e2af15745d44ccd65ab105ec8803949a3"
    "86ed3b6e14ff48ac870ecbd3394dd031f1d2873b3a2fa6dbc4cd75bc8fae7396"
    "13880894162a575369c4971b1600ac2da7770590f5f45e7cf47f8f8b320121a5"
    "eed2b895e879dbe2dd36668ab1b324182bf5019fb97e2f360c0c2cc37dc72919"
    "ab388792533ae47079d22c921a56c7317d4df2c07d7c043e82a89c69c49f4f62"
    "ad06f5b08815870d1ace8f1d39ae3d1e67861f36eee04e7abfbbbcb540ae7050"
    "14e30e61b027cebcc9d22e8292f1b92d3c7332b57ee87673a2a6097a1508153b"
)

LABEL_TORM = b"onionmail-torm-v1"
LABEL_KCTL = b"onionmail-kctl-v1"
VERB_PUSH, VERB_DERK, VERB_STAT, VERB_TKIM = 1, 2, 3, 4
ACTION_RESET_CREDITS = 3


def sha256(data):
    return hashlib.sha256(data).digest()


def v8(b):
    assert 1 <= len(b) <= 255
    return struct.pack(">B", len(b)) + b


def v16(b):
    assert len(b) <= 0xFFFF
    return struct.pack(">H", len(b)) + b


def v32(b):
    return struct.pack(">I", len(b)) + b


def push_body(t, n, peer_id, kctl_pub, credits, peers):
    assert 2 <= t <= n <= 32 and len(kctl_pub) == 32 and len(peers) <= 32
    out = struct.pack(">BB", t, n) + v8(peer_id) + kctl_pub + struct.pack(">IB", credits,
                                                                          len(peers))
    for address, pin in peers:
        assert len(pin) == 32
        out += v8(address) + pin
    return out


def signing_input(verb, cb, body):
    assert len(cb) == 32
    return LABEL_TORM + b"\x00" + bytes([verb]) + cb + body


def request(verb, body, spki, sig):
    return b"\x01" + bytes([verb]) + v32(body) + v16(spki) + v16(sig)


def kctl_signed_part(server_id, action, serial, not_before, not_after, credits):
    return (b"\x01" + server_id + bytes([action]) +
            struct.pack(">QQQI", serial, not_before, not_after, credits))


def v3_onion(pubkey):
    """Tor rend-spec-v3: base32(pubkey || checksum[:2] || 0x03) + ".onion"."""
    assert len(pubkey) == 32
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


def tkim_body(sender, receiver, unix_time):
    return v8(sender) + v8(receiver) + struct.pack(">Q", unix_time)


def pss():
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def verifies(pub, sig, msg):
    try:
        pub.verify(sig, msg, pss(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def show(name, data):
    print("%-16s= %s" % (name, data.hex()))


def main():
    # ---- the server's RSA key (test key) ----
    rsa_key = serialization.load_pem_private_key(TEST_RSA_KEY_PEM, None)
    assert rsa_key.key_size == 2048
    spki = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    partner_id = sha256(spki)

    # ---- the operator's KCTL key: deterministic Ed25519 seed ----
    kctl_seed = sha256(b"onionmail kctl test vector seed")
    kctl_key = ed25519.Ed25519PrivateKey.from_private_bytes(kctl_seed)
    kctl_pub = kctl_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)
    kctl_pem = kctl_key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    # ---- the ECMR points (same scalars as gen_vectors.py) ----
    g = gen_vectors
    s = g.scalar(b"onionmail unseal test vector s")
    c = g.scalar(b"onionmail unseal test vector c")
    e = g.scalar(b"onionmail unseal test vector e")
    S = g.mul(s, g.G)
    X = g.add(g.mul(c, g.G), g.mul(e, g.G))
    Y = g.mul(s, X)
    S, X, Y = g.enc(S), g.enc(X), g.enc(Y)

    # ---- bodies and replies ----
    pin2 = sha256(b"onionmail torm test vector pin 2")
    pin3 = sha256(b"onionmail torm test vector pin 3")
    push = push_body(2, 4, b"peer-1", kctl_pub, 1000,
                     [(b"peer-2.example:25", pin2), (b"peer-3.example:25", pin3)])
    push_reply = S + struct.pack(">I", 1000)
    derk = X
    derk_reply = Y + struct.pack(">IQ", 999, 1)
    stat_reply = struct.pack(">BIQQ", 0x01, 999, 1, 1767225600)

    # ---- the signed DERK request ----
    cb = sha256(b"onionmail torm test vector cb")
    sig_input = signing_input(VERB_DERK, cb, derk)
    if "--new-signature" in sys.argv:
        sig = rsa_key.sign(sig_input, pss(), hashes.SHA256())
    else:
        assert SIGNATURE_HEX, "no fixed signature yet: run with --new-signature"
        sig = bytes.fromhex(SIGNATURE_HEX)
    pub = rsa_key.public_key()
    assert len(sig) == 256
    assert verifies(pub, sig, sig_input)
    flipped = bytearray(sig)
    flipped[100] ^= 0x01
    assert not verifies(pub, bytes(flipped), sig_input)
    other_cb = bytes([cb[0] ^ 1]) + cb[1:]
    assert not verifies(pub, sig, signing_input(VERB_DERK, other_cb, derk))
    assert not verifies(pub, sig, signing_input(VERB_PUSH, cb, derk))
    req = request(VERB_DERK, derk, spki, sig)

    # ---- a TKIM proof: sender relays to receiver, same key and channel binding ----
    sender = v3_onion(sha256(b"onionmail tkim test vector sender")).encode()
    receiver = v3_onion(sha256(b"onionmail tkim test vector receiver")).encode()
    tkim = tkim_body(sender, receiver, 1798761600)  # 2027-01-01T00:00:00Z
    tkim_input = signing_input(VERB_TKIM, cb, tkim)
    if "--new-tkim-signature" in sys.argv:
        tkim_sig = rsa_key.sign(tkim_input, pss(), hashes.SHA256())
    else:
        assert TKIM_SIGNATURE_HEX, "no fixed TKIM signature yet: run with --new-tkim-signature"
        tkim_sig = bytes.fromhex(TKIM_SIGNATURE_HEX)
    assert verifies(pub, tkim_sig, tkim_input)
    assert not verifies(pub, tkim_sig, signing_input(VERB_DERK, cb, tkim))
    assert not verifies(pub, tkim_sig, signing_input(VERB_TKIM, other_cb, tkim))
    tkim_req = request(VERB_TKIM, tkim, spki, tkim_sig)

    # ---- a KCTL certificate: reset-credits to 500, serial 7, valid 7 days ----
    not_before = 1767225600  # 2026-01-01T00:00:00Z
    not_after = not_before + 7 * 86400
    part = kctl_signed_part(partner_id, ACTION_RESET_CREDITS, 7, not_before, not_after, 500)
    assert len(part) == 62
    kctl_sig = kctl_key.sign(LABEL_KCTL + b"\x00" + part)
    kctl_key.public_key().verify(kctl_sig, LABEL_KCTL + b"\x00" + part)
    kctl_cert = part + kctl_sig
    assert len(kctl_cert) == 126

    show("spki_der", spki)
    show("partner_id", partner_id)
    show("kctl_seed", kctl_seed)
    show("kctl_pub", kctl_pub)
    print("kctl_pem        =")
    print(kctl_pem.decode(), end="")
    show("pin2", pin2)
    show("pin3", pin3)
    show("push_body", push)
    show("push_reply", push_reply)
    show("derk_body", derk)
    show("derk_reply", derk_reply)
    show("stat_reply", stat_reply)
    show("cb", cb)
    show("signing_input", sig_input)
    show("signature", sig)
    show("sig_flipped", bytes(flipped))
    show("derk_request", req)
    show("kctl_cert", kctl_cert)
    print("tkim_sender     = %s" % sender.decode())
    print("tkim_receiver   = %s" % receiver.decode())
    show("tkim_body", tkim)
    show("tkim_input", tkim_input)
    show("tkim_signature", tkim_sig)
    show("tkim_request", tkim_req)


if __name__ == "__main__":
    main()
