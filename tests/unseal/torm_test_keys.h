// The RSA-2048 TEST KEY of docs/PROTOCOL.md and gen_torm_vectors.py (published
// on purpose; it protects nothing) and RSA key helpers, shared by the TORM
// tests (torm_vectors_test.cc, tkim_vectors_test.cc, torm_wire_signature_test.cc). Loading the test
// key is faster than generating a key in every test. Every helper reports a
// failure through EXPECT_*; keys come back as owning PkeyPtr or, for the
// per-process ones, as pointers that stay valid until exit.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace onionmail::unseal {

// The vectors' SubjectPublicKeyInfo of the TEST KEY (hex), its partner id
// (SHA-256 of it) and the channel binding every signed vector uses.
inline constexpr char kSpki[] =
    "30820122300d06092a864886f70d01010105000382010f003082010a02820101"
    "00dac1450d99f4ab68b69ac190b7770dc577c38a9233a24ffd9dc5e56aa5afcb"
    "f6af385fa74edd2489565ede25e428ea3ca329bc1b55ba56167770aa4b9cb153"
    "83d138818457d6b19623b83e37b3c2d89d3b62c7af93d985d9841ea2624d5775"
    "6361045bf5316c0cdee28a2e84ad176d2a522205645e44b2c3edcf00fb683f97"
    "345375df7c9fcec71f1242971741a81a834a9be842f25360ede3832267f3430f"
    "efd8807934bd9b261afd41e293b1386578c7f8d4a1c23569968c9ebde8ba90fe"
    "013a404fc826d95662a2389e0e3d3d867fd764fd996445738c447bba77630420"
    "42d3d5d275dedefaa82ead296ded6e86ea31fdc7a9fb7d12977907c5c5da93e5"
    "1d0203010001";
inline constexpr char kPartnerId[] =
    "5c290f78ca8e75828e072328c97c49b4baf3e20be65daeb2bf1903f006122bc4";
inline constexpr char kCb[] = "c1887c1e073b7757dec6cbeab1ddb3cafc6bf85bc0e737b3151448802eb0dc8e";

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// PKCS#8 PEM of the test key; its SubjectPublicKeyInfo is kSpki of
// torm_vectors_test.cc.
inline constexpr char kTestRsaKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDawUUNmfSraLaa\n"
    "wZC3dw3Fd8OKkjOiT/2dxeVqpa/L9q84X6dO3SSJVl7eJeQo6jyjKbwbVbpWFndw\n"
    "qkucsVOD0TiBhFfWsZYjuD43s8LYnTtix6+T2YXZhB6iYk1XdWNhBFv1MWwM3uKK\n"
    "LoStF20qUiIFZF5EssPtzwD7aD+XNFN133yfzscfEkKXF0GoGoNKm+hC8lNg7eOD\n"
    "ImfzQw/v2IB5NL2bJhr9QeKTsThleMf41KHCNWmWjJ696LqQ/gE6QE/IJtlWYqI4\n"
    "ng49PYZ/12T9mWRFc4xEe7p3YwQgQtPV0nXe3vqoLq0pbe1uhuox/cep+30Sl3kH\n"
    "xcXak+UdAgMBAAECggEAATRKddAQzYmf0pS07b7GZY/TuUDIE9gsLHfSW//egYcD\n"
    "6lq/Tx1V1PEmI4zLtUEY3Deo9RXaFvg8Q6pNembaFDRWJ4M7yWqSJTzoxsZwoxbI\n"
    "yWjIcLu2d/7d2Je4Ftn0FggkU3S6sgxM7NLRKgXrfgAUdyb9p90E7mSS/AYvibgw\n"
    "oXwk18mZB1Q9kUgg21EeucJnIGvgyktLDjk9P3AcTwEsY2Zuaq3BwAnsX8Bw60EO\n"
    "+Z3q1hKmNcRSpNhDX/iZph2bGQgTgSLejmMRB23DYZxL2w24j7192biBGZZq75EF\n"
    "qsDeIViEEfZWpPZgqabrz+Q/iGk2ZdAv8+qBxIhtQQKBgQD3Q6j4SETtAR0ZOPYf\n"
    "98z1mq7T1d5zQ6nHnoWqeJzbVdXeGYUS7xEnk2zJt6KamzPc7+yTLGPt9AQOT/oH\n"
    "fQOqGNrhcFlOEsTIMVQRSOO20ap2wDdKk6IdFNVKlRV7PiM46SeypDXmQYEOXCOG\n"
    "M4GYuAujJXDfT1panfIWlyls4QKBgQDie8MH9rms27oJheDEa4rmhM4XioVoR2AK\n"
    "ZT1GC6cLUIhch/SF2VHsG6hN89t1GuwCbWLLPASswW1CNTu74fivHXcExishSYji\n"
    "aXnxc+pXjMAwVej81TU3LspLu4SPVMxeuGNh0SLUTXPEGAhTPYvOShvojFMaHt0w\n"
    "lgAayNPjvQKBgQC+SEFGIEd6pDrCaEVwQIBoGYuk1ZcE2PNU/TccAwmi+SFGdBkm\n"
    "gveOnzM+4KSvmfSFd9V1RNn6Cqj8YqulC53ATrRSfOUc4fCxptRtIMysqhkmnbFv\n"
    "IMHG43tok+YeG6l7aGH2Zcxcz9gDNwDXi9eVsTyzZmLAVw7PYXEl1Vo5wQKBgQC0\n"
    "r+I370nQs3fncwyQB/BH2noFY/js6cygXoaU5GT/bN9tWvXk9y0ZfjM3Ba727WSO\n"
    "xzADTj24iZSeNpQSX8SkCJDUmTj9lIoFf/rOfBjggiUuKsv3Mi4DeWvhIZgvNYra\n"
    "oqZ++necArKyJi42IqrwCEXdsF34P9ldkr5AoCoTzQKBgFW82bTaGcOvejg9DCvX\n"
    "KptRWe+blVg6yl7BUv7XLatVjahA4V2S/oICYa0fVABSjyxDzTqhXM5+hwgMQxPE\n"
    "Mok2BA3RX7o0dsPk0m4LU9MEmpKzPV+25A8peK4Tzi8P/OC0FBuUjpa5QmsOsmAy\n"
    "G5MNiusa6N/9JxMsKmQf7+hw\n"
    "-----END PRIVATE KEY-----\n";

// A fresh copy of the test key, loaded from kTestRsaKeyPem.
inline PkeyPtr TestRsaKey() {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(kTestRsaKeyPem, -1), BIO_free);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(key != nullptr);
  return key;
}

// A newly generated RSA key of `bits` bits (slow: seconds for 2048 bits).
inline PkeyPtr RsaKey(size_t bits) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  EXPECT_TRUE(key != nullptr);
  return key;
}

// The test key, loaded once per process: the server's key in the TORM tests.
inline EVP_PKEY* ServerKey() {
  static PkeyPtr key = TestRsaKey();
  return key.get();
}

// Another RSA-2048 key, generated once per process (RSA key generation is slow).
inline EVP_PKEY* OtherServerKey() {
  static PkeyPtr key = RsaKey(2048);
  return key.get();
}

// The DER SubjectPublicKeyInfo of `key`.
inline std::vector<uint8_t> SpkiOf(EVP_PKEY* key) {
  const int len = i2d_PUBKEY(key, nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  EXPECT_EQ(i2d_PUBKEY(key, &p), len);
  return der;
}

}  // namespace onionmail::unseal
