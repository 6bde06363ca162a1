// The thread mark and the huge page size behind crypto/huge_pages.h; the
// mmap(2) that uses them is huge_page_mmap.cc.
#include "crypto/huge_pages.h"

#include <charconv>
#include <cstdint>
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

}  // namespace

HugePageScope::HugePageScope() { ++scope_depth; }
HugePageScope::~HugePageScope() { --scope_depth; }

bool InHugePageScope() { return scope_depth > 0; }

size_t ParseHugePageSize(std::string_view mode, std::string_view size) {
  // The selected mode is in brackets.
  if (mode.empty() || mode.find("[never]") != std::string_view::npos) return 0;
  uint64_t bytes = 0;
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), bytes);
  if (ec != std::errc() || end == size.data()) return 0;
  if (bytes < 4096 || bytes > (uint64_t{1} << 30) || (bytes & (bytes - 1)) != 0) return 0;
  return static_cast<size_t>(bytes);
}

size_t HugePageSize() {
  static const size_t size =
      ParseHugePageSize(ReadLine("/sys/kernel/mm/transparent_hugepage/enabled"),
                        ReadLine("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"));
  return size;
}

bool HugePageMappingsLinked() {
  return onionmail_huge_page_mmap_linked != nullptr && onionmail_huge_page_mmap_linked();
}

}  // namespace onionmail::crypto
