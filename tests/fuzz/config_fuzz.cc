// Fuzz target: config::ParseConfig (toml++ underneath) on arbitrary text.
// Checked besides memory safety: a successfully parsed config keeps its
// documented invariants (non-empty domain and listen addresses).
#include <cstddef>
#include <cstdint>

#include "base/result.h"
#include "config/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace onionmail;
  auto config = config::ParseConfig(fuzz::AsText(data, size));
  if (config.ok()) {
    ONIONMAIL_CHECK(!config->greeting_name().empty());
    ONIONMAIL_CHECK(!config->smtp_listen.empty());
    ONIONMAIL_CHECK(!config->pop3_listen.empty());
  } else {
    ONIONMAIL_CHECK(!config.error().message.empty());
  }
  return 0;
}
