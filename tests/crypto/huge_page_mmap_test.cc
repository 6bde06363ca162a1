// The key role's mmap(2) for Argon2id memory (crypto/huge_pages.h): this test
// executable links om_huge_page_mmap, as onionmail-key does.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/argon2id.h"
#include "crypto/huge_pages.h"
#include "tests/crypto/under_asan.h"

namespace onionmail::crypto {
namespace {

constexpr int kArgon2Flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// The /proc/self/smaps entry of the mapping that contains `addr`: its range and VmFlags.
struct Vma {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::string flags;
};

Vma VmaContaining(const void* addr) {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  Vma vma;
  bool in = false;
  while (std::getline(smaps, line)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      in = a >= lo && a < hi;
      if (in) vma = {static_cast<uintptr_t>(lo), static_cast<uintptr_t>(hi), ""};
    } else if (in && line.rfind("VmFlags:", 0) == 0) {
      vma.flags = line.substr(8) + " ";
      return vma;
    }
  }
  return vma;
}

// How many of the pages of [addr, addr + len) are resident.
size_t ResidentPages(void* addr, size_t len) {
  std::vector<unsigned char> vec((len + kPage - 1) / kPage);
  if (::mincore(addr, len, vec.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

long MinorFaults() {
  struct rusage ru = {};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

TEST(HugePageMmapTest, TheExecutableThatLinksItSaysSo) { EXPECT_TRUE(HugePageMappingsLinked()); }

TEST(HugePageMmapTest, TheHugePageSizeIsZeroUnlessTheKernelOffersOne) {
  EXPECT_EQ(ParseHugePageSize("always [madvise] never\n", "2097152\n"), 2u << 20);
  EXPECT_EQ(ParseHugePageSize("[always] madvise never\n", "2097152\n"), 2u << 20);
  EXPECT_EQ(ParseHugePageSize("always madvise [never]\n", "2097152\n"), 0u);
  EXPECT_EQ(ParseHugePageSize("", "2097152\n"), 0u);                     // no THP in this kernel
  EXPECT_EQ(ParseHugePageSize("[madvise]", ""), 0u);                     // no size file
  EXPECT_EQ(ParseHugePageSize("[madvise]", "3145728\n"), 0u);            // not a power of two
  EXPECT_EQ(ParseHugePageSize("[madvise]", "2048\n"), 0u);               // below a page
  EXPECT_EQ(ParseHugePageSize("[madvise]", "2147483648\n"), 0u);         // above 1 GiB
  EXPECT_EQ(ParseHugePageSize("[madvise]", "536870912\n"), 512u << 20);  // arm64, 64 KiB pages
}

TEST(HugePageMmapTest, ScopesMarkTheThreadAndNest) {
  EXPECT_FALSE(InHugePageScope());
  {
    const HugePageScope outer;
    {
      const HugePageScope inner;
      EXPECT_TRUE(InHugePageScope());
    }
    EXPECT_TRUE(InHugePageScope());
  }
  EXPECT_FALSE(InHugePageScope());
}

TEST(HugePageMmapTest, OutsideAScopeAPopulatedMappingIsMadeAsAsked) {
  const size_t len = 8u << 20;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, kArgon2Flags, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(ResidentPages(p, len), len / kPage);  // MAP_POPULATE kept
  EXPECT_EQ(VmaContaining(p).flags.find(" hg "), std::string::npos);
  ASSERT_EQ(::munmap(p, len), 0);
}

TEST(HugePageMmapTest, InAScopeArgon2MemoryIsAlignedAdvisedExactAndReleasedWhole) {
  const size_t huge = HugePageSize();
  if (huge == 0) GTEST_SKIP() << "no transparent huge pages on this kernel";
  const size_t len = 4 * huge + 100;  // not a whole number of pages
  const size_t rounded = (len + kPage - 1) / kPage * kPage;
  void* p = nullptr;
  {
    const HugePageScope scope;
    p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, kArgon2Flags, -1, 0);
  }
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % huge, 0u);
  const Vma vma = VmaContaining(p);
  EXPECT_EQ(vma.start, reinterpret_cast<uintptr_t>(p));
  EXPECT_EQ(vma.end, reinterpret_cast<uintptr_t>(p) + rounded);       // the extra huge page trimmed
  EXPECT_NE(vma.flags.find(" hg "), std::string::npos) << vma.flags;  // MADV_HUGEPAGE
  EXPECT_EQ(ResidentPages(p, len), 0u);  // not populated: faults take a huge page at a time
  static_cast<volatile char*>(p)[len - 1] = 1;
  ASSERT_EQ(::munmap(p, len), 0);
  EXPECT_EQ(VmaContaining(p).end, 0u);
  EXPECT_EQ(VmaContaining(static_cast<char*>(p) + rounded - 1).end, 0u);
}

TEST(HugePageMmapTest, InAScopeOtherMappingsAreMadeAsAsked) {
  const size_t huge = HugePageSize();
  const HugePageScope scope;
  // Smaller than a huge page: populated, not advised.
  const size_t small = huge != 0 ? huge / 2 : 1u << 20;
  void* p = ::mmap(nullptr, small, PROT_READ | PROT_WRITE, kArgon2Flags, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(ResidentPages(p, small), small / kPage);
  EXPECT_EQ(VmaContaining(p).flags.find(" hg "), std::string::npos);
  ASSERT_EQ(::munmap(p, small), 0);
  // Large but without MAP_POPULATE (not libsodium's kind): not advised, not populated.
  const size_t large = 8u << 20;
  void* q = ::mmap(nullptr, large, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(q, MAP_FAILED);
  EXPECT_EQ(VmaContaining(q).flags.find(" hg "), std::string::npos);
  EXPECT_EQ(ResidentPages(q, large), 0u);
  ASSERT_EQ(::munmap(q, large), 0);
}

SecretBytes Pw(std::string_view s) { return SecretBytes(SecretAccess::Grant(), s); }
const std::vector<uint8_t> kSalt = {'0', '1', '2', '3', '4', '5', '6', '7',
                                    '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

TEST(HugePageMmapTest, DefaultArgon2idTakesHugePagesAndKeepsItsOutput) {
  if (HugePageSize() != 2u << 20) GTEST_SKIP() << "transparent huge pages are not 2 MiB here";
  ASSERT_STREQ(Argon2idImplementation(Argon2Params{}, kSalt.size()), "libsodium");
  const long before = MinorFaults();
  auto fast = Argon2idDerive(Pw("hunter2"), kSalt, Argon2Params{}, 32);
  const long faults = MinorFaults() - before;
  auto ref = Argon2idDeriveReference(Pw("hunter2"), kSalt, Argon2Params{}, 32);
  ASSERT_TRUE(fast.ok() && ref.ok());
  EXPECT_TRUE(fast->Equals(*ref));
  // 64 MiB in 4 KiB pages is 16,384 faults; in 2 MiB pages 32 (more where the
  // kernel could not find a free huge page).
  EXPECT_LT(faults, 4096) << "64 MiB of Argon2id memory took " << faults << " page faults";
}

TEST(HugePageMmapTest, MemoryRefusedStillMakesArgon2idResourceExhausted) {
  if (kUnderAsan) GTEST_SKIP() << "AddressSanitizer's shadow memory does not mix with RLIMIT_AS";
  if (HugePageSize() == 0) GTEST_SKIP() << "no transparent huge pages on this kernel";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const struct rlimit lim = {rlim_t{1} << 30, rlim_t{1} << 30};  // 1 GiB
    if (::setrlimit(RLIMIT_AS, &lim) != 0) ::_exit(102);
    auto key = Argon2idDerive(Pw("pw"), kSalt, {1, 2u << 20, 1}, 32);  // 2 GiB
    ::_exit(key.ok() ? 100 : static_cast<int>(key.error().code));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(ErrorCode::kResourceExhausted));
}

}  // namespace
}  // namespace onionmail::crypto
