// Tests for src/unseal/recovery.{h,cc}: the printed break-glass shares of the master key.
#include "unseal/recovery.h"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "unseal/enrolment_record.h"

namespace onionmail::unseal {
namespace {

std::string Text(const SecretBytes& s) {
  return std::string(s.RevealString(SecretAccess::Grant()));
}

SecretBytes Secret(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = crypto::RandomSecret(32);
    commitment_ = MasterKeyCommitment(master_).value();
  }

  std::vector<SecretBytes> Export(int t, int n) {
    auto shares = ExportRecoveryShares(master_, t, n);
    EXPECT_TRUE(shares.ok());
    return shares.ok() ? std::move(*shares) : std::vector<SecretBytes>{};
  }

  // The shares at the given positions, as strings typed in again.
  static std::vector<SecretBytes> Pick(const std::vector<SecretBytes>& all,
                                       std::initializer_list<size_t> which) {
    std::vector<SecretBytes> out;
    for (size_t i : which) out.push_back(all[i].Clone());
    return out;
  }

  SecretBytes master_;
  crypto::Digest commitment_{};
};

// Checks "OMRS1-" DD ("-" hhhh){16} "-" hhhh "-" hhhh character by character (no std::regex:
// GCC 12 warns inside it under the sanitizers); returns x, y hex and checksum hex.
struct Layout {
  int x = -1;
  std::string y_hex;
  std::string checksum_hex;
};
std::optional<Layout> ParseLayout(const std::string& text) {
  if (text.size() != kRecoveryShareTextSize || text.compare(0, 6, "OMRS1-") != 0) return {};
  if (!std::isdigit(static_cast<unsigned char>(text[6])) ||
      !std::isdigit(static_cast<unsigned char>(text[7]))) {
    return {};
  }
  Layout out;
  out.x = (text[6] - '0') * 10 + (text[7] - '0');
  for (size_t g = 0; g < 18; ++g) {  // 16 groups of y, 2 of the checksum
    const size_t start = 8 + g * 5;
    if (text[start] != '-') return {};
    for (size_t k = 1; k <= 4; ++k) {
      const char c = text[start + k];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
      (g < 16 ? out.y_hex : out.checksum_hex).push_back(c);
    }
  }
  return out;
}

TEST_F(RecoveryTest, PrintedShareHasTheDocumentedLayoutAndChecksum) {
  auto shares = Export(3, 5);
  ASSERT_EQ(shares.size(), 5u);
  for (size_t i = 0; i < shares.size(); ++i) {
    const std::string text = Text(shares[i]);
    EXPECT_EQ(text.size(), kRecoveryShareTextSize);
    auto layout = ParseLayout(text);
    ASSERT_TRUE(layout.has_value()) << "share " << i;
    EXPECT_EQ(layout->x, static_cast<int>(i + 1));
    auto y = crypto::FromHex(layout->y_hex).value();
    ASSERT_EQ(y.size(), 32u);
    // Checksum recomputed independently: SHA-256("OMRS1" || x || y)[0..4).
    std::vector<uint8_t> input{'O', 'M', 'R', 'S', '1', static_cast<uint8_t>(i + 1)};
    input.insert(input.end(), y.begin(), y.end());
    auto digest = crypto::Sha256(input);
    EXPECT_EQ(layout->checksum_hex, crypto::ToHex(std::span(digest.data(), 4)));
  }
}

TEST_F(RecoveryTest, AnyThresholdOfSharesGivesTheMasterKeyBack) {
  auto shares = Export(3, 5);
  for (size_t a = 0; a < 5; ++a) {
    for (size_t b = a + 1; b < 5; ++b) {
      for (size_t c = b + 1; c < 5; ++c) {
        auto m = ImportRecoveryShares(Pick(shares, {c, a, b}), commitment_);
        ASSERT_TRUE(m.ok()) << m.error().message;
        EXPECT_TRUE(m->Equals(master_));
      }
    }
  }
  auto all = ImportRecoveryShares(Pick(shares, {4, 3, 2, 1, 0}), commitment_);
  ASSERT_TRUE(all.ok()) << "more than t shares also work";
  EXPECT_TRUE(all->Equals(master_));
}

TEST_F(RecoveryTest, TooFewSharesDoNotMatchTheCommitment) {
  auto shares = Export(3, 5);
  auto m = ImportRecoveryShares(Pick(shares, {0, 3}), commitment_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().message.find("too few shares"), std::string::npos);
  auto one = ImportRecoveryShares(Pick(shares, {0}), commitment_);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RecoveryTest, SharesOfAnotherSplitOrKeyAreRefused) {
  auto shares = Export(2, 3);
  auto other = ExportRecoveryShares(crypto::RandomSecret(32), 2, 3).value();
  std::vector<SecretBytes> mixed;
  mixed.push_back(shares[0].Clone());
  mixed.push_back(other[1].Clone());
  auto m = ImportRecoveryShares(mixed, commitment_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  auto foreign = ImportRecoveryShares(Pick(other, {0, 2}), commitment_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RecoveryTest, TypingErrorIsReportedWithTheShareNumberAndNoShareBytes) {
  auto shares = Export(2, 3);
  std::string typo = Text(shares[1]);
  const size_t pos = 20;  // inside the y digits
  typo[pos] = typo[pos] == '0' ? '1' : '0';
  std::vector<SecretBytes> typed;
  typed.push_back(shares[0].Clone());
  typed.push_back(Secret(typo));
  auto m = ImportRecoveryShares(typed, commitment_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().message.find("recovery share 2"), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("checksum"), std::string::npos);
  EXPECT_EQ(m.error().message.find(Text(shares[0]).substr(9, 4)), std::string::npos);

  // Swapped adjacent digits, a dropped digit, a non-hex letter: all named.
  std::string swapped = Text(shares[1]);
  std::swap(swapped[10], swapped[11]);
  if (swapped != Text(shares[1])) {
    typed[1] = Secret(swapped);
    auto r = ImportRecoveryShares(typed, commitment_);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("recovery share 2"), std::string::npos);
  }
  std::string dropped = Text(shares[0]);
  dropped.erase(30, 1);
  typed[0] = Secret(dropped);
  typed[1] = shares[1].Clone();
  auto r = ImportRecoveryShares(typed, commitment_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("recovery share 1: too short"), std::string::npos);
  std::string letter = Text(shares[0]);
  letter[12] = 'g';
  typed[0] = Secret(letter);
  r = ImportRecoveryShares(typed, commitment_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("recovery share 1: invalid character"), std::string::npos);
}

TEST_F(RecoveryTest, ImportIgnoresCaseAndSeparators) {
  auto shares = Export(2, 4);
  std::string upper = Text(shares[3]);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string spaced = Text(shares[1]);
  for (char& c : spaced) {
    if (c == '-') c = ' ';
  }
  spaced = "  " + spaced.substr(0, 40) + "\n" + spaced.substr(40) + "\r\n";
  std::string compact = Text(shares[2]);
  std::erase(compact, '-');
  std::vector<SecretBytes> typed;
  typed.push_back(Secret(upper));
  typed.push_back(Secret(spaced));
  typed.push_back(Secret(compact));
  auto m = ImportRecoveryShares(typed, commitment_);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->Equals(master_));
}

TEST_F(RecoveryTest, MalformedStringsAreRefused) {
  auto shares = Export(2, 3);
  auto refuse = [&](const std::string& text, const char* want) {
    std::vector<SecretBytes> typed;
    typed.push_back(shares[0].Clone());
    typed.push_back(Secret(text));
    auto r = ImportRecoveryShares(typed, commitment_);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
  };
  const std::string good = Text(shares[1]);
  refuse("OMRS2" + good.substr(5), "not an OMRS1 recovery share");
  refuse(good.substr(0, 6) + "33" + good.substr(8), "out of range");
  refuse(good.substr(0, 6) + "00" + good.substr(8), "out of range");
  refuse(good.substr(0, 6) + "0a" + good.substr(8), "two decimal digits");
  refuse(good + "0", "too long");
  refuse("", "too short");
  refuse(Text(shares[0]), "already given as share 1");
}

TEST_F(RecoveryTest, ExportRefusesBadParameters) {
  EXPECT_FALSE(ExportRecoveryShares(master_, 1, 3).ok());
  EXPECT_FALSE(ExportRecoveryShares(master_, 4, 3).ok());
  EXPECT_FALSE(ExportRecoveryShares(master_, 2, 33).ok());
  EXPECT_FALSE(ExportRecoveryShares(SecretBytes(16), 2, 3).ok());
  auto max = ExportRecoveryShares(master_, 32, 32);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(Text((*max)[31]).substr(0, 9), "OMRS1-32-");
  auto back = ImportRecoveryShares(*max, commitment_);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(master_));
}

TEST_F(RecoveryTest, EachExportIsAFreshSplit) {
  auto a = Export(2, 2);
  auto b = Export(2, 2);
  EXPECT_NE(Text(a[0]), Text(b[0]));
  // Shares of two splits of the same key do not combine (different polynomials)...
  std::vector<SecretBytes> mixed;
  mixed.push_back(a[0].Clone());
  mixed.push_back(b[1].Clone());
  EXPECT_FALSE(ImportRecoveryShares(mixed, commitment_).ok());
  // ...but each split alone does.
  EXPECT_TRUE(ImportRecoveryShares(b, commitment_).ok());
}

}  // namespace
}  // namespace onionmail::unseal
