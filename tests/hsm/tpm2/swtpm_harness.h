// Test harness: a real swtpm process on free loopback ports, in a temp dir,
// plus a few direct ESAPI helpers (dictionary-attack reset, handle counts,
// PCR extend). swtpm serves one TCP client at a time: call the helpers only
// while no Tpm2Token is open on the same instance.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace onionmail::hsm::tpm2::testing {

class Swtpm {
 public:
  Swtpm() = default;
  ~Swtpm();  // stops swtpm and removes the temp dir
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;

  // Creates the temp dir, picks ports, starts swtpm and waits until it
  // answers. Returns an error text, empty on success.
  std::string Start();
  // Starts swtpm again on the same port and state dir.
  std::string Restart();
  // Sends `sig` (SIGTERM or SIGKILL) and reaps the process.
  void Stop(int sig);
  // Runs a DRTM hash sequence over `data` through swtpm's control channel
  // (swtpm_ioctl -h): PCR 17 is reset and extended while a client stays
  // connected on the server port. Returns an error text, empty on success.
  std::string HashIntoPcr17(const std::string& data) const;

  std::string tcti() const;
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }

 private:
  std::string Launch();
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Each returns an error text, empty on success.
// Clears the lockout and raises MAX_AUTH_FAIL to 1000 (recovery 1 s).
std::string RelaxDictionaryAttack(const std::string& tcti);
// Clears the lockout and sets MAX_AUTH_FAIL and the recovery interval.
std::string SetDictionaryAttack(const std::string& tcti, uint32_t max_tries, uint32_t recovery_s);
// Number of loaded transient objects plus loaded sessions (-1 on error).
int LoadedHandleCount(const std::string& tcti);
// The dictionary-attack failure count (TPM2_PT_LOCKOUT_COUNTER; -1 on error).
int LockoutCounter(const std::string& tcti);
// Extends SHA-256 PCR `pcr` with a fixed digest.
std::string ExtendPcr(const std::string& tcti, int pcr);

}  // namespace onionmail::hsm::tpm2::testing
