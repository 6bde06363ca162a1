// Shared fixture of the Tpm2Token suites (tpm2_token_test, tpm2_tls_key_test,
// tpm2_resident_test): one real swtpm per suite, started by the suite's
// SetUpTestSuite through StartSwtpm (a missing swtpm is a failure, not a
// skip), with relaxed dictionary-attack limits and an auth file; every test
// opens its own token (swtpm serves one client at a time, so a test closes
// it before it calls the harness's direct helpers).
//
// Contract: Suite is the deriving fixture (CRTP), so each suite has its own
// swtpm and setup error. A test fails at SetUp when the suite's set-up did.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "hsm/tpm2/tpm2_token.h"
#include "tests/hsm/tpm2/swtpm_harness.h"

namespace onionmail::hsm::tpm2::testing {

template <typename Suite>
class SwtpmSuite : public ::testing::Test {
 protected:
  // Starts swtpm, relaxes its dictionary-attack limits and writes `auth` to
  // <dir>/auth (0600). Returns an error text, empty on success.
  static std::string StartSwtpm(const std::string& auth) {
    setenv("TSS2_LOG", "all+NONE", 1);  // expected failures would be noisy
    swtpm_ = new Swtpm();
    std::string error = swtpm_->Start();
    if (error.empty()) error = RelaxDictionaryAttack(swtpm_->tcti());
    if (error.empty()) {
      const std::string path = swtpm_->dir() + "/auth";
      std::ofstream(path, std::ios::binary) << auth;
      chmod(path.c_str(), 0600);
    }
    return error;
  }
  // Opens a token on `options` and provisions it (RSA key of `rsa_bits`).
  // Returns an error text, empty on success.
  static std::string OpenAndProvision(const Tpm2Options& options, int rsa_bits) {
    auto token = Tpm2Token::Open(options);
    if (!token.ok()) return "Open: " + token.error().message;
    auto provisioned = (*token)->Provision(rsa_bits);
    if (!provisioned.ok()) return "Provision: " + provisioned.error().message;
    return "";
  }
  static void TearDownTestSuite() {
    delete swtpm_;
    swtpm_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  // The suite's swtpm, key blobs in <dir>/<key_dir_name>, the auth file.
  static Tpm2Options Options(const std::string& key_dir_name = "keys") {
    Tpm2Options o;
    o.tcti = swtpm_->tcti();
    o.key_dir = swtpm_->dir() + "/" + key_dir_name;
    o.auth_file = swtpm_->dir() + "/auth";
    return o;
  }
  // nullptr (and a test failure) when the token does not open.
  static std::unique_ptr<Tpm2Token> OpenOrDie(const Tpm2Options& options = Options()) {
    auto token = Tpm2Token::Open(options);
    EXPECT_TRUE(token.ok()) << token.error().message;
    return token.ok() ? std::move(token).value() : nullptr;
  }

  static inline Swtpm* swtpm_ = nullptr;
  static inline std::string setup_error_;
};

}  // namespace onionmail::hsm::tpm2::testing
