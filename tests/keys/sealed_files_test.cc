// Tests for keys::SealedFiles over a file key store and real files in a temp
// state dir: the round trip, the aad binding a file to its id, the cache of
// decoded values (OpenRecord and decodes counted), replaced, missing and
// removed files, the cache bound and the ids refused.
#include "keys/sealed_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tests/keys/sealed_file_fixture.h"
#include "tests/store/test_util.h"

namespace onionmail::keys {
namespace {

using onionmail::testing::Bytes;
using onionmail::testing::ModeOf;
using onionmail::testing::ReadFileBytes;
using onionmail::testing::WriteFileBytes;
using test_fixture::CodeOf;
using test_fixture::Exists;
using test_fixture::InodeOf;
using test_fixture::Must;
using Text = std::shared_ptr<const std::string>;

constexpr char kPrefix[] = "onionmail-test-v1:";

class SealedFilesTest : public test_fixture::SealedFileTest {
 protected:
  void SetUp() override {
    SealedFileTest::SetUp();
    if (HasFatalFailure()) return;
    files_ = Make();
  }

  std::unique_ptr<SealedFiles> Make(size_t max_cached = 16) {
    return std::make_unique<SealedFiles>(*keys_, SealedFiles::Config{.dir = files_dir_,
                                                                     .aad_prefix = kPrefix,
                                                                     .max_cached = max_cached,
                                                                     .max_file_bytes = 4096,
                                                                     .what = "test record"});
  }
  std::string FileOf(const std::string& id) const { return files_dir_ + "/" + id; }

  // The plaintext as a string, counted; "bad" does not decode.
  Result<Text> Read(const std::string& id, SealedFiles* files = nullptr) {
    return (files != nullptr ? files : files_.get())
        ->Read<std::string>(id, [this](std::span<const uint8_t> plaintext) -> Result<std::string> {
          ++decodes_;
          std::string text(plaintext.begin(), plaintext.end());
          if (text == "bad") return MakeError(ErrorCode::kDataLoss, "does not decode");
          return text;
        });
  }
  // The text read (an empty string for no file).
  std::string TextOf(const std::string& id) {
    Text text = Must(Read(id));
    return text != nullptr ? *text : std::string();
  }
  void Write(const std::string& id, const std::string& text) {
    auto written = files_->Write(id, Bytes(text));
    ASSERT_TRUE(written.ok()) << written.error().message;
  }

  const std::string files_dir_ = dir_.path() + "/sealed";
  int decodes_ = 0;
  std::unique_ptr<SealedFiles> files_;
};

TEST_F(SealedFilesTest, WriteThenReadRoundTripsAcrossInstances) {
  EXPECT_EQ(Must(Read("a1")), nullptr);
  EXPECT_FALSE(Exists(files_dir_)) << "nothing is created before the first write";
  Write("a1", "first");
  Write("b2", "second");
  EXPECT_EQ(TextOf("a1"), "first");
  EXPECT_EQ(TextOf("b2"), "second");
  auto other = Make();
  EXPECT_EQ(*Must(Read("a1", other.get())), "first");
  EXPECT_EQ(ModeOf(files_dir_), 0700u);
  EXPECT_EQ(ModeOf(files_dir_ + "/.tmp"), 0700u);
  EXPECT_EQ(ModeOf(FileOf("a1")), 0600u);
  EXPECT_TRUE(std::filesystem::is_empty(files_dir_ + "/.tmp")) << "no temporary file is left";
  const std::vector<uint8_t> sealed = ReadFileBytes(FileOf("a1"));
  const std::string on_disk(sealed.begin(), sealed.end());
  EXPECT_EQ(on_disk.find("first"), std::string::npos) << "the plaintext is sealed";
}

TEST_F(SealedFilesTest, TheAadBindsAFileToItsId) {
  Write("a1", "alice's");
  WriteFileBytes(FileOf("b2"), ReadFileBytes(FileOf("a1")));
  auto copied = Read("b2");
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(copied.error().message, "test record failed authentication");
  WriteSealedFile(FileOf("c3"), "onionmail-other-v1:c3", Bytes("other prefix"));
  EXPECT_EQ(CodeOf(Read("c3")), ErrorCode::kDataLoss) << "another prefix";
  WriteSealedFile(FileOf("d4"), std::string(kPrefix) + "d4", Bytes("by the book"));
  EXPECT_EQ(TextOf("d4"), "by the book") << "the documented aad";
  EXPECT_EQ(files_->cached(), 1u) << "failures are not cached";
}

TEST_F(SealedFilesTest, ACacheHitOpensAndDecodesNothing) {
  Write("a1", "cached");
  const int opens = keys_->opens;
  Text first = Must(Read("a1"));
  EXPECT_EQ(keys_->opens, opens + 1);
  EXPECT_EQ(decodes_, 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Must(Read("a1")), first) << "the same decoded value";
  EXPECT_EQ(keys_->opens, opens + 1) << "hits: no OpenRecord";
  EXPECT_EQ(decodes_, 1) << "hits: no decode";
  EXPECT_EQ(files_->cached(), 1u);

  Write("a1", "rewritten");  // forgets the id
  EXPECT_EQ(TextOf("a1"), "rewritten");
  EXPECT_EQ(decodes_, 2);
  files_->Forget("a1");
  EXPECT_EQ(files_->cached(), 0u);
  EXPECT_EQ(TextOf("a1"), "rewritten");
  EXPECT_EQ(decodes_, 3) << "a forgotten id is read again";
}

TEST_F(SealedFilesTest, AFileReplacedByAnotherInstanceIsReadAgain) {
  Write("a1", "old");
  EXPECT_EQ(TextOf("a1"), "old");
  const ino_t before = InodeOf(FileOf("a1"));
  auto other = Make();
  ASSERT_TRUE(other->Write("a1", Bytes("new")).ok());
  EXPECT_NE(InodeOf(FileOf("a1")), before);
  EXPECT_EQ(TextOf("a1"), "new");
  EXPECT_EQ(decodes_, 2);
  EXPECT_EQ(TextOf("a1"), "new");
  EXPECT_EQ(decodes_, 2) << "cached under the new file's identity";
}

TEST_F(SealedFilesTest, AMissingFileIsNullWithoutOpenRecordOrDecode) {
  EXPECT_EQ(Must(Read("a1")), nullptr);
  EXPECT_EQ(keys_->opens, 0);
  EXPECT_EQ(decodes_, 0);
  Write("a1", "here");
  EXPECT_EQ(TextOf("a1"), "here");
  EXPECT_EQ(files_->cached(), 1u);
  std::filesystem::remove(FileOf("a1"));  // deleted behind its back
  const int opens = keys_->opens;
  EXPECT_EQ(Must(Read("a1")), nullptr);
  EXPECT_EQ(keys_->opens, opens);
  EXPECT_EQ(files_->cached(), 0u) << "a missing file drops its entry";
}

TEST_F(SealedFilesTest, RemoveDeletesForgetsAndIsOkWithoutAFile) {
  Write("a1", "doomed");
  EXPECT_EQ(TextOf("a1"), "doomed");
  ASSERT_TRUE(files_->Remove("a1").ok());
  EXPECT_FALSE(Exists(FileOf("a1")));
  EXPECT_EQ(files_->cached(), 0u);
  EXPECT_EQ(Must(Read("a1")), nullptr);
  EXPECT_TRUE(files_->Remove("a1").ok()) << "no file";
  EXPECT_TRUE(files_->Remove("never").ok()) << "no dir";
}

TEST_F(SealedFilesTest, ErrorsAreReturnedAndNotCached) {
  Write("a1", "bad");
  EXPECT_EQ(CodeOf(Read("a1")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Read("a1")), ErrorCode::kDataLoss);
  EXPECT_EQ(decodes_, 2) << "a decode failure is not cached";
  EXPECT_EQ(files_->cached(), 0u);

  WriteFileBytes(FileOf("b2"), std::vector<uint8_t>(4097, 'x'));
  auto too_long = Read("b2");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(too_long.error().message, "test record file is corrupt");
  WriteFileBytes(FileOf("c3"), Bytes("not sealed"));
  EXPECT_EQ(CodeOf(Read("c3")), ErrorCode::kDataLoss);
  EXPECT_EQ(files_->cached(), 0u);
}

TEST_F(SealedFilesTest, ADeviceFaultIsReturnedAsItIsNotAsACorruptFile) {
  Write("a1", "text");
  files_ = Make();  // nothing cached
  for (ErrorCode fault :
       {ErrorCode::kUnavailable, ErrorCode::kPermissionDenied, ErrorCode::kInternal}) {
    keys_->open_fault = fault;
    EXPECT_EQ(CodeOf(Read("a1")), fault);
  }
  keys_->open_fault = ErrorCode::kDataLoss;
  EXPECT_EQ(files_->cached(), 0u) << "a fault is not cached";
  EXPECT_EQ(TextOf("a1"), "text");
}

TEST_F(SealedFilesTest, TheCacheIsBounded) {
  files_ = Make(/*max_cached=*/3);
  for (int i = 0; i < 10; ++i) {
    const std::string id = "id" + std::to_string(i);
    Write(id, "text " + std::to_string(i));
    EXPECT_EQ(TextOf(id), "text " + std::to_string(i));
    EXPECT_LE(files_->cached(), 3u);
  }
  EXPECT_GE(files_->cached(), 1u);
  EXPECT_EQ(TextOf("id9"), "text 9");
  EXPECT_EQ(decodes_, 10) << "the last one read is cached";
}

TEST_F(SealedFilesTest, IdsThatAreNotPlainFileNamesAreRefused) {
  for (const std::string id : {"", ".tmp", ".", "..", "a/b", "../x"}) {
    EXPECT_EQ(CodeOf(Read(id)), ErrorCode::kInvalidArgument) << id;
    EXPECT_EQ(CodeOf(files_->Write(id, Bytes("x"))), ErrorCode::kInvalidArgument) << id;
    EXPECT_EQ(CodeOf(files_->Remove(id)), ErrorCode::kInvalidArgument) << id;
  }
  EXPECT_FALSE(Exists(files_dir_));
  EXPECT_EQ(keys_->opens, 0);
}

TEST(SealedFilesIdTest, KeyedHashIdsAre64LowerCaseHexCharacters) {
  EXPECT_TRUE(SealedFiles::IsKeyedHashId(std::string(64, 'a')));
  EXPECT_TRUE(SealedFiles::IsKeyedHashId(std::string(32, '0') + std::string(32, 'f')));
  EXPECT_FALSE(SealedFiles::IsKeyedHashId(std::string(63, 'a')));
  EXPECT_FALSE(SealedFiles::IsKeyedHashId(std::string(65, 'a')));
  EXPECT_FALSE(SealedFiles::IsKeyedHashId(std::string(64, 'A')));
  EXPECT_FALSE(SealedFiles::IsKeyedHashId(std::string(64, 'g')));
  EXPECT_FALSE(SealedFiles::IsKeyedHashId(".tmp"));
}

}  // namespace
}  // namespace onionmail::keys
