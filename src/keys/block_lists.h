// BlockLists: the per-user block lists of the key role (docs/PROTOCOL.md,
// "server@", SPAM commands), one sealed file per mailbox in
// <state>/blocklists, and the check the key role makes at every RCPT.
//
// File <dir>/<mailbox id>: hsm::KeyStore::SealRecord(encoded list,
// aad = "onionmail-blocklist-v1:" + mailbox id), so a file copied or moved
// to another mailbox does not open. Encoded list:
//   u8 version (1) || u16 BE count || count x (u8 length || entry bytes)
// with the entries canonical (mail::CanonicalBlockEntry), sorted and unique.
//
// Contract:
//  - A mailbox id is 1..128 chars of [0-9a-f] (it is a file name); anything
//    else is kInvalidArgument, before any file access.
//  - Decoding is strict: a file that does not authenticate (OpenRecord's
//    kDataLoss; a device fault is returned as it is: SealedFiles), has
//    another version, trailing or missing bytes, more than
//    mail::kMaxBlockEntries entries, or an entry not canonical, sorted and
//    unique is kDataLoss. Nothing of a list (entries, addresses) is ever
//    logged or put in an error message.
//  - Apply() follows mail::BlockListService: kAdd and kDelete need a
//    canonical entry (kInvalidArgument otherwise); kAdd of an entry already
//    there and kDelete of an absent one write nothing; kAdd to a full list is
//    kResourceExhausted; kClear, and a kDelete that empties the list, delete
//    the file (store::SecureDelete); kList only reads. A write is published
//    durably (SealedFiles::Write: temp file in <dir>/.tmp, fsync, rename,
//    fsync of <dir>) before Apply() returns ok. <dir> and <dir>/.tmp are
//    created (mode 0700) at the first write; files are mode 0600.
//  - The files are keys::SealedFiles (sealing, durable writes, deletion and
//    the read cache: see its contract), at most kMaxCachedMailboxes cached
//    lists. A lookup lstat()s the file: unchanged, no open, no OpenRecord and
//    no decoding; missing, the empty list (no open, no OpenRecord). A file
//    replaced by another instance or process (rename: new inode) is read
//    again.
//  - Thread-safe. Apply() and Remove() are serialised in this instance;
//    writers in other instances or processes are not locked out (the key
//    role is the only writer).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "hsm/key_store.h"
#include "keys/sealed_files.h"
#include "mail/block_list.h"

namespace onionmail::keys {

class BlockLists {
 public:
  static constexpr size_t kMaxCachedMailboxes = 4096;

  // `keys`: the key store that seals the user records (outlives this); `dir`:
  // <state>/blocklists, created (mode 0700) at the first write.
  BlockLists(hsm::KeyStore& keys, std::string dir);

  // The list of the mailbox (sorted canonical entries; empty when it has none).
  Result<std::vector<std::string>> Entries(std::string_view mailbox_id);
  // Applies `op` (entry canonical for kAdd/kDelete, ignored for kList/kClear)
  // and returns the list after it.
  Result<std::vector<std::string>> Apply(std::string_view mailbox_id, mail::BlockListOp op,
                                         std::string_view entry);
  // mail::SenderIsBlocked over Entries(); `sender` may be empty (never
  // blocked, and no file access then).
  Result<bool> IsBlocked(std::string_view mailbox_id, std::string_view sender);
  // Deletes the mailbox's list (user deleted); ok when there is none.
  Result<void> Remove(std::string_view mailbox_id);

  // Mailboxes in the read cache (tests).
  size_t cached_mailboxes();

 private:
  using List = std::shared_ptr<const std::vector<std::string>>;

  Result<List> Load(const std::string& mailbox_id);
  Result<void> Store(const std::string& mailbox_id, const std::vector<std::string>& list);

  SealedFiles files_;
  std::mutex write_mu_;  // Apply() and Remove(): one read-modify-write at a time
};

}  // namespace onionmail::keys
