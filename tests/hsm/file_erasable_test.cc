// Tests of erasable keys through hsm::KeyStore with the file backend
// (DerivedKeyStore + hsm/file/file_erasable.h). The hardware backends' erasable
// secrets are tested against SoftHSM2 and swtpm in tests/hsm/conformance.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "hsm/key_store.h"
#include "tests/store/test_util.h"

namespace onionmail::hsm {
namespace {

using onionmail::testing::ModeOf;
using onionmail::testing::TempDir;

std::vector<uint8_t> B(std::string_view s) { return {s.begin(), s.end()}; }

class FileErasableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = CreateFileKeyStore(key_path_);
    ASSERT_TRUE(ks.ok()) << ks.error().message;
    keys_ = std::move(*ks);
  }
  std::unique_ptr<KeyStore> Reopen() {
    auto ks = OpenFileKeyStore(key_path_);
    EXPECT_TRUE(ks.ok());
    return std::move(*ks);
  }

  TempDir dir_;
  std::string key_path_ = dir_.path() + "/server.key";
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(FileErasableTest, SealedUnderAnEpochOpensAcrossReopenAndOnlyWithItsAad) {
  ASSERT_TRUE(keys_->CreateErasable(7).ok());
  auto sealed = keys_->SealErasable(7, B("partner secret"), B("aad"));
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  auto again = Reopen();
  auto opened = again->OpenErasable(7, *sealed, B("aad"));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(
      opened->Equals(SecretBytes(SecretAccess::Grant(), std::string_view("partner secret"))));
  EXPECT_EQ(again->OpenErasable(7, *sealed, B("other")).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(ModeOf(key_path_ + ".erasable-7") & 0777, 0600u);
}

TEST_F(FileErasableTest, EpochsAreIndependentKeys) {
  ASSERT_TRUE(keys_->CreateErasable(1).ok());
  ASSERT_TRUE(keys_->CreateErasable(2).ok());
  auto sealed = keys_->SealErasable(1, B("x"), B("a"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(keys_->OpenErasable(2, *sealed, B("a")).error().code, ErrorCode::kDataLoss);
  auto epochs = keys_->ErasableEpochs();
  ASSERT_TRUE(epochs.ok());
  EXPECT_EQ(*epochs, (std::vector<uint64_t>{1, 2}));
}

TEST_F(FileErasableTest, EraseMakesEverySealedCopyUnreadableEvenFromTheCache) {
  ASSERT_TRUE(keys_->CreateErasable(3).ok());
  auto sealed = keys_->SealErasable(3, B("gone soon"), B("a"));
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(keys_->OpenErasable(3, *sealed, B("a")).ok());  // key now cached
  ASSERT_TRUE(keys_->EraseErasable(3).ok());
  EXPECT_EQ(keys_->OpenErasable(3, *sealed, B("a")).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Reopen()->OpenErasable(3, *sealed, B("a")).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(key_path_ + ".erasable-3"));
  EXPECT_TRUE(keys_->ErasableEpochs()->empty());
  // The same epoch made again is a new secret: the old copy stays unreadable.
  ASSERT_TRUE(keys_->CreateErasable(3).ok());
  EXPECT_EQ(keys_->OpenErasable(3, *sealed, B("a")).error().code, ErrorCode::kDataLoss);
}

TEST_F(FileErasableTest, CreateTwiceIsAlreadyExistsAndEraseOfNothingIsOk) {
  ASSERT_TRUE(keys_->CreateErasable(9).ok());
  EXPECT_EQ(keys_->CreateErasable(9).error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(keys_->EraseErasable(10).ok());
  EXPECT_EQ(keys_->SealErasable(10, B("x"), B("a")).error().code, ErrorCode::kNotFound);
}

TEST_F(FileErasableTest, UnrelatedFilesAreNotEpochs) {
  for (const char* name : {"/server.key.erasable-", "/server.key.erasable-01",
                           "/server.key.erasable-x", "/other.key.erasable-5"}) {
    onionmail::testing::WriteFileBytes(dir_.path() + name, B("junk"));
  }
  ASSERT_TRUE(keys_->CreateErasable(4).ok());
  EXPECT_EQ(*keys_->ErasableEpochs(), (std::vector<uint64_t>{4}));
}

}  // namespace
}  // namespace onionmail::hsm
