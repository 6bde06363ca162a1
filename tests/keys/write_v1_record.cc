// om-test-v1-record CONFIG USER: writes a user record of version 1 for a new
// user USER of the (unenrolled) state directory that CONFIG names, sealed by
// its real key store (file, SoftHSM2 or swtpm), as servers before version 2
// wrote them (docs/store.md). The SMTP and the POP3 password are read from
// stdin, one per line, never from argv. As root it first drops to the key
// role's user, as onionmailctl does, so the server can read the record.
// For the integration test of the move to version 2 at a POP3 login
// (tests/integration/test_hardware.py): nothing in the product writes
// version 1.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "base/sandbox.h"
#include "config/config.h"
#include "server/state.h"
#include "tests/keys/record_by_the_book.h"

using namespace onionmail;

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "om-test-v1-record: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return Fail("usage: om-test-v1-record CONFIG USER < passwords");
  auto config = config::LoadConfig(argv[1]);
  if (!config.ok()) return Fail(config.error().message);
  std::string smtp;
  std::string pop3;
  if (!std::getline(std::cin, smtp) || !std::getline(std::cin, pop3) || smtp.empty() ||
      pop3.empty()) {
    return Fail("stdin must hold the SMTP and the POP3 password, one per line");
  }
  SecretBytes smtp_pw(SecretAccess::Grant(), smtp);
  SecretBytes pop3_pw(SecretAccess::Grant(), pop3);
  std::fill(smtp.begin(), smtp.end(), '\0');
  std::fill(pop3.begin(), pop3.end(), '\0');
  if (::geteuid() == 0) {
    auto dropped = DropToUser(config->sandbox_key_user, /*allow_root=*/false);
    if (!dropped.ok()) return Fail("cannot drop to the key user: " + dropped.error().message);
  }
  auto state = server::State::Open(*config);
  if (!state.ok()) return Fail(state.error().message);
  if ((*state)->enrolled()) return Fail("the state is enrolled; use an unenrolled one");
  const crypto::Argon2Params params{config->argon2_t_cost, config->argon2_m_cost_kib,
                                    config->argon2_parallelism};
  auto record = keys::test_records::MakeRecordByTheBook((*state)->device_keys(), argv[2], 1, params,
                                                        smtp_pw, pop3_pw);
  if (!record.ok()) return Fail(record.error().message);
  auto written = keys::test_records::WriteRecordFile(config->state_dir, *record);
  if (!written.ok()) return Fail(written.error().message);
  std::printf("wrote a version-1 record for %s\n", argv[2]);
  return 0;
}
