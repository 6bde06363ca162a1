// MailingLists: the mailing lists of the key role (mail/mailing_list.h,
// docs/PROTOCOL.md "Mailing lists"), one sealed file per list in
// <state>/lists, and the check the key role makes at every RCPT to a list
// (kPost).
//
// File <dir>/<file id>, file id = hex(KeyStore::KeyedHash("list", name)) (64
// lower-case hex chars), so a seized disk shows neither list names nor
// members. Content: hsm::KeyStore::SealRecord(encoded list,
// aad = "onionmail-list-v1:" + file id), so a file copied or moved to another
// list's id does not open. Encoded list:
//   u8 version (1 or 2) || u8 len || name || u8 len || owner ||
//   u16 BE count || count x (u8 len || member) [ || u8 flags ]
// Version 2 ends with the flags byte: 0x01 announce (only the owner posts)
// or 0x02 moderated (members' posts held for the owner), never both, the
// other bits zero. A list without a flag is written as version 1, which
// has no flags byte (so a server of before version 2 still reads it).
// A member is a local part or a remote address "local@<v3 onion>"
// (mail::ValidListMember, at most mail::kMaxListMemberBytes).
//
// Contract:
//  - Every permission rule is mail::ApplyListOp()'s; this class only loads,
//    applies and stores. A name that is not mail::ValidListName() is
//    kInvalidArgument, before any file access.
//  - Decoding is strict: a file that does not authenticate (OpenRecord's
//    kDataLoss; a device fault is returned as it is: SealedFiles), has
//    another version, trailing or missing bytes, a version 2 with no flag,
//    both flags or an unknown one, a name other than the one
//    asked for, or a record failing mail::WellFormedListRecord() is
//    kDataLoss. Nothing of a list (name, owner, members) is ever logged or
//    put in an error message.
//  - Apply(): mail::ApplyListOp() over the stored list, plus: kCreate when
//    kMaxLists lists are stored (regular files in <dir>) is
//    kResourceExhausted; a successful kAdd of a local member asks
//    `user_exists` about `user` (false: kFailedPrecondition, nothing
//    written; an error is passed on); a remote member (mail::IsRemoteMember)
//    is added without a check (this server cannot know another's users).
//    It returns the record after the op (kDestroy: an empty record).
//    kPermissionDenied comes only from mail::ApplyListOp() (the user may not
//    do that); the key store's or the file system's refusal is kUnavailable
//    (a fault of this server, temporary for the user). An op
//    that changes nothing (kShow, kPost, kAdd of a member, kRemove of a
//    non-member) writes nothing. A write is published durably
//    (SealedFiles::Write: temp file in <dir>/.tmp, fsync, rename, fsync of
//    <dir>) before Apply() returns ok; a destroyed list is deleted with
//    store::SecureDelete. <dir> and <dir>/.tmp are created (mode 0700) at
//    the first write; files are mode 0600.
//  - RemoveUser() (the admin's `user del`): `user` is a local part (a user
//    of this server; else kInvalidArgument); every list file is read; a list
//    the user owns is deleted, a list the user is a member of is rewritten
//    without the user (mail::ApplyListOp kDestroy and kLeave by the user).
//    Remote members are never touched ("bob@<onion>" stays when bob goes:
//    it is another server's user). A list file that does not open
//    (kDataLoss) is skipped with a warning naming the first chars of its
//    file id: it never opens again, so no one is a member of it. Any other
//    failure stops the scan.
//  - The files are keys::SealedFiles (sealing, durable writes, deletion and
//    the read cache: see its contract), at most kMaxCachedLists cached
//    lists. A lookup lstat()s the file: unchanged, no open, no OpenRecord and
//    no decoding; missing, no list (no open, no OpenRecord). A file replaced
//    by another instance or process (rename: new inode) is read again.
//  - Thread-safe. Apply() and RemoveUser() are serialised in this instance;
//    writers in other instances or processes are not locked out (the key
//    role is the only writer; the callers serialise across processes).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "hsm/key_store.h"
#include "keys/sealed_files.h"
#include "mail/mailing_list.h"

namespace onionmail::keys {

// A refusal of the key store (a TPM policy not met, a token refusing) or of
// the file system (EACCES), kPermissionDenied, as kUnavailable: a fault of
// this server, never a list's answer to its user. Other errors unchanged.
Error ListStoreFault(Error e);

class MailingLists {
 public:
  static constexpr size_t kMaxCachedLists = 1024;

  // Whether `user` exists (asked at kAdd of a local member).
  using UserExists = std::function<Result<bool>(std::string_view user)>;

  // `keys`: the key store that seals the user records (outlives this); `dir`:
  // <state>/lists, created (mode 0700) at the first write.
  MailingLists(hsm::KeyStore& keys, std::string dir);

  // The stored list `name` (nullopt: no such list).
  [[nodiscard]] Result<std::optional<mail::ListRecord>> Load(std::string_view name);
  // `op` on the list `name` by `actor` (see the contract); `user`: the
  // argument of kAdd and kRemove, a local or remote member.
  [[nodiscard]] Result<mail::ListRecord> Apply(std::string_view name, std::string_view actor,
                                               mail::ListOp op, std::string_view user,
                                               const UserExists& user_exists);
  // Removes `user` (a valid local part: a user of this server) from every
  // list and deletes the lists it owns.
  [[nodiscard]] Result<void> RemoveUser(std::string_view user);
  // Regular files in <dir>: the lists stored (0 when <dir> does not exist).
  [[nodiscard]] Result<size_t> Count();
  // The file id of the list `name` (hex keyed hash; the file <dir>/<id>).
  [[nodiscard]] Result<std::string> FileIdFor(std::string_view name);

  // Lists in the read cache (tests).
  size_t cached_lists();

 private:
  struct Stored {
    std::string name;
    mail::ListRecord record;
  };
  using StoredPtr = std::shared_ptr<const Stored>;  // null: no such file

  Result<StoredPtr> LoadFile(const std::string& file_id);
  // LoadFile() holding the list `name` (another name: kDataLoss).
  Result<std::optional<mail::ListRecord>> LoadNamed(const std::string& file_id,
                                                    std::string_view name);
  Result<void> Store(const std::string& file_id, std::string_view name,
                     const mail::ListRecord& record);

  hsm::KeyStore& keys_;  // KeyedHash() of the file ids
  SealedFiles files_;
  std::mutex write_mu_;  // Apply() and RemoveUser(): one read-modify-write at a time
};

}  // namespace onionmail::keys
