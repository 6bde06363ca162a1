// Logging to stderr, one line per event, journald-friendly ("<N>" priority
// prefixes when ONIONMAIL_LOG_PREFIX is honoured by the supervisor later).
//
// Contract: callers never pass passwords, message content, AUTH arguments or,
// unless log_addresses is enabled, mail addresses. Messages are single lines:
// control characters are replaced before writing.
#pragma once

#include <string_view>

namespace onionmail::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLevel(Level level);
bool ParseLevel(std::string_view text, Level* level);
void Write(Level level, std::string_view component, std::string_view message);

inline void Debug(std::string_view c, std::string_view m) { Write(Level::kDebug, c, m); }
inline void Info(std::string_view c, std::string_view m) { Write(Level::kInfo, c, m); }
inline void Warning(std::string_view c, std::string_view m) { Write(Level::kWarning, c, m); }
inline void Error(std::string_view c, std::string_view m) { Write(Level::kError, c, m); }

}  // namespace onionmail::log
