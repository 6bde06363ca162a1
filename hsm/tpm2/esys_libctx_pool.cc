// Reuse of tss2-esys's OpenSSL library contexts: see esys_libctx_pool.h.
#include "hsm/tpm2/esys_libctx_pool.h"

#include <dlfcn.h>
#include <link.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <utility>
#include <vector>

namespace onionmail::hsm::tpm2 {
namespace {

using NewFn = OSSL_LIB_CTX* (*)();
using FreeFn = void (*)(OSSL_LIB_CTX*);

// libcrypto's own definition of `name` (the next one after this executable).
void* Real(const char* name) {
  void* f = ::dlvsym(RTLD_NEXT, name, "OPENSSL_3.0.0");
  if (f == nullptr) f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) {  // no libcrypto behind us: nothing can work
    std::fprintf(stderr, "esys_libctx_pool: libcrypto's %s not found\n", name);
    std::abort();
  }
  return f;
}
NewFn RealNew() {
  static const NewFn f = reinterpret_cast<NewFn>(Real("OSSL_LIB_CTX_new"));
  return f;
}
FreeFn RealFree() {
  static const FreeFn f = reinterpret_cast<FreeFn>(Real("OSSL_LIB_CTX_free"));
  return f;
}

struct Pool {
  std::atomic<bool> enabled{false};
  std::mutex mu;
  std::vector<std::pair<uintptr_t, uintptr_t>> esys_code;  // [begin, end), set before enabled
  std::vector<OSSL_LIB_CTX*> idle;
  std::unordered_set<OSSL_LIB_CTX*> lent;
  uint64_t created = 0, reused = 0, freed = 0;
};
// Never destroyed: OpenSSL's exit handlers may free contexts after static
// destructors ran.
Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

bool InEsysCode(const Pool& pool, const void* address) {
  const auto a = reinterpret_cast<uintptr_t>(address);
  for (const auto& [begin, end] : pool.esys_code) {
    if (a >= begin && a < end) return true;
  }
  return false;
}

// The executable segments of the loaded libtss2-esys.
int CollectEsysCode(dl_phdr_info* info, size_t, void* out) {
  if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "/libtss2-esys.so") == nullptr) {
    return 0;
  }
  auto* ranges = static_cast<std::vector<std::pair<uintptr_t, uintptr_t>>*>(out);
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    ranges->emplace_back(begin, begin + ph.p_memsz);
  }
  return 1;
}

// At exit, before OpenSSL's own clean-up: frees the idle contexts (their
// DRBGs' state is wiped with them) and turns the pool off, so that a context
// given back later goes to libcrypto.
void FreeIdleAtExit() {
  Pool& pool = ThePool();
  std::vector<OSSL_LIB_CTX*> idle;
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    pool.enabled.store(false, std::memory_order_release);
    idle.swap(pool.idle);
    pool.lent.clear();
  }
  for (OSSL_LIB_CTX* ctx : idle) RealFree()(ctx);
}

}  // namespace

bool EnableEsysLibCtxPool() {
  Pool& pool = ThePool();
  if (pool.enabled.load(std::memory_order_acquire)) return true;
  // Interposition in effect: the process-wide definition is this file's.
  if (::dlsym(RTLD_DEFAULT, "OSSL_LIB_CTX_new") != reinterpret_cast<void*>(&OSSL_LIB_CTX_new) ||
      ::dlsym(RTLD_DEFAULT, "OSSL_LIB_CTX_free") != reinterpret_cast<void*>(&OSSL_LIB_CTX_free)) {
    return false;
  }
  std::lock_guard<std::mutex> lock(pool.mu);
  if (pool.enabled.load(std::memory_order_relaxed)) return true;
  std::vector<std::pair<uintptr_t, uintptr_t>> code;
  ::dl_iterate_phdr(CollectEsysCode, &code);
  if (code.empty()) return false;
  // OpenSSL registers its exit handler at its first initialisation; ours,
  // registered after it, runs before it.
  if (OPENSSL_init_crypto(0, nullptr) != 1 || std::atexit(FreeIdleAtExit) != 0) return false;
  pool.esys_code = std::move(code);
  pool.enabled.store(true, std::memory_order_release);
  return true;
}

LibCtxPoolStats EsysLibCtxPoolStats() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  LibCtxPoolStats s;
  s.enabled = pool.enabled.load(std::memory_order_relaxed);
  s.created = pool.created;
  s.reused = pool.reused;
  s.freed = pool.freed;
  s.lent = pool.lent.size();
  s.idle = pool.idle.size();
  return s;
}

}  // namespace onionmail::hsm::tpm2

using onionmail::hsm::tpm2::kMaxIdle;
using onionmail::hsm::tpm2::Pool;
using onionmail::hsm::tpm2::RealFree;
using onionmail::hsm::tpm2::RealNew;
using onionmail::hsm::tpm2::ThePool;

// noinline: the return address must be the caller's, in another object.
extern "C" __attribute__((noinline)) OSSL_LIB_CTX* OSSL_LIB_CTX_new(void) {
  const void* caller = __builtin_return_address(0);
  Pool& pool = ThePool();
  if (!pool.enabled.load(std::memory_order_acquire) ||
      !onionmail::hsm::tpm2::InEsysCode(pool, caller)) {
    return RealNew()();
  }
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.idle.empty()) {
      OSSL_LIB_CTX* ctx = pool.idle.back();
      pool.idle.pop_back();
      pool.lent.insert(ctx);
      ++pool.reused;
      return ctx;
    }
  }
  OSSL_LIB_CTX* ctx = RealNew()();  // outside the lock: it takes a while
  if (ctx == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.lent.insert(ctx);
  ++pool.created;
  return ctx;
}

extern "C" void OSSL_LIB_CTX_free(OSSL_LIB_CTX* ctx) {
  Pool& pool = ThePool();
  if (ctx != nullptr && pool.enabled.load(std::memory_order_acquire)) {
    std::unique_lock<std::mutex> lock(pool.mu);
    if (pool.lent.erase(ctx) == 1) {
      if (pool.idle.size() < kMaxIdle) {
        pool.idle.push_back(ctx);
        return;
      }
      ++pool.freed;
    }
  }
  RealFree()(ctx);
}
