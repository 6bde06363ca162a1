// Test-only PKCS#11 module: forwards every call to the real module named by
// OM_FLAKY_P11_REAL (SoftHSM2 in the tests), except that the first
// OM_FLAKY_P11_FAILS calls of C_Login (default 0) return
// OM_FLAKY_P11_RV (default CKR_GENERAL_ERROR) without reaching the real
// module, as SoftHSM2 does when it cannot read its token file at that
// moment. om_flaky_login_calls() tells a test how many C_Login calls came
// in; om_flaky_reset() starts counting again. Never built into the server.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cstdlib>

namespace {

CK_FUNCTION_LIST g_list;
CK_C_Login g_real_login = nullptr;
std::atomic<int> g_login_calls{0};

unsigned long EnvNumber(const char* name, unsigned long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoul(v, nullptr, 0) : fallback;
}

CK_RV FlakyLogin(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                 CK_ULONG pin_len) {
  const int call = ++g_login_calls;
  if (static_cast<unsigned long>(call) <= EnvNumber("OM_FLAKY_P11_FAILS", 0)) {
    return EnvNumber("OM_FLAKY_P11_RV", CKR_GENERAL_ERROR);
  }
  return g_real_login(session, user, pin, pin_len);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int om_flaky_login_calls() { return g_login_calls; }
__attribute__((visibility("default"))) void om_flaky_reset() { g_login_calls = 0; }

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (out == nullptr) return CKR_ARGUMENTS_BAD;
  if (g_real_login == nullptr) {
    const char* path = std::getenv("OM_FLAKY_P11_REAL");
    void* real = path != nullptr ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
    if (real == nullptr) return CKR_GENERAL_ERROR;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(real, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR list = nullptr;
    if (get == nullptr || get(&list) != CKR_OK || list == nullptr) return CKR_GENERAL_ERROR;
    g_list = *list;
    g_real_login = list->C_Login;
    g_list.C_Login = FlakyLogin;
  }
  *out = &g_list;
  return CKR_OK;
}

}  // extern "C"
