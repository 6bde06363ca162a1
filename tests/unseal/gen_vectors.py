#!/usr/bin/env python3
"""Independent computation of the unseal test vectors (docs/PROTOCOL.md).

Does not use onionmaild code. P-256 arithmetic is a plain affine
implementation on Python integers, cross-checked against the `cryptography`
package (public-key derivation s*G and ECDH x-coordinates); HKDF-SHA256 comes
from `cryptography`. Shamir uses carry-less multiplication followed by reduction
modulo 0x11b (a different method from the C++ shift-and-add loop).

Run: python3 tests/unseal/gen_vectors.py
"""
import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# ---- P-256 (SEC 2 / FIPS 186-4 domain parameters) ----
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def on_curve(pt):
    x, y = pt
    return (y * y - (x * x * x + A * x + B)) % P == 0


def add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return (x3, (lam * (x1 - x3) - y1) % P)


def neg(pt):
    return (pt[0], (-pt[1]) % P)


def mul(k, pt):
    r = None
    for bit in bin(k)[2:]:
        r = add(r, r)
        if bit == "1":
            r = add(r, pt)
    return r


def enc(pt):
    return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def check_with_cryptography(k, pt, kG):
    """kG must equal k*G and the ECDH x-coordinate k*pt per `cryptography`."""
    priv = ec.derive_private_key(k, ec.SECP256R1())
    nums = priv.public_key().public_numbers()
    assert (nums.x, nums.y) == kG
    peer = ec.EllipticCurvePublicNumbers(pt[0], pt[1], ec.SECP256R1()).public_key()
    return priv.exchange(ec.ECDH(), peer)  # x-coordinate of k*pt, 32 bytes


def hkdf(ikm, peer_id):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"onionmail-unseal-v1",
                info=b"K" + peer_id).derive(ikm)


def scalar(label):
    k = int.from_bytes(hashlib.sha256(label).digest(), "big")
    assert 0 < k < N
    return k


# ---- GF(2^8), AES polynomial ----
def gf_mul(a, b):
    prod = 0
    for i in range(8):  # carry-less product, up to degree 14
        if (b >> i) & 1:
            prod ^= a << i
    for deg in range(14, 7, -1):  # reduce modulo x^8+x^4+x^3+x+1
        if (prod >> deg) & 1:
            prod ^= 0x11B << (deg - 8)
    return prod


def gf_inv(a):
    return next(b for b in range(1, 256) if gf_mul(a, b) == 1)


def shamir_split(secret, t, n, stream):
    assert len(stream) == (t - 1) * 32
    coef = [secret] + [stream[(k - 1) * 32:k * 32] for k in range(1, t)]
    shares = []
    for x in range(1, n + 1):
        y = bytearray(32)
        for j in range(32):
            acc, xp = 0, 1
            for k in range(t):
                acc ^= gf_mul(coef[k][j], xp)
                xp = gf_mul(xp, x)
            y[j] = acc
        shares.append(bytes([x]) + bytes(y))
    return shares


def shamir_combine(shares):
    xs = [s[0] for s in shares]
    out = bytearray(32)
    for i, s in enumerate(shares):
        li = 1
        for j, xj in enumerate(xs):
            if j != i:
                li = gf_mul(li, gf_mul(xj, gf_inv(xj ^ xs[i])))
        for b in range(32):
            out[b] ^= gf_mul(s[1 + b], li)
    return bytes(out)


def main():
    assert on_curve(G) and mul(N, G) is None
    peer_id = b"peer-1"
    s = scalar(b"onionmail unseal test vector s")
    c = scalar(b"onionmail unseal test vector c")
    e = scalar(b"onionmail unseal test vector e")
    S = mul(s, G)
    C = mul(c, G)
    shared = mul(c, S)
    X = add(C, mul(e, G))
    Y = mul(s, X)
    unblinded = add(Y, neg(mul(e, S)))
    assert unblinded == shared == mul(s, C)
    # Cross-checks with OpenSSL through `cryptography`.
    assert check_with_cryptography(s, C, S) == shared[0].to_bytes(32, "big")
    assert check_with_cryptography(c, S, C) == shared[0].to_bytes(32, "big")
    eG = mul(e, G)
    check_with_cryptography(e, G, eG)
    assert check_with_cryptography(s, X, S) == Y[0].to_bytes(32, "big")
    ikm = shared[0].to_bytes(32, "big")
    K = hkdf(ikm, peer_id)
    print("peer_id  =", peer_id.hex(), "(%s)" % peer_id.decode())
    print("s        =", s.to_bytes(32, "big").hex())
    print("c        =", c.to_bytes(32, "big").hex())
    print("e        =", e.to_bytes(32, "big").hex())
    print("S        =", enc(S).hex())
    print("C        =", enc(C).hex())
    print("X        =", enc(X).hex())
    print("Y        =", enc(Y).hex())
    print("shared_x =", ikm.hex())
    print("K        =", K.hex())

    secret = hashlib.sha256(b"onionmail shamir test vector secret").digest()
    stream = (hashlib.sha256(b"onionmail shamir test vector coefficients 1").digest() +
              hashlib.sha256(b"onionmail shamir test vector coefficients 2").digest())
    shares = shamir_split(secret, 3, 5, stream)
    import itertools
    for sub in itertools.combinations(shares, 3):
        assert shamir_combine(list(sub)) == secret
    assert gf_mul(0x57, 0x83) == 0xC1  # FIPS-197 section 4.2 example
    print("shamir t=3 n=5")
    print("secret   =", secret.hex())
    print("stream   =", stream.hex())
    for sh in shares:
        print("share    =", sh.hex())


if __name__ == "__main__":
    main()
