#include "crypto/segment_stream.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crypto/random.h"

namespace onionmail::crypto {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kSeg = kSegmentCiphertextBytes;

Bytes RandomData(size_t n) {
  Bytes b(n);
  RandomBytes(b);
  return b;
}

// An independent implementation of the on-disk format (see the header), used
// to check the encryptor's output and to forge segments a correct encryptor
// never writes (only someone holding the key could).
std::array<uint8_t, 12> Nonce(const std::array<uint8_t, kNoncePrefixBytes>& prefix, uint32_t index,
                              bool final) {
  std::array<uint8_t, 12> n{};
  std::copy(prefix.begin(), prefix.end(), n.begin());
  n[7] = index >> 24;
  n[8] = index >> 16;
  n[9] = index >> 8;
  n[10] = index;
  n[11] = final ? 1 : 0;
  return n;
}

Bytes RawSeal(const SecretBytes& key, const std::array<uint8_t, 12>& nonce, const Bytes& aad,
              uint32_t used_field, const Bytes& data) {
  Bytes body(kSegmentCiphertextBytes - 16, 0);
  body[0] = used_field >> 24;
  body[1] = used_field >> 16;
  body[2] = used_field >> 8;
  body[3] = used_field;
  std::copy(data.begin(), data.end(), body.begin() + 4);
  Bytes out(kSegmentCiphertextBytes);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                               key.Reveal(SecretAccess::Grant()).data(), nonce.data()),
            1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &len, body.data(), static_cast<int>(body.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + body.size(), &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + body.size()), 1);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// Opens one segment independently; returns the body (length field + data).
std::optional<Bytes> RawOpen(const SecretBytes& key, const std::array<uint8_t, 12>& nonce,
                             const Bytes& aad, std::span<const uint8_t> seg) {
  Bytes body(seg.size() - 16);
  Bytes tag(seg.end() - 16, seg.end());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.Reveal(SecretAccess::Grant()).data(),
                         nonce.data()) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx, body.data(), &len, seg.data(), static_cast<int>(body.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx, tag.data(), &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return body;
}

struct Sealed {
  Bytes ciphertext;
  std::array<uint8_t, kNoncePrefixBytes> prefix{};
  std::vector<size_t> write_sizes;  // size of each sink call
};

class SegmentStreamTest : public ::testing::Test {
 protected:
  SecretBytes key_ = RandomSecret(32);
  Bytes aad_ = {'h', 'd', 'r', 1, 2, 3};

  // Encrypts `plain` feeding it in chunks of the given sizes (cycled).
  Sealed Encrypt(const Bytes& plain, std::vector<size_t> chunks = {plain_chunk_}) {
    Sealed s;
    auto enc = SegmentEncryptor::Create(key_, aad_);
    EXPECT_TRUE(enc.ok());
    if (!enc.ok()) return s;
    s.prefix = enc->nonce_prefix();
    ByteSink sink = [&s](std::span<const uint8_t> b) -> Result<void> {
      s.ciphertext.insert(s.ciphertext.end(), b.begin(), b.end());
      s.write_sizes.push_back(b.size());
      return Ok();
    };
    size_t pos = 0;
    for (size_t i = 0; pos < plain.size(); ++i) {
      const size_t n = std::min(std::max<size_t>(chunks[i % chunks.size()], 1), plain.size() - pos);
      EXPECT_TRUE(enc->Update(std::span(plain).subspan(pos, n), sink).ok());
      pos += n;
    }
    EXPECT_TRUE(enc->Finish(sink).ok());
    return s;
  }

  // Decrypts in chunks; returns the error of the first failing call, if any.
  Result<Bytes> Decrypt(const Sealed& s, const Bytes& ct, std::vector<size_t> chunks = {kSeg},
                        const SecretBytes* key = nullptr, const Bytes* aad = nullptr) {
    auto dec = SegmentDecryptor::Create(key ? *key : key_, s.prefix, aad ? *aad : aad_);
    if (!dec.ok()) return dec.error();
    Bytes out;
    ByteSink sink = [&out](std::span<const uint8_t> b) -> Result<void> {
      out.insert(out.end(), b.begin(), b.end());
      return Ok();
    };
    size_t pos = 0;
    for (size_t i = 0; pos < ct.size(); ++i) {
      const size_t n = std::min(std::max<size_t>(chunks[i % chunks.size()], 1), ct.size() - pos);
      ONIONMAIL_RETURN_IF_ERROR(dec->Update(std::span(ct).subspan(pos, n), sink));
      pos += n;
    }
    ONIONMAIL_RETURN_IF_ERROR(dec->Finish());
    return out;
  }

  void ExpectDataLoss(const Sealed& s, const Bytes& ct) {
    auto r = Decrypt(s, ct);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }

  static constexpr size_t plain_chunk_ = 4096;
};

TEST_F(SegmentStreamTest, EmptyMessageIsOnePaddedFinalSegment) {
  Sealed s = Encrypt({});
  EXPECT_EQ(s.ciphertext.size(), kSeg);
  auto r = Decrypt(s, s.ciphertext);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST_F(SegmentStreamTest, ExactlyOneSegmentOfPlaintextGivesOneSegment) {
  Bytes plain = RandomData(kSegmentPlaintextBytes);
  Sealed s = Encrypt(plain);
  EXPECT_EQ(s.ciphertext.size(), kSeg);
  auto r = Decrypt(s, s.ciphertext);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, plain);
}

TEST_F(SegmentStreamTest, OneByteOverASegmentGivesTwoSegments) {
  Bytes plain = RandomData(kSegmentPlaintextBytes + 1);
  Sealed s = Encrypt(plain);
  EXPECT_EQ(s.ciphertext.size(), 2 * kSeg);
  auto r = Decrypt(s, s.ciphertext);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, plain);
}

TEST_F(SegmentStreamTest, MultiSegmentRoundTripsInRandomChunkings) {
  Bytes plain = RandomData(200 * 1024);
  std::mt19937 rng(12345);
  for (int round = 0; round < 6; ++round) {
    std::vector<size_t> enc_chunks, dec_chunks;
    for (int i = 0; i < 20; ++i) {
      enc_chunks.push_back(1 + rng() % (round < 3 ? 1000 : 150000));
      dec_chunks.push_back(1 + rng() % (round < 3 ? 7000 : 150000));
    }
    Sealed s = Encrypt(plain, enc_chunks);
    ASSERT_EQ(s.ciphertext.size(), 4 * kSeg);  // ceil(200 KiB / (64 KiB - 20))
    auto r = Decrypt(s, s.ciphertext, dec_chunks);
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.error().message;
    EXPECT_EQ(*r, plain);
  }
}

TEST_F(SegmentStreamTest, EveryOutputWriteIsOneFullSegment) {
  Sealed s = Encrypt(RandomData(150 * 1024), {1, 70000, 333});
  ASSERT_EQ(s.write_sizes.size(), 3u);
  for (size_t n : s.write_sizes) EXPECT_EQ(n, kSeg);
}

TEST_F(SegmentStreamTest, FileSizeRevealsOnlySegmentCount) {
  EXPECT_EQ(Encrypt(RandomData(1)).ciphertext.size(), Encrypt(RandomData(60000)).ciphertext.size());
}

TEST_F(SegmentStreamTest, NoncePrefixIsFreshPerStream) {
  EXPECT_NE(Encrypt({}).prefix, Encrypt({}).prefix);
}

TEST_F(SegmentStreamTest, DroppingTheLastSegmentIsDataLoss) {
  Sealed s = Encrypt(RandomData(200 * 1024));
  Bytes ct(s.ciphertext.begin(), s.ciphertext.end() - kSeg);
  ExpectDataLoss(s, ct);
}

TEST_F(SegmentStreamTest, EmptyCiphertextIsDataLoss) {
  Sealed s = Encrypt({});
  ExpectDataLoss(s, {});
}

TEST_F(SegmentStreamTest, PartialTrailingSegmentIsDataLoss) {
  Sealed s = Encrypt(RandomData(1000));
  for (size_t cut : {size_t{1}, size_t{16}, kSeg - 1}) {
    Bytes ct(s.ciphertext.begin(), s.ciphertext.end() - cut);
    ExpectDataLoss(s, ct);
  }
}

TEST_F(SegmentStreamTest, DataAfterTheFinalSegmentIsDataLoss) {
  Sealed s = Encrypt(RandomData(100 * 1024));
  Bytes one_byte = s.ciphertext;
  one_byte.push_back(0);
  ExpectDataLoss(s, one_byte);
  Bytes duplicated_final = s.ciphertext;
  duplicated_final.insert(duplicated_final.end(), s.ciphertext.end() - kSeg, s.ciphertext.end());
  ExpectDataLoss(s, duplicated_final);
  // A complete second stream under the same key and prefix appended.
  Bytes doubled = s.ciphertext;
  doubled.insert(doubled.end(), s.ciphertext.begin(), s.ciphertext.end());
  ExpectDataLoss(s, doubled);
}

TEST_F(SegmentStreamTest, DuplicatedMiddleSegmentIsDataLoss) {
  Sealed s = Encrypt(RandomData(200 * 1024));
  Bytes ct(s.ciphertext.begin(), s.ciphertext.begin() + kSeg);
  ct.insert(ct.end(), s.ciphertext.begin(), s.ciphertext.end());  // segment 0 twice
  ExpectDataLoss(s, ct);
}

TEST_F(SegmentStreamTest, ReorderedSegmentsAreDataLoss) {
  Sealed s = Encrypt(RandomData(200 * 1024));
  Bytes swapped = s.ciphertext;
  std::swap_ranges(swapped.begin(), swapped.begin() + kSeg, swapped.begin() + kSeg);
  ExpectDataLoss(s, swapped);
  // Moving the final segment forward.
  Bytes final_first(s.ciphertext.end() - kSeg, s.ciphertext.end());
  final_first.insert(final_first.end(), s.ciphertext.begin(), s.ciphertext.end() - kSeg);
  ExpectDataLoss(s, final_first);
}

TEST_F(SegmentStreamTest, BitFlipInEveryRegionIsDataLoss) {
  Sealed s = Encrypt(RandomData(100 * 1024));  // two segments
  // Length prefix, data, padding and tag of the first and of the final segment.
  const std::vector<size_t> offsets = {
      0,    3,        4,          1000,           kSeg - 17,     kSeg - 16,   kSeg - 1,
      kSeg, kSeg + 3, kSeg + 100, 2 * kSeg - 100, 2 * kSeg - 16, 2 * kSeg - 1};
  for (size_t off : offsets) {
    Bytes ct = s.ciphertext;
    ct[off] ^= 0x80;
    auto r = Decrypt(s, ct);
    ASSERT_FALSE(r.ok()) << "offset " << off;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << "offset " << off;
  }
}

TEST_F(SegmentStreamTest, WrongKeyIsDataLoss) {
  Sealed s = Encrypt(RandomData(5000));
  SecretBytes other = RandomSecret(32);
  auto r = Decrypt(s, s.ciphertext, {kSeg}, &other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

TEST_F(SegmentStreamTest, WrongAadIsDataLoss) {
  Sealed s = Encrypt(RandomData(5000));
  for (Bytes other : {Bytes{'h', 'd', 'r', 1, 2, 4}, Bytes{}, Bytes{'h', 'd', 'r', 1, 2, 3, 0}}) {
    auto r = Decrypt(s, s.ciphertext, {kSeg}, nullptr, &other);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
}

TEST_F(SegmentStreamTest, WrongNoncePrefixIsDataLoss) {
  Sealed s = Encrypt(RandomData(5000));
  s.prefix[0] ^= 1;
  ExpectDataLoss(s, s.ciphertext);
}

TEST_F(SegmentStreamTest, NoPlaintextIsReleasedFromAForgedSegment) {
  Sealed s = Encrypt(RandomData(1000));
  s.ciphertext[10] ^= 1;
  auto dec = SegmentDecryptor::Create(key_, s.prefix, aad_);
  ASSERT_TRUE(dec.ok());
  size_t delivered = 0;
  ByteSink sink = [&](std::span<const uint8_t> b) -> Result<void> {
    delivered += b.size();
    return Ok();
  };
  EXPECT_FALSE(dec->Update(s.ciphertext, sink).ok());
  EXPECT_EQ(delivered, 0u);
  // The decryptor stays failed.
  EXPECT_FALSE(dec->Finish().ok());
}

TEST_F(SegmentStreamTest, SinkErrorsPropagate) {
  auto enc = SegmentEncryptor::Create(key_, aad_);
  ASSERT_TRUE(enc.ok());
  ByteSink failing = [](std::span<const uint8_t>) -> Result<void> {
    return MakeError(ErrorCode::kResourceExhausted, "disk full");
  };
  auto r = enc->Finish(failing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
}

TEST_F(SegmentStreamTest, EncryptorRejectsUseAfterFinish) {
  auto enc = SegmentEncryptor::Create(key_, aad_);
  ASSERT_TRUE(enc.ok());
  ByteSink sink = [](std::span<const uint8_t>) -> Result<void> { return Ok(); };
  ASSERT_TRUE(enc->Finish(sink).ok());
  Bytes more = {1};
  auto r = enc->Update(more, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(enc->Finish(sink).ok());
}

TEST_F(SegmentStreamTest, CreateValidatesKeyAndPrefix) {
  auto bad_key = SegmentEncryptor::Create(RandomSecret(16), aad_);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().code, ErrorCode::kInvalidArgument);
  std::array<uint8_t, 6> short_prefix{};
  auto bad_prefix = SegmentDecryptor::Create(key_, short_prefix, aad_);
  ASSERT_FALSE(bad_prefix.ok());
  EXPECT_EQ(bad_prefix.error().code, ErrorCode::kInvalidArgument);
  std::array<uint8_t, kNoncePrefixBytes> prefix{};
  auto bad_dec_key = SegmentDecryptor::Create(RandomSecret(33), prefix, aad_);
  ASSERT_FALSE(bad_dec_key.ok());
  EXPECT_EQ(bad_dec_key.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SegmentStreamTest, OutputFollowsTheDocumentedFormat) {
  Bytes plain = RandomData(kSegmentPlaintextBytes + 10);
  Sealed s = Encrypt(plain);
  ASSERT_EQ(s.ciphertext.size(), 2 * kSeg);
  std::span<const uint8_t> ct(s.ciphertext);
  // Segment 0: non-final, full.
  EXPECT_FALSE(RawOpen(key_, Nonce(s.prefix, 0, true), aad_, ct.first(kSeg)).has_value());
  auto first = RawOpen(key_, Nonce(s.prefix, 0, false), aad_, ct.first(kSeg));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(Bytes(first->begin(), first->begin() + 4), (Bytes{0x00, 0x00, 0xff, 0xec}));
  EXPECT_TRUE(std::equal(first->begin() + 4, first->end(), plain.begin()));
  // Segment 1: final, 10 bytes used, zero padding.
  EXPECT_FALSE(RawOpen(key_, Nonce(s.prefix, 1, false), aad_, ct.subspan(kSeg)).has_value());
  auto last = RawOpen(key_, Nonce(s.prefix, 1, true), aad_, ct.subspan(kSeg));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(Bytes(last->begin(), last->begin() + 4), (Bytes{0, 0, 0, 10}));
  EXPECT_TRUE(std::equal(last->begin() + 4, last->begin() + 14, plain.end() - 10));
  EXPECT_TRUE(std::all_of(last->begin() + 14, last->end(), [](uint8_t b) { return b == 0; }));
}

TEST_F(SegmentStreamTest, AcceptsIndependentlyWrittenStreamWithEmptyFinalSegment) {
  std::array<uint8_t, kNoncePrefixBytes> prefix = {1, 2, 3, 4, 5, 6, 7};
  Bytes full = RandomData(kSegmentPlaintextBytes);
  Sealed s;
  s.prefix = prefix;
  s.ciphertext = RawSeal(key_, Nonce(prefix, 0, false), aad_, kSegmentPlaintextBytes, full);
  Bytes fin = RawSeal(key_, Nonce(prefix, 1, true), aad_, 0, {});
  s.ciphertext.insert(s.ciphertext.end(), fin.begin(), fin.end());
  auto r = Decrypt(s, s.ciphertext);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, full);
}

TEST_F(SegmentStreamTest, ShortNonFinalSegmentIsDataLoss) {
  std::array<uint8_t, kNoncePrefixBytes> prefix = {9, 9, 9, 9, 9, 9, 9};
  Sealed s;
  s.prefix = prefix;
  s.ciphertext = RawSeal(key_, Nonce(prefix, 0, false), aad_, 5, {1, 2, 3, 4, 5});
  Bytes fin = RawSeal(key_, Nonce(prefix, 1, true), aad_, 1, {6});
  s.ciphertext.insert(s.ciphertext.end(), fin.begin(), fin.end());
  ExpectDataLoss(s, s.ciphertext);
}

TEST_F(SegmentStreamTest, UsedLengthBeyondSegmentIsDataLoss) {
  std::array<uint8_t, kNoncePrefixBytes> prefix = {7, 7, 7, 7, 7, 7, 7};
  Sealed s;
  s.prefix = prefix;
  for (uint32_t used : {uint32_t{kSegmentPlaintextBytes + 1}, 0xffffffffu}) {
    s.ciphertext = RawSeal(key_, Nonce(prefix, 0, true), aad_, used, {});
    ExpectDataLoss(s, s.ciphertext);
  }
}

TEST_F(SegmentStreamTest, NonZeroPaddingIsDataLoss) {
  std::array<uint8_t, kNoncePrefixBytes> prefix = {5, 5, 5, 5, 5, 5, 5};
  Sealed s;
  s.prefix = prefix;
  s.ciphertext = RawSeal(key_, Nonce(prefix, 0, true), aad_, 2, {1, 2, 3});
  ExpectDataLoss(s, s.ciphertext);
}

}  // namespace
}  // namespace onionmail::crypto
