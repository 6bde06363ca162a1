// Header field values every message this server writes itself needs (the
// server@ bot's replies, the delivery status notifications): the date, a
// fresh Message-ID's local part, and lower-case hex.
//
// Contract:
//  - Rfc5322Date(): "Www, DD Mmm YYYY HH:MM:SS +0000", independent of the
//    locale; kInternal when gmtime_r cannot represent `when` (or its year is
//    outside 1900..9999).
//  - NewMessageIdLocal(): 32 lower-case hex digits from RAND_bytes; kInternal
//    when the generator fails.
//  - LowerHex(): two lower-case hex digits an octet.
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>

#include "base/result.h"

namespace onionmail::mail {

Result<std::string> Rfc5322Date(std::time_t when);

Result<std::string> NewMessageIdLocal();

std::string LowerHex(std::span<const uint8_t> bytes);

}  // namespace onionmail::mail
