// OutputFiles: the files an onionmailctl unseal command hands to the operator (the KCTL
// private key, printed recovery shares, a KCTL certificate), created where the operator
// asked even though onionmailctl, run as root, drops to the key role's user before it
// touches the state (that user usually cannot write to e.g. /root).
//
// Contract:
//  - Prepare() runs BEFORE the privilege drop. It makes every path absolute, checks that
//    none exists (nothing is ever overwritten: kAlreadyExists), that no two are the same
//    and that each directory exists (kNotFound), so that a command fails before doing
//    anything irreversible (e.g. enrolling with peers) when an output could not be written.
//  - In WriterMode::kChild (the default when running as root) Prepare forks a writer
//    process that keeps the invoking identity and does nothing but create these files on
//    request over a socketpair; it exits when the OutputFiles is destroyed (or the parent
//    dies). kInProcess writes from the calling process.
//  - Write(i, bytes) creates path i exclusively with mode 0600 and publishes it durably
//    (store::WriteFileDurably: temporary file in the same directory, fsync, link, fsync
//    of the directory); a second Write of the same index is kAlreadyExists. Remove(i)
//    securely deletes a file this object wrote (store::SecureDelete).
//  - The bytes may be secret: the writer wipes its copy after use; errors never contain
//    them.
//  - ReadSecretFile reads an operator's input file (KCTL key, recovery shares) whole into
//    SecretBytes: a regular file of at most max_bytes (kInvalidArgument otherwise); sets
//    *loose_mode when group or others may read it, for the caller to warn.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::ctl {

enum class WriterMode { kAuto, kInProcess, kChild };

class OutputFiles {
 public:
  [[nodiscard]] static Result<std::unique_ptr<OutputFiles>> Prepare(
      const std::vector<std::string>& paths, WriterMode mode = WriterMode::kAuto);
  ~OutputFiles();
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;

  [[nodiscard]] Result<void> Write(size_t index, std::span<const uint8_t> bytes);
  [[nodiscard]] Result<void> Remove(size_t index);
  const std::string& path(size_t index) const { return paths_.at(index); }
  size_t size() const { return paths_.size(); }

 private:
  OutputFiles() = default;
  Result<void> Request(uint8_t op, size_t index, std::span<const uint8_t> bytes);

  std::vector<std::string> paths_;
  std::vector<bool> written_;
  int socket_ = -1;   // kChild: the parent's end
  pid_t child_ = -1;  // kChild: the writer
};

// The writer's operation on `path` (also used in process): 1 = create durably, 2 = remove.
[[nodiscard]] Result<void> DoOutputFileOp(uint8_t op, const std::string& path,
                                          std::span<const uint8_t> bytes);

[[nodiscard]] Result<SecretBytes> ReadSecretFile(const std::string& path, size_t max_bytes,
                                                 bool* loose_mode);

}  // namespace onionmail::ctl
