#!/usr/bin/env python3
"""Independent computation of the store vectors of docs/store.md.

Does not use onionmaild code: RFC 9180 HPKE (base mode, single shot) written
out with Python's hmac/hashlib for HKDF-SHA256, and X25519 and AES-GCM from the
`cryptography` package. It first reproduces RFC 9180 appendix A.1 (AES-128-GCM)
so the key schedule is known to be right, then prints the onionmaild vector:
suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, info
"onionmail inbox dek v1", empty aad, wrapped = enc || ciphertext || tag.
Then the inbox-key wrap of a user record of version 2 with the file key-store
backend (no master key): D = HMAC-SHA256(R, "onionmail inbox-wrap v1" || salt
|| P), wrap key = HKDF-SHA256(P || D, info "onionmail inbox-key wrap v3"), and
the inbox private key above sealed with it under a fixed nonce. P stands for
the Argon2id output (RFC 9106 has Argon2id's own vectors).

Run: python3 tests/store/gen_store_vectors.py
"""
import hashlib
import hmac

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RAW = serialization.Encoding.Raw


def extract(salt, ikm):
    return hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()


def expand(prk, info, n):
    out, block, i = b"", b"", 1
    while len(out) < n:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:n]


def labeled_extract(suite, salt, label, ikm):
    return extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite, prk, label, info, n):
    return expand(prk, n.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, n)


KEM = b"KEM" + (0x0020).to_bytes(2, "big")


def derive_key_pair(ikm):
    prk = labeled_extract(KEM, b"", b"dkp_prk", ikm)
    sk = labeled_expand(KEM, prk, b"sk", b"", 32)
    key = X25519PrivateKey.from_private_bytes(sk)
    return sk, key.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)


def seal(aead_id, sk_e, pk_r, info, aad, pt):
    suite = b"HPKE" + (0x0020).to_bytes(2, "big") + (1).to_bytes(2, "big") + aead_id.to_bytes(2, "big")
    e = X25519PrivateKey.from_private_bytes(sk_e)
    enc = e.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    dh = e.exchange(X25519PublicKey.from_public_bytes(pk_r))
    eae_prk = labeled_extract(KEM, b"", b"eae_prk", dh)
    shared = labeled_expand(KEM, eae_prk, b"shared_secret", enc + pk_r, 32)
    ksc = b"\0" + labeled_extract(suite, b"", b"psk_id_hash", b"") + \
        labeled_extract(suite, b"", b"info_hash", info)
    secret = labeled_extract(suite, shared, b"secret", b"")
    nk = 16 if aead_id == 1 else 32
    key = labeled_expand(suite, secret, b"key", ksc, nk)
    nonce = labeled_expand(suite, secret, b"base_nonce", ksc, 12)
    return enc, AESGCM(key).encrypt(nonce, pt, aad)


# RFC 9180 A.1 (base mode, AES-128-GCM, sequence 0) must come out exactly.
sk_e, pk_e = derive_key_pair(bytes.fromhex(
    "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234"))
sk_r, pk_r = derive_key_pair(bytes.fromhex(
    "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037"))
enc, ct = seal(1, sk_e, pk_r, bytes.fromhex("4f6465206f6e2061204772656369616e2055726e"),
               b"Count-0", b"Beauty is truth, truth beauty")
assert pk_e.hex() == "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"
assert pk_r.hex() == "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
assert enc == pk_e
assert ct.hex() == ("f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
                    "6d8770ac83d07bea87e13c512a")

# The onionmaild data-key wrap (docs/store.md, "Test vectors").
ikm_r = hashlib.sha256(b"onionmail store vector: recipient").digest()
ikm_e = hashlib.sha256(b"onionmail store vector: ephemeral").digest()
sk_r, pk_r = derive_key_pair(ikm_r)
sk_e, pk_e = derive_key_pair(ikm_e)
dek = bytes(range(32))
enc, ct = seal(2, sk_e, pk_r, b"onionmail inbox dek v1", b"", dek)
pkcs8 = X25519PrivateKey.from_private_bytes(sk_r).private_bytes(
    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
spki = X25519PrivateKey.from_private_bytes(sk_r).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
print("ikmR          ", ikm_r.hex())
print("skR           ", sk_r.hex())
print("pkR           ", pk_r.hex())
print("inbox key DER ", pkcs8.hex())
print("key id        ", hashlib.sha256(spki).hexdigest())
print("ikmE          ", ikm_e.hex())
print("skE           ", sk_e.hex())
print("DEK           ", dek.hex())
print("wrapped (80)  ", (enc + ct).hex())

# The inbox-key wrap of a user record, version 2 (docs/store.md, "Test vectors").
root = hashlib.sha256(b"onionmail store vector: root key").digest()
salt = hashlib.sha256(b"onionmail store vector: pop3 salt").digest()[:16]
p_factor = hashlib.sha256(b"onionmail store vector: password factor").digest()
nonce = hashlib.sha256(b"onionmail store vector: nonce").digest()[:12]
device = hmac.new(root, b"onionmail inbox-wrap v1" + salt + p_factor, hashlib.sha256).digest()
wrap_key = expand(extract(b"", p_factor + device), b"onionmail inbox-key wrap v3", 32)
key_id = hashlib.sha256(spki).digest()
sealed = nonce + AESGCM(wrap_key).encrypt(nonce, pkcs8, b"OMUR-privkey v1" + key_id)
print("R (server.key)", root.hex())
print("POP3 salt     ", salt.hex())
print("P             ", p_factor.hex())
print("D             ", device.hex())
print("wrap key      ", wrap_key.hex())
print("nonce         ", nonce.hex())
print("encrypted key ", sealed.hex())
