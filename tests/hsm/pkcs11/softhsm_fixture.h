// Test fixture: a private SoftHSM2 instance per test (temp dir, softhsm2.conf,
// SOFTHSM2_CONF set in this process before the module is loaded, a token
// initialised with softhsm2-util, PINs in 0600 files), removed in TearDown.
// A missing SoftHSM2 is a test FAILURE, not a skip: CI must install it.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hsm/pkcs11/pkcs11_token.h"

namespace onionmail::hsm::softhsm {

inline std::string FindSoftHsmModule() {
  std::vector<std::string> candidates = {"/usr/lib/softhsm/libsofthsm2.so"};
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", ec)) {
    candidates.push_back(entry.path().string() + "/softhsm/libsofthsm2.so");
  }
  for (const std::string& c : candidates) {
    if (std::filesystem::exists(c)) return c;
  }
  return "";
}

// Runs argv[0] from PATH with stdout/stderr sent to /dev/null; exit status.
inline int RunQuiet(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* null = std::freopen("/dev/null", "w", stdout);
    (void)null;
    null = std::freopen("/dev/null", "w", stderr);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
}

class SoftHsmTest : public ::testing::Test {
 protected:
  static constexpr char kLabel[] = "om-test";
  static constexpr char kUserPin[] = "4711-user-pin";
  static constexpr char kSoPin[] = "4711-so-pin";

  void SetUp() override {
    module_ = FindSoftHsmModule();
    ASSERT_FALSE(module_.empty()) << "SoftHSM2 is not installed (apt-get install softhsm2)";
    char tmpl[] = "/tmp/om-softhsm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    tokens_ = dir_ + "/tokens";
    ASSERT_TRUE(std::filesystem::create_directory(tokens_));
    conf_ = dir_ + "/softhsm2.conf";
    WriteFile(conf_,
              "directories.tokendir = " + tokens_ +
                  "\nobjectstore.backend = file\nlog.level = ERROR\n"
                  "slots.removable = false\n",
              0600);
    ASSERT_EQ(::setenv("SOFTHSM2_CONF", conf_.c_str(), 1), 0);
    pin_file_ = dir_ + "/user.pin";
    WriteFile(pin_file_, std::string(kUserPin) + "\n", 0600);
    WriteFile(dir_ + "/so.pin", std::string(kSoPin) + "\n", 0600);
    // softhsm2-util takes the PINs only on argv (the tool's limitation).
    ASSERT_EQ(RunQuiet({"softhsm2-util", "--init-token", "--free", "--label", kLabel, "--so-pin",
                        kSoPin, "--pin", kUserPin}),
              0)
        << "softhsm2-util --init-token failed (is softhsm2 installed?)";
  }

  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  Pkcs11Options Options() const { return Pkcs11Options{module_, kLabel, pin_file_}; }

  std::unique_ptr<Pkcs11Token> OpenOrDie() {
    auto token = Pkcs11Token::Open(Options());
    EXPECT_TRUE(token.ok()) << (token.ok() ? "" : token.error().message);
    if (!token.ok()) return nullptr;
    return std::move(token).value();
  }

  std::unique_ptr<Pkcs11Token> OpenProvisioned() {
    auto token = OpenOrDie();
    if (token == nullptr) return nullptr;
    auto r = token->Provision(2048);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(token) : nullptr;
  }

  std::string module_;
  std::string dir_;
  std::string tokens_;
  std::string conf_;
  std::string pin_file_;
};

}  // namespace onionmail::hsm::softhsm
