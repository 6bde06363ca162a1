// Backend environments for the hsm::Token conformance suite: each one builds
// fresh, private devices in a temp dir and opens them through the public
// factories (OpenPkcs11Token / OpenTpm2Token) only.
//
// Contract of a backend environment B:
//  - B::kName names the backend in test names.
//  - std::string Create(): sets up device 0 (and whatever must exist before
//    the backend's library is first used); an error text, empty on success.
//    A missing SoftHSM2 or swtpm is an error, never a skip.
//  - std::string PrepareDevice(int index): makes device `index` (0 or 1)
//    ready to open; cheap and idempotent once done.
//  - Result<std::unique_ptr<Token>> Open(int index): a new Token on that
//    device. swtpm serves one client at a time, so at most one Token per
//    device may be open; two devices may be open together.
//  - The destructor stops the devices and removes the temp dir.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "hsm/token.h"
#include "tests/hsm/tpm2/swtpm_harness.h"

namespace onionmail::hsm::conformance {

inline void WritePrivateFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), 0600);
}

// Runs argv[0] from PATH with stdout/stderr sent to /dev/null; exit status
// (127: not installed, -1: could not run).
inline int RunQuiet(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* null = std::freopen("/dev/null", "w", stdout);
    null = std::freopen("/dev/null", "w", stderr);
    (void)null;
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

// SoftHSM2: one token directory (SOFTHSM2_CONF is process-wide and read
// when the module is initialized), two tokens with their own labels and
// keys. Both are initialized up front: SoftHSM2 does not reliably see tokens
// created after the module was initialized in this process.
class SoftHsm2Backend {
 public:
  static constexpr char kName[] = "SoftHsm2";

  ~SoftHsm2Backend() {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::string Create() {
    std::vector<std::string> candidates = {"/usr/lib/softhsm/libsofthsm2.so"};
    std::error_code dir_ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib", dir_ec)) {
      candidates.push_back(entry.path().string() + "/softhsm/libsofthsm2.so");
    }
    for (const std::string& c : candidates) {
      if (std::filesystem::exists(c)) {
        module_ = c;
        break;
      }
    }
    if (module_.empty()) return "SoftHSM2 is not installed (apt-get install softhsm2)";
    char tmpl[] = "/tmp/om-conf-softhsm-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    const std::string tokens = dir_ + "/tokens";
    std::error_code ec;
    if (!std::filesystem::create_directory(tokens, ec)) return "cannot create " + tokens;
    const std::string conf = dir_ + "/softhsm2.conf";
    WritePrivateFile(conf, "directories.tokendir = " + tokens +
                               "\nobjectstore.backend = file\nlog.level = ERROR\n"
                               "slots.removable = false\n");
    if (::setenv("SOFTHSM2_CONF", conf.c_str(), 1) != 0) return "setenv SOFTHSM2_CONF failed";
    for (int i = 0; i < 2; ++i) {
      WritePrivateFile(PinFile(i), UserPin(i) + "\n");
      WritePrivateFile(dir_ + "/so-" + std::to_string(i) + ".pin", SoPin(i) + "\n");
      // softhsm2-util takes the PINs only on argv (the tool's limitation).
      const int rc = RunQuiet({"softhsm2-util", "--init-token", "--free", "--label", Label(i),
                               "--so-pin", SoPin(i), "--pin", UserPin(i)});
      if (rc != 0) {
        return "softhsm2-util --init-token failed with status " + std::to_string(rc) +
               (rc == 127 ? " (softhsm2-util is not installed)" : "");
      }
    }
    return "";
  }

  std::string PrepareDevice(int /*index*/) { return ""; }  // both exist after Create()

  Result<std::unique_ptr<Token>> Open(int index) {
    return OpenPkcs11Token(Pkcs11Options{module_, Label(index), PinFile(index)});
  }

 private:
  static std::string Label(int i) { return "om-conformance-" + std::to_string(i); }
  static std::string UserPin(int i) { return "user-pin-" + std::to_string(i) + "-4711"; }
  static std::string SoPin(int i) { return "so-pin-" + std::to_string(i) + "-4711"; }
  std::string PinFile(int i) const { return dir_ + "/user-" + std::to_string(i) + ".pin"; }

  std::string module_;
  std::string dir_;
};

// swtpm: one swtpm process per device on free loopback ports, each with its
// own state dir, key dir and auth file. Device 1 starts only when asked for.
class SwtpmBackend {
 public:
  static constexpr char kName[] = "Swtpm";

  std::string Create() {
    ::setenv("TSS2_LOG", "all+NONE", 1);  // expected failures would be noisy
    return PrepareDevice(0);
  }

  std::string PrepareDevice(int index) {
    auto& tpm = tpms_.at(static_cast<size_t>(index));
    if (tpm != nullptr) return "";
    tpm = std::make_unique<tpm2::testing::Swtpm>();
    std::string err = tpm->Start();
    if (!err.empty()) return "swtpm: " + err;
    WritePrivateFile(tpm->dir() + "/auth", "conformance auth " + std::to_string(index) + "\n");
    return "";
  }

  Result<std::unique_ptr<Token>> Open(int index) {
    const auto& tpm = tpms_.at(static_cast<size_t>(index));
    if (tpm == nullptr) return Error{ErrorCode::kFailedPrecondition, "device not prepared"};
    Tpm2Options o;
    o.tcti = tpm->tcti();
    o.key_dir = tpm->dir() + "/keys";
    o.auth_file = tpm->dir() + "/auth";
    return OpenTpm2Token(o);
  }

 private:
  std::array<std::unique_ptr<tpm2::testing::Swtpm>, 2> tpms_;
};

}  // namespace onionmail::hsm::conformance
