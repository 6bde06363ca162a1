// Transparent huge pages for Argon2id's memory.
//
// Why: libsodium maps the memory of every Argon2id hash (m_cost: 64 MiB by
// default) anew, with mmap(MAP_POPULATE). With 4 KiB pages those are 16,384
// fresh pages per hash and a TLB miss for almost every block the hash reads;
// on the virtual machine of docs/benchmarks-history.md ("Twelfth session") a hash at
// the default parameters took 164 ms, against 76 ms with 2 MiB pages. Linux
// gives transparent huge pages only to memory advised MADV_HUGEPAGE (Debian's
// default mode, "madvise"), and libsodium does not advise.
//
// Contract:
// - HugePageScope marks the calling thread, for its lifetime, as computing an
//   Argon2id hash; Argon2idDerive opens one around libsodium's call. Scopes
//   nest.
// - An executable that links om_huge_page_mmap (the key role does) has an
//   mmap(2) that, on a marked thread, serves the one kind of mapping libsodium
//   makes there (no address hint, no file, private, anonymous, MAP_POPULATE,
//   at least HugePageSize() bytes) with a mapping of exactly that length at a
//   huge-page-aligned address, advised MADV_HUGEPAGE and not populated (it
//   then faults a huge page at a time). munmap(addr, len) releases all of it.
//   Every other call, and every call when HugePageSize() is 0, goes unchanged
//   to the C library's mmap. Executables that do not link it are unchanged.
// - HugePageSize() reads sysfs on its first call, so a sandboxed process
//   calls it before its seccomp filter (key_main.cc does); later calls only
//   read the cached value.
// - The memory's contents and lifetime stay libsodium's; only the page size
//   changes. The mmap path neither allocates nor logs (HugePageSize's first
//   call, at start-up, reads two short strings), and nothing here touches a
//   secret.
#pragma once

#include <cstddef>
#include <string_view>

namespace onionmail::crypto {

class HugePageScope {
 public:
  HugePageScope();
  ~HugePageScope();
  HugePageScope(const HugePageScope&) = delete;
  HugePageScope& operator=(const HugePageScope&) = delete;
};

// Whether the calling thread is inside a HugePageScope.
bool InHugePageScope();

// The kernel's transparent huge page size in bytes (hpage_pmd_size), or 0 if
// the kernel has none or its mode is "never".
size_t HugePageSize();

// HugePageSize's reading of the two sysfs files: `mode` is the first line of
// transparent_hugepage/enabled ("always [madvise] never"), `size` that of
// hpage_pmd_size. 0 when the selected mode is "never", a file was empty or the
// size is not a power of two between 4 KiB and 1 GiB.
size_t ParseHugePageSize(std::string_view mode, std::string_view size);

// Whether this executable links om_huge_page_mmap (for the start-up log).
bool HugePageMappingsLinked();

}  // namespace onionmail::crypto
