// FreeSpace implementation; see free_space.h.
#include "store/free_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/log.h"

namespace onionmail::store {
namespace {

std::string MiB(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

}  // namespace

Result<void> FreeSpace::Check() {
  if (min_free_ == 0) return Ok();
  struct statvfs st {};
  const bool measured = ::statvfs(path_.c_str(), &st) == 0;
  const int err = errno;
  std::lock_guard<std::mutex> lock(mu_);
  if (!measured) {
    if (!statvfs_failed_logged_) {
      log::Warning("store", "cannot measure the free space of " + path_ + ": " +
                                std::strerror(err) + "; store.min_free_mib is not enforced");
      statvfs_failed_logged_ = true;
    }
    return Ok();
  }
  const uint64_t available = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  const bool below = available < min_free_;
  if (below != below_) {
    below_ = below;
    const std::string what = "free space on the state's filesystem " + MiB(available);
    if (below) {
      log::Warning("store", what + ", below store.min_free_mib (" + MiB(min_free_) +
                                "): refusing new mail (452 4.3.1) until there is more");
    } else {
      log::Info("store",
                what + ", store.min_free_mib " + MiB(min_free_) + ": accepting mail again");
    }
  }
  if (!below) return Ok();
  return MakeError(ErrorCode::kResourceExhausted, "insufficient system storage: " + MiB(available) +
                                                      " free, store.min_free_mib " +
                                                      MiB(min_free_));
}

}  // namespace onionmail::store
