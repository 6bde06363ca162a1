// Fuzz target: ipc::Decode (src/ipc/codec.h) on arbitrary bytes, i.e. what a
// compromised or buggy peer role could put in one SOCK_SEQPACKET datagram.
// Checked besides memory safety: a decoded message re-encodes to exactly the
// input bytes (the encoding is canonical), and every rejection is
// kInvalidArgument (what the receiver treats as fatal).
// Each input is decoded as it is, and again with its version field (bytes
// 6..7 of the frame header) set to ipc::kProtocolVersion, so that the seed
// corpus (tests/fuzz/corpus/ipc, written at older versions) still reaches
// every message decoder after a version bump, not only the version check.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "ipc/bounds.h"
#include "ipc/codec.h"

namespace {

void DecodeAndReencode(std::span<const uint8_t> input) {
  using namespace onionmail;
  auto msg = ipc::Decode(input);
  if (!msg.ok()) {
    ONIONMAIL_CHECK(msg.error().code == ErrorCode::kInvalidArgument);
    return;
  }
  auto again = ipc::Encode(*msg);
  ONIONMAIL_CHECK(again.ok());
  ONIONMAIL_CHECK(again->size() == input.size());
  ONIONMAIL_CHECK(std::equal(again->begin(), again->end(), input.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DecodeAndReencode(std::span<const uint8_t>(data, size));
  if (size >= 8) {
    std::vector<uint8_t> current(data, data + size);
    current[6] = static_cast<uint8_t>(onionmail::ipc::kProtocolVersion >> 8);
    current[7] = static_cast<uint8_t>(onionmail::ipc::kProtocolVersion);
    DecodeAndReencode(current);
  }
  return 0;
}
