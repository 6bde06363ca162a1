// mmap(2) for the executables that link om_huge_page_mmap: serves libsodium's
// Argon2id memory with transparent huge pages (contract: crypto/huge_pages.h).
//
// Defining mmap here interposes it for every library of the executable (the
// executable comes first in the dynamic linker's lookup order); the C
// library's own internal calls (malloc, thread stacks) do not go through it.
// Outside a HugePageScope, and for any other kind of mapping, the call goes to
// the next definition (the C library's, or a sanitizer's interceptor) as it is.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "crypto/huge_pages.h"

namespace {

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);

MmapFn NextMmap() {
  static const auto next = reinterpret_cast<MmapFn>(::dlsym(RTLD_NEXT, "mmap"));
  return next;
}

// Exactly the mapping libsodium's Argon2id makes, and big enough for a huge page.
bool IsArgon2Memory(void* addr, size_t len, int flags, int fd, off_t offset, size_t huge) {
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
  return huge != 0 && addr == nullptr && fd == -1 && offset == 0 && flags == kFlags &&
         len >= huge && len <= SIZE_MAX / 2;
}

void* MapHuge(size_t len, int prot, int flags, size_t huge) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t rounded = (len + page - 1) / page * page;
  // Over-allocate by one huge page, then trim to an aligned range of `rounded`.
  auto* raw =
      static_cast<char*>(NextMmap()(nullptr, rounded + huge, prot, flags & ~MAP_POPULATE, -1, 0));
  if (raw == MAP_FAILED) return MAP_FAILED;
  const uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + huge - 1) & ~(uintptr_t{huge} - 1);
  auto* aligned = reinterpret_cast<char*>(start);
  const size_t head = static_cast<size_t>(aligned - raw);
  const size_t tail = huge - head;
  if (head != 0) ::munmap(raw, head);
  if (tail != 0) ::munmap(aligned + rounded, tail);
  // Without the advice (an old or a "never" kernel) the range keeps small pages.
  (void)::madvise(aligned, rounded, MADV_HUGEPAGE);
  return aligned;
}

}  // namespace

// Also looks up the next mmap, so that a sandboxed caller (key_main.cc, via
// HugePageMappingsLinked) does so before its filter.
extern "C" bool onionmail_huge_page_mmap_linked() { return NextMmap() != nullptr; }

extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) noexcept {
  if (onionmail::crypto::InHugePageScope()) {
    const size_t huge = onionmail::crypto::HugePageSize();
    if (IsArgon2Memory(addr, len, flags, fd, offset, huge)) return MapHuge(len, prot, flags, huge);
  }
  return NextMmap()(addr, len, prot, flags, fd, offset);
}
