// VmatTable: the VMAT aliases of an enter gateway (mail/vmat.h,
// docs/gateways.md), one sealed file per alias in <state>/vmat, kept by the
// key role; the operator adds and removes them (`onionmailctl vmat`), the
// SMTP front end looks them up at each RCPT to the exit domain.
//
// File <dir>/<file id>, file id = hex(KeyStore::KeyedHash("vmat", alias)) (64
// lower-case hex chars), so a seized disk shows neither aliases nor the
// onion mailboxes they lead to. Content: keys::SealedFiles with aad
// "onionmail-vmat-v1:" + file id, plaintext mail::EncodeVmatRecord().
//
// Contract:
//  - An alias that is not mail::ValidVmatAlias() or a target that is not
//    mail::ValidVmatTarget() is kInvalidArgument before any file access.
//  - Lookup(alias): the target; nullopt when no file. A file that does not
//    open or decode, or holds another alias, is kDataLoss; a device fault is
//    returned as it is (SealedFiles). One lstat on the hot path (cached).
//  - Add(alias, target): kAlreadyExists when the alias has a file (the
//    operator removes it first: an alias never moves silently);
//    kResourceExhausted at kMaxAliases files. Durable (SealedFiles::Write)
//    when it returns ok. Remove(alias): kNotFound when none; deletes the
//    file (store::SecureDelete). Add and Remove are serialised here.
//  - List(): every alias that opens, sorted by alias; a file that does not
//    open is skipped with a warning naming the first chars of its id.
//    Count(): the regular files in <dir> (0 when there is no <dir>).
//  - The sending alias of a target (docs/gateways.md, "The exit direction"):
//    the address the target's mail to the Internet leaves under. One sealed
//    file per target in <dir>-senders, file id = hex(KeyedHash("vmat-sender",
//    target)), aad "onionmail-vmat-sender-v1:" + file id, plaintext the
//    same record (alias, target). Add() makes the new alias the target's
//    sending alias when it has none (or a stale one); Remove() of the sending
//    alias gives the role to another alias of the same target if there is
//    one (the first in List() order), else deletes the file.
//    MakeSender(alias): makes an existing alias its target's sending alias
//    (kNotFound when there is no such alias; durable when it returns ok).
//    SenderAlias(target): the sending alias; nullopt when there is none or
//    when the alias it names no longer leads to the target (stale: a crash
//    between the two files). kInvalidArgument for a target that is not
//    ValidVmatTarget; kDataLoss for a file that does not open or names
//    another target. An Add() whose alias file was written but whose sender
//    file could not be is that error, with the alias made.
//  - Nothing of an alias or target is logged or put in an error message.
//    Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "hsm/key_store.h"
#include "keys/sealed_files.h"
#include "mail/vmat.h"

namespace onionmail::keys {

class VmatTable {
 public:
  static constexpr size_t kMaxAliases = 100000;
  static constexpr size_t kMaxCached = 4096;

  // `keys` seals the files (outlives this); `dir`: <state>/vmat.
  VmatTable(hsm::KeyStore& keys, std::string dir);

  [[nodiscard]] Result<std::optional<std::string>> Lookup(std::string_view alias);
  [[nodiscard]] Result<void> Add(std::string_view alias, std::string_view target);
  [[nodiscard]] Result<void> Remove(std::string_view alias);
  [[nodiscard]] Result<std::vector<mail::VmatRecord>> List();
  [[nodiscard]] Result<size_t> Count();
  [[nodiscard]] Result<std::optional<std::string>> SenderAlias(std::string_view target);
  [[nodiscard]] Result<void> MakeSender(std::string_view alias);

 private:
  Result<std::string> FileIdFor(std::string_view alias);
  Result<std::string> SenderFileIdFor(std::string_view target);
  Result<std::shared_ptr<const mail::VmatRecord>> Load(SealedFiles& files,
                                                       const std::string& file_id);
  // Under write_mu_: makes `alias` the sending alias of `target` when it has
  // none that holds (SenderAlias), or always with `replace`.
  Result<void> SetSender(std::string_view alias, std::string_view target, bool replace);

  hsm::KeyStore& keys_;
  SealedFiles files_;
  SealedFiles senders_;  // <dir>-senders
  std::mutex write_mu_;
};

}  // namespace onionmail::keys
