// Fuzz target: ipc::Decode (src/ipc/codec.h) on arbitrary bytes, i.e. what a
// compromised or buggy peer role could put in one SOCK_SEQPACKET datagram.
// Checked besides memory safety: a decoded message re-encodes to exactly the
// input bytes (the encoding is canonical), and every rejection is
// kInvalidArgument (what the receiver treats as fatal).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "ipc/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace onionmail;
  auto msg = ipc::Decode(std::span<const uint8_t>(data, size));
  if (!msg.ok()) {
    ONIONMAIL_CHECK(msg.error().code == ErrorCode::kInvalidArgument);
    return 0;
  }
  auto again = ipc::Encode(*msg);
  ONIONMAIL_CHECK(again.ok());
  ONIONMAIL_CHECK(again->size() == size);
  ONIONMAIL_CHECK(std::equal(again->begin(), again->end(), data));
  return 0;
}
