// Strict base64 (RFC 4648 section 4) for SMTP: AUTH credentials and TORM
// blobs (mail/torm.h).
//
// Contract:
//  - DecodeBase64() accepts only the standard alphabet, a length that is a
//    multiple of 4, padding only at the end, canonical (unused bits zero), no
//    whitespace; anything else is kInvalidArgument. The decoded bytes go
//    straight into SecretBytes (AUTH credentials are secret).
//  - EncodeBase64() produces that canonical form, so Decode(Encode(x)) == x.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace onionmail::smtp {

Result<SecretBytes> DecodeBase64(std::string_view in);
std::string EncodeBase64(std::span<const uint8_t> in);

}  // namespace onionmail::smtp
