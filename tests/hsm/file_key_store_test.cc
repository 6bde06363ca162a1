// Tests for the file KeyStore backend (hsm/file/file_key_store.cc).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/key_store.h"
#include "tests/store/test_util.h"

namespace onionmail::hsm {
namespace {

using onionmail::testing::Bytes;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::TempDir;
using onionmail::testing::WriteFileBytes;

class FileKeyStoreTest : public ::testing::Test {
 protected:
  std::string KeyPath() const { return dir_.path() + "/server.key"; }
  TempDir dir_;
};

TEST_F(FileKeyStoreTest, CreateWritesThirtyTwoRandomBytesWithMode0600) {
  auto store = CreateFileKeyStore(KeyPath());
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->backend_name(), "file");
  auto bytes = ReadFileBytes(KeyPath());
  EXPECT_EQ(bytes.size(), 32u);
  EXPECT_NE(bytes, std::vector<uint8_t>(32, 0));
  EXPECT_EQ(ModeOf(KeyPath()), 0600u);
}

TEST_F(FileKeyStoreTest, CreateRefusesAnExistingFileWithAlreadyExists) {
  ASSERT_TRUE(CreateFileKeyStore(KeyPath()).ok());
  auto before = ReadFileBytes(KeyPath());
  auto again = CreateFileKeyStore(KeyPath());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(ReadFileBytes(KeyPath()), before);
}

TEST_F(FileKeyStoreTest, OpenOfMissingFileIsNotFound) {
  auto store = OpenFileKeyStore(KeyPath());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kNotFound);
}

TEST_F(FileKeyStoreTest, OpenRefusesGroupReadableFileWithPermissionDenied) {
  ASSERT_TRUE(CreateFileKeyStore(KeyPath()).ok());
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0644), 0);
  auto store = OpenFileKeyStore(KeyPath());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(FileKeyStoreTest, OpenRefusesSymlinkedKeyFile) {
  ASSERT_TRUE(CreateFileKeyStore(KeyPath()).ok());
  const std::string link = dir_.path() + "/link.key";
  ASSERT_EQ(::symlink(KeyPath().c_str(), link.c_str()), 0);
  auto store = OpenFileKeyStore(link);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(FileKeyStoreTest, OpenRefusesWrongSizeWithDataLoss) {
  WriteFileBytes(KeyPath(), std::vector<uint8_t>(31, 7));
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0600), 0);
  auto store = OpenFileKeyStore(KeyPath());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kDataLoss);
}

TEST_F(FileKeyStoreTest, KeyedHashIsDeterministicAcrossOpens) {
  auto created = CreateFileKeyStore(KeyPath());
  ASSERT_TRUE(created.ok());
  auto h1 = (*created)->KeyedHash("user-record", Bytes("bob"));
  ASSERT_TRUE(h1.ok());
  auto opened = OpenFileKeyStore(KeyPath());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto h2 = (*opened)->KeyedHash("user-record", Bytes("bob"));
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(*h1, *h2);
}

TEST_F(FileKeyStoreTest, KeyedHashSeparatesPurposesDataAndKeys) {
  auto a = CreateFileKeyStore(KeyPath());
  auto b = CreateFileKeyStore(dir_.path() + "/other.key");
  ASSERT_TRUE(a.ok() && b.ok());
  auto base = (*a)->KeyedHash("user-record", Bytes("bob"));
  auto other_purpose = (*a)->KeyedHash("mailbox", Bytes("bob"));
  auto other_data = (*a)->KeyedHash("user-record", Bytes("bob2"));
  auto other_key = (*b)->KeyedHash("user-record", Bytes("bob"));
  ASSERT_TRUE(base.ok() && other_purpose.ok() && other_data.ok() && other_key.ok());
  EXPECT_NE(*base, *other_purpose);
  EXPECT_NE(*base, *other_data);
  EXPECT_NE(*base, *other_key);
}

TEST_F(FileKeyStoreTest, SealedRecordOpensOnlyWithSameKeyAndAad) {
  auto a = CreateFileKeyStore(KeyPath());
  auto b = CreateFileKeyStore(dir_.path() + "/other.key");
  ASSERT_TRUE(a.ok() && b.ok());
  const auto plain = Bytes("record contents");
  auto sealed = (*a)->SealRecord(plain, Bytes("name-1"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(std::search(sealed->begin(), sealed->end(), plain.begin(), plain.end()), sealed->end());

  auto opened = (*a)->OpenRecord(*sealed, Bytes("name-1"));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->RevealString(SecretAccess::Grant()), "record contents");

  auto wrong_aad = (*a)->OpenRecord(*sealed, Bytes("name-2"));
  ASSERT_FALSE(wrong_aad.ok());
  EXPECT_EQ(wrong_aad.error().code, ErrorCode::kDataLoss);
  auto wrong_key = (*b)->OpenRecord(*sealed, Bytes("name-1"));
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.error().code, ErrorCode::kDataLoss);
}

TEST_F(FileKeyStoreTest, TamperedRecordIsDataLoss) {
  auto a = CreateFileKeyStore(KeyPath());
  ASSERT_TRUE(a.ok());
  auto sealed = (*a)->SealRecord(Bytes("record contents"), Bytes("n"));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    auto copy = *sealed;
    copy[i] ^= 0x01;
    auto opened = (*a)->OpenRecord(copy, Bytes("n"));
    ASSERT_FALSE(opened.ok()) << "flip at " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kDataLoss);
  }
  auto truncated = std::vector<uint8_t>(sealed->begin(), sealed->end() - 1);
  EXPECT_FALSE((*a)->OpenRecord(truncated, Bytes("n")).ok());
}

}  // namespace
}  // namespace onionmail::hsm
