// keys::Vouchers (keys/vouchers.h): files named by the keyed hash only, no
// voucher on disk, modes, one claim per voucher (also concurrently), restore,
// count and clear, and durability across instances.
#include "keys/vouchers.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hex.h"
#include "mail/registration.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::TempDir;

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kInternal : r.error().code;
}

std::string Text(const SecretBytes& s) {
  return std::string(s.RevealString(SecretAccess::Grant()));
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

class VouchersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    key_store_ = std::move(*ks);
    vouchers_ = std::make_unique<Vouchers>(*key_store_, Dir());
  }
  std::string Dir() const { return dir_.path() + "/vouchers"; }
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    if (!std::filesystem::exists(Dir())) return names;
    for (const auto& e : std::filesystem::directory_iterator(Dir())) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }
  std::vector<std::string> AddN(size_t n) {
    auto made = vouchers_->Add(n);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    std::vector<std::string> out;
    if (made.ok()) {
      for (const SecretBytes& v : *made) out.push_back(Text(v));
    }
    return out;
  }
  bool Exists(std::string_view v) {
    auto r = vouchers_->Exists(v);
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  }

  TempDir dir_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<Vouchers> vouchers_;
};

TEST_F(VouchersTest, AddMakesCanonicalRandomVouchers) {
  std::vector<std::string> made = AddN(50);
  ASSERT_EQ(made.size(), 50u);
  std::set<std::string> distinct(made.begin(), made.end());
  EXPECT_EQ(distinct.size(), 50u);
  for (const std::string& v : made) {
    ASSERT_EQ(v.size(), mail::kVoucherChars);
    auto canonical = mail::CanonicalVoucher(v);
    ASSERT_TRUE(canonical.has_value()) << v;
    EXPECT_EQ(*canonical, v);
    EXPECT_TRUE(Exists(v));
  }
  EXPECT_EQ(*vouchers_->Count(), 50u);
}

TEST_F(VouchersTest, FilesAreNamedByTheKeyedHashAndHoldNothing) {
  std::vector<std::string> made = AddN(3);
  ASSERT_EQ(made.size(), 3u);
  std::set<std::string> expected;
  for (const std::string& v : made) {
    auto digest = key_store_->KeyedHash(
        "voucher", std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    ASSERT_TRUE(digest.ok());
    expected.insert(crypto::ToHex(*digest));
    EXPECT_EQ(*vouchers_->PathOf(v), Dir() + "/" + crypto::ToHex(*digest));
  }
  std::vector<std::string> files = Files();
  EXPECT_EQ(std::set<std::string>(files.begin(), files.end()), expected);
  // Nothing in clear: no file name holds a voucher, every file is empty and
  // private, the directory too.
  for (const std::string& name : files) {
    for (const std::string& v : made) EXPECT_EQ(name.find(v), std::string::npos);
    struct stat st;
    ASSERT_EQ(::lstat((Dir() + "/" + name).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  struct stat st;
  ASSERT_EQ(::stat(Dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // The whole state directory holds no voucher anywhere (names or bytes).
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
    for (const std::string& v : made) {
      EXPECT_EQ(e.path().string().find(v), std::string::npos);
      if (e.is_regular_file()) {
        std::ifstream in(e.path(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find(v), std::string::npos) << e.path();
      }
    }
  }
}

TEST_F(VouchersTest, NoDirectoryUntilTheFirstVoucher) {
  EXPECT_FALSE(std::filesystem::exists(Dir()));
  EXPECT_EQ(*vouchers_->Count(), 0u);
  EXPECT_FALSE(Exists("abcdefghijklmnopqrst"));
  EXPECT_EQ(CodeOf(vouchers_->Claim("abcdefghijklmnopqrst")), ErrorCode::kUnauthenticated);
  EXPECT_EQ(*vouchers_->Clear(), 0u);
  EXPECT_FALSE(std::filesystem::exists(Dir()));
}

TEST_F(VouchersTest, AddBounds) {
  EXPECT_EQ(CodeOf(vouchers_->Add(0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(vouchers_->Add(Vouchers::kMaxAdd + 1)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(AddN(Vouchers::kMaxAdd).size(), Vouchers::kMaxAdd);
  EXPECT_EQ(*vouchers_->Count(), Vouchers::kMaxAdd);
}

TEST_F(VouchersTest, AVoucherIsClaimedOnceInAnyCase) {
  std::vector<std::string> made = AddN(2);
  ASSERT_EQ(made.size(), 2u);
  EXPECT_TRUE(Exists(Upper(made[0])));
  ASSERT_TRUE(vouchers_->Claim(Upper(made[0])).ok());
  EXPECT_FALSE(Exists(made[0]));
  EXPECT_EQ(CodeOf(vouchers_->Claim(made[0])), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(Exists(made[1]));  // the other one untouched
  EXPECT_EQ(*vouchers_->Count(), 1u);
}

TEST_F(VouchersTest, TextsThatAreNoVoucherDoNotExist) {
  AddN(1);
  for (std::string_view bad : {"", "abc", "abcdefghijklmnopqrs1", "abcdefghijklmnopqrst8",
                               "abcdefghijklmnopqrs ", "../../../../etc/passw"}) {
    EXPECT_FALSE(Exists(bad)) << bad;
    EXPECT_EQ(CodeOf(vouchers_->Claim(bad)), ErrorCode::kUnauthenticated) << bad;
    EXPECT_EQ(CodeOf(vouchers_->Restore(bad)), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(*vouchers_->Count(), 1u);
  // A well-formed voucher that was never made.
  EXPECT_FALSE(Exists("abcdefghijklmnopqrst"));
  EXPECT_EQ(CodeOf(vouchers_->Claim("abcdefghijklmnopqrst")), ErrorCode::kUnauthenticated);
}

TEST_F(VouchersTest, ConcurrentClaimsHaveOneWinner) {
  std::vector<std::string> made = AddN(20);
  ASSERT_EQ(made.size(), 20u);
  for (const std::string& v : made) {
    std::atomic<int> wins{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    // Two instances, as the key role and a second process would have.
    Vouchers other(*key_store_, Dir());
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        auto r = (t % 2 == 0 ? *vouchers_ : other).Claim(v);
        if (r.ok()) {
          ++wins;
        } else if (r.error().code == ErrorCode::kUnauthenticated) {
          ++refused;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(refused.load(), 7);
  }
  EXPECT_EQ(*vouchers_->Count(), 0u);
}

TEST_F(VouchersTest, RestoreMakesAClaimedVoucherValidAgain) {
  std::vector<std::string> made = AddN(1);
  ASSERT_EQ(made.size(), 1u);
  ASSERT_TRUE(vouchers_->Claim(made[0]).ok());
  ASSERT_TRUE(vouchers_->Restore(made[0]).ok());
  EXPECT_TRUE(Exists(made[0]));
  ASSERT_TRUE(vouchers_->Restore(made[0]).ok());  // already there: ok, still one
  EXPECT_EQ(*vouchers_->Count(), 1u);
  ASSERT_TRUE(vouchers_->Claim(made[0]).ok());
  EXPECT_EQ(CodeOf(vouchers_->Claim(made[0])), ErrorCode::kUnauthenticated);
}

TEST_F(VouchersTest, CountAndClearSeeOnlyVoucherFiles) {
  AddN(5);
  // Not a voucher id: neither counted nor removed.
  onionmail::testing::WriteFileBytes(Dir() + "/README", {'x'});
  EXPECT_EQ(*vouchers_->Count(), 5u);
  auto cleared = vouchers_->Clear();
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(*cleared, 5u);
  EXPECT_EQ(*vouchers_->Count(), 0u);
  EXPECT_EQ(Files(), std::vector<std::string>{"README"});
  EXPECT_EQ(*vouchers_->Clear(), 0u);
}

TEST_F(VouchersTest, ClearedVouchersAreUsedUp) {
  std::vector<std::string> made = AddN(3);
  ASSERT_TRUE(vouchers_->Clear().ok());
  for (const std::string& v : made) {
    EXPECT_FALSE(Exists(v));
    EXPECT_EQ(CodeOf(vouchers_->Claim(v)), ErrorCode::kUnauthenticated);
  }
  EXPECT_EQ(AddN(2).size(), 2u);  // and new ones can be made
  EXPECT_EQ(*vouchers_->Count(), 2u);
}

TEST_F(VouchersTest, VouchersOutliveTheInstanceButNotAnotherKeyStore) {
  std::vector<std::string> made = AddN(3);
  ASSERT_TRUE(vouchers_->Claim(made[0]).ok());
  vouchers_.reset();
  Vouchers again(*key_store_, Dir());
  EXPECT_EQ(*again.Count(), 2u);
  EXPECT_FALSE(*again.Exists(made[0]));
  EXPECT_TRUE(*again.Exists(made[1]));
  ASSERT_TRUE(again.Claim(made[2]).ok());
  // Another key store names the files differently: the vouchers are not its.
  auto other_ks = hsm::CreateFileKeyStore(dir_.path() + "/other.key");
  ASSERT_TRUE(other_ks.ok());
  Vouchers foreign(**other_ks, Dir());
  EXPECT_FALSE(*foreign.Exists(made[1]));
  EXPECT_EQ(CodeOf(foreign.Claim(made[1])), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(*again.Exists(made[1]));
}

}  // namespace
}  // namespace onionmail::keys
