// IsSignatureBlock: the key role's guard on the TLS signing service it offers
// the front ends (ipc::TlsSignRequest). A front end hands over an already
// padded, modulus-sized block and gets x^d mod n back; without a guard that
// is a raw RSA oracle, usable to decrypt anything ever encrypted to the
// server key. With it, only blocks that are signature encodings pass:
//  - EMSA-PKCS1-v1_5: 00 01 FF..FF (at least 8) 00 T, T at most 83 bytes
//    (the longest DigestInfo, SHA-512, is 83 bytes; TLS 1.2 MD5+SHA1 is 36);
//  - EMSA-PSS with MGF1 over SHA-256, SHA-384 or SHA-512 and a salt as long
//    as the hash (what TLS 1.2/1.3 use): after unmasking, DB must be
//    00..00 01 salt, with the bits above emBits zero.
// A blinded ciphertext c*r^e passes with probability about 2^-64 (v1.5) or
// 2^-(8 * zero bytes of PS) (PSS), so the oracle is gone; what remains is a
// signing service, which the front end needs for TLS.
//
// Contract: `modulus_bits` is the server key's size; block.size() must equal
// its byte length. Pure function, no allocation beyond MGF1 scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace onionmail::server {

bool IsSignatureBlock(std::span<const uint8_t> block, size_t modulus_bits);

}  // namespace onionmail::server
