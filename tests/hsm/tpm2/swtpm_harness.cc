#include "tests/hsm/tpm2/swtpm_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

namespace onionmail::hsm::tpm2::testing {
namespace {

int BindLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A port P with P+1 also free (the swtpm TCTI assumes ctrl = P+1), picked at
// random below the kernel's ephemeral range (32768 and up by default): a port
// from bind(0) is an ephemeral one, which any process's next outgoing
// connection or bind(0) may take before swtpm binds it (seen in CI with
// ctest -j2: "Could not open TCP socket: Address already in use").
int PickPortPair() {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(10000 / 2, 32000 / 2 - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = 2 * pick(rng);
    const int a = BindLoopback(port);
    if (a < 0) continue;
    const int b = BindLoopback(port + 1);
    close(a);
    if (b >= 0) {
      close(b);
      return port;
    }
  }
  return 0;
}

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

std::string RcText(const char* what, TSS2_RC rc) {
  return std::string(what) + ": " + Tss2_RC_Decode(rc);
}

// Runs fn(ctx) on a fresh ESAPI connection.
template <typename F>
std::string WithEsys(const std::string& tcti, F fn) {
  TSS2_TCTI_CONTEXT* t = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &t);
  if (rc != TSS2_RC_SUCCESS) return RcText("TctiLdr_Initialize", rc);
  ESYS_CONTEXT* ctx = nullptr;
  rc = Esys_Initialize(&ctx, t, nullptr);
  std::string err;
  if (rc != TSS2_RC_SUCCESS) {
    err = RcText("Esys_Initialize", rc);
  } else {
    err = fn(ctx);
    Esys_Finalize(&ctx);
  }
  Tss2_TctiLdr_Finalize(&t);
  return err;
}

}  // namespace

Swtpm::~Swtpm() {
  Stop(SIGTERM);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string Swtpm::tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }

std::string Swtpm::Start() {
  char templ[] = "/tmp/om-swtpm-XXXXXX";
  if (mkdtemp(templ) == nullptr) return "mkdtemp failed";
  dir_ = templ;
  std::filesystem::create_directory(dir_ + "/state");
  std::string error;
  for (int attempt = 0; attempt < 5; ++attempt) {  // another process may win a port race
    port_ = PickPortPair();
    if (port_ == 0) return "no free port pair";
    error = Launch();
    if (error.find("Address already in use") == std::string::npos) return error;
  }
  return error;
}

std::string Swtpm::Restart() {
  Stop(SIGTERM);
  return Launch();
}

std::string Swtpm::Launch() {
  const std::string server = "type=tcp,port=" + std::to_string(port_) + ",bindaddr=127.0.0.1";
  const std::string ctrl = "type=tcp,port=" + std::to_string(port_ + 1) + ",bindaddr=127.0.0.1";
  const std::string state = "dir=" + dir_ + "/state";
  const std::string log = "file=" + dir_ + "/swtpm.log,level=1";
  std::vector<std::string> args = {"swtpm",
                                   "socket",
                                   "--tpm2",
                                   "--server",
                                   server,
                                   "--ctrl",
                                   ctrl,
                                   "--tpmstate",
                                   state,
                                   "--flags",
                                   "not-need-init,startup-clear",
                                   "--log",
                                   log};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return "fork failed";
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a killed test
    execvp("swtpm", argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream in(dir_ + "/swtpm.log");
      std::stringstream ss;
      ss << in.rdbuf();
      return "swtpm exited (status " + std::to_string(status) +
             (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ", swtpm not installed" : "") +
             "): " + ss.str();
    }
    if (CanConnect(port_ + 1) && CanConnect(port_)) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "swtpm did not start listening on port " + std::to_string(port_);
}

std::string Swtpm::HashIntoPcr17(const std::string& data) const {
  if (pid_ <= 0) return "swtpm is not running";
  const std::string where = "127.0.0.1:" + std::to_string(port_ + 1);
  std::vector<std::string> args = {"swtpm_ioctl", "--tcp", where, "-h", data};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    execvp("swtpm_ioctl", argv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return "waitpid failed";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "swtpm_ioctl -h failed (status " + std::to_string(status) +
           (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ", swtpm_ioctl not installed" : "") +
           ")";
  }
  return "";
}

void Swtpm::Stop(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string RelaxDictionaryAttack(const std::string& tcti) {
  return SetDictionaryAttack(tcti, 1000, 1);
}

std::string SetDictionaryAttack(const std::string& tcti, uint32_t max_tries, uint32_t recovery_s) {
  return WithEsys(tcti, [&](ESYS_CONTEXT* ctx) -> std::string {
    TSS2_RC rc = Esys_DictionaryAttackLockReset(ctx, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD,
                                                ESYS_TR_NONE, ESYS_TR_NONE);
    if (rc != TSS2_RC_SUCCESS) return RcText("DictionaryAttackLockReset", rc);
    rc = Esys_DictionaryAttackParameters(ctx, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, max_tries, recovery_s, 1);
    if (rc != TSS2_RC_SUCCESS) return RcText("DictionaryAttackParameters", rc);
    return "";
  });
}

int LoadedHandleCount(const std::string& tcti) {
  int total = 0;
  std::string err = WithEsys(tcti, [&](ESYS_CONTEXT* ctx) -> std::string {
    for (TPM2_HANDLE first : {TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST}) {
      TPMI_YES_NO more = TPM2_NO;
      TPMS_CAPABILITY_DATA* data = nullptr;
      TSS2_RC rc = Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                      TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES, &more, &data);
      if (rc != TSS2_RC_SUCCESS) return RcText("GetCapability", rc);
      total += static_cast<int>(data->data.handles.count);
      Esys_Free(data);
    }
    return "";
  });
  return err.empty() ? total : -1;
}

int LockoutCounter(const std::string& tcti) {
  int counter = -1;
  std::string err = WithEsys(tcti, [&](ESYS_CONTEXT* ctx) -> std::string {
    TPMI_YES_NO more = TPM2_NO;
    TPMS_CAPABILITY_DATA* data = nullptr;
    TSS2_RC rc =
        Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_LOCKOUT_COUNTER, 1, &more, &data);
    if (rc != TSS2_RC_SUCCESS) return RcText("GetCapability", rc);
    const TPML_TAGGED_TPM_PROPERTY& props = data->data.tpmProperties;
    if (props.count >= 1 && props.tpmProperty[0].property == TPM2_PT_LOCKOUT_COUNTER) {
      counter = static_cast<int>(props.tpmProperty[0].value);
    }
    Esys_Free(data);
    return "";
  });
  return err.empty() ? counter : -1;
}

std::string ExtendPcr(const std::string& tcti, int pcr) {
  return WithEsys(tcti, [&](ESYS_CONTEXT* ctx) -> std::string {
    ESYS_TR handle = ESYS_TR_PCR0 + static_cast<ESYS_TR>(pcr);
    TPML_DIGEST_VALUES values{};
    values.count = 1;
    values.digests[0].hashAlg = TPM2_ALG_SHA256;
    values.digests[0].digest.sha256[31] = 1;
    TSS2_RC rc =
        Esys_PCR_Extend(ctx, handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values);
    return rc == TSS2_RC_SUCCESS ? "" : RcText("PCR_Extend", rc);
  });
}

}  // namespace onionmail::hsm::tpm2::testing
