// The thread mark and the huge page size behind crypto/huge_pages.h; the
// mmap(2) that uses them is huge_page_mmap.cc.
#include "crypto/huge_pages.h"

#include <cstdio>
#include <cstring>
#include <string>

// Defined by huge_page_mmap.cc, in the executables that link it.
extern "C" bool onionmail_huge_page_mmap_linked() __attribute__((weak));

namespace onionmail::crypto {

namespace {

thread_local int scope_depth = 0;

// The first line of a small sysfs file, or "" if it cannot be read.
std::string ReadLine(const char* path) {
  std::FILE* f = std::fopen(path, "re");
  if (f == nullptr) return "";
  char buf[128] = {};
  const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  return got ? std::string(buf, ::strnlen(buf, sizeof buf)) : "";
}

size_t ReadHugePageSize() {
  // The selected mode is in brackets: "always [madvise] never".
  const std::string mode = ReadLine("/sys/kernel/mm/transparent_hugepage/enabled");
  if (mode.empty() || mode.find("[never]") != std::string::npos) return 0;
  const std::string size = ReadLine("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
  unsigned long long bytes = 0;
  if (std::sscanf(size.c_str(), "%llu", &bytes) != 1) return 0;
  // A power of two, at least a 4 KiB page and at most 1 GiB, or nothing.
  if (bytes < 4096 || bytes > (1ULL << 30) || (bytes & (bytes - 1)) != 0) return 0;
  return static_cast<size_t>(bytes);
}

}  // namespace

HugePageScope::HugePageScope() { ++scope_depth; }
HugePageScope::~HugePageScope() { --scope_depth; }

bool InHugePageScope() { return scope_depth > 0; }

size_t HugePageSize() {
  static const size_t size = ReadHugePageSize();
  return size;
}

bool HugePageMappingsLinked() {
  return onionmail_huge_page_mmap_linked != nullptr && onionmail_huge_page_mmap_linked();
}

}  // namespace onionmail::crypto
