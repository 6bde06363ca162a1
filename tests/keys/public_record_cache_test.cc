// Tests for keys::PublicRecordCache: entries are valid only for the file
// identity they were read under, and the cache stays bounded.
#include "keys/public_record_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail::keys {
namespace {

UserPublic User(uint8_t tag) {
  UserPublic u;
  u.mailbox_id = std::string(64, static_cast<char>('a' + tag % 6));
  u.public_key = {tag, 1, 2, 3};
  u.key_id.fill(tag);
  return u;
}

FileId Id(uint64_t ino) { return FileId{1, ino, 285, 1000, 2000}; }

TEST(PublicRecordCacheTest, AnEntryIsFoundOnlyUnderTheFileIdItWasReadWith) {
  PublicRecordCache cache;
  EXPECT_FALSE(cache.Find("r1", Id(7)).has_value());
  cache.Remember("r1", Id(7), User(1));
  auto hit = cache.Find("r1", Id(7));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->public_key, User(1).public_key);
  EXPECT_EQ(hit->key_id, User(1).key_id);
  EXPECT_EQ(hit->mailbox_id, User(1).mailbox_id);
  EXPECT_FALSE(cache.Find("r2", Id(7)).has_value());
}

TEST(PublicRecordCacheTest, AnyChangeOfTheFileIdMissesAndDropsTheEntry) {
  PublicRecordCache cache;
  FileId changed[] = {Id(7), Id(7), Id(7), Id(7), Id(7)};
  changed[0].dev = 2;
  changed[1].ino = 8;
  changed[2].size = 286;
  changed[3].mtime_ns = 1001;
  changed[4].ctime_ns = 2001;
  for (const FileId& id : changed) {
    cache.Remember("r1", Id(7), User(1));
    EXPECT_FALSE(cache.Find("r1", id).has_value());
    EXPECT_FALSE(cache.Find("r1", Id(7)).has_value()) << "the stale entry is dropped";
  }
}

TEST(PublicRecordCacheTest, ForgetDropsAnEntryAndAFullCacheIsEmptiedBeforeAnInsert) {
  PublicRecordCache cache;
  cache.Remember("r1", Id(7), User(1));
  cache.Forget("r1");
  EXPECT_FALSE(cache.Find("r1", Id(7)).has_value());
  for (size_t i = 0; i < PublicRecordCache::kMaxEntries; ++i) {
    cache.Remember("r" + std::to_string(i), Id(i), User(2));
  }
  EXPECT_EQ(cache.size(), PublicRecordCache::kMaxEntries);
  cache.Remember("r0", Id(0), User(3));  // a replacement does not empty it
  EXPECT_EQ(cache.size(), PublicRecordCache::kMaxEntries);
  cache.Remember("new", Id(99999), User(4));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.Find("new", Id(99999)).has_value());
}

}  // namespace
}  // namespace onionmail::keys
