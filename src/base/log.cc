// stderr logger; see log.h.
#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <string>
#include <utility>

namespace onionmail::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

const char* Prefix(Level level) {
  switch (level) {
    case Level::kDebug:
      return "<7>debug";
    case Level::kInfo:
      return "<6>info";
    case Level::kWarning:
      return "<4>warning";
    case Level::kError:
      return "<3>error";
  }
  return "<6>info";
}
}  // namespace

void SetLevel(Level level) { g_level = static_cast<int>(level); }

bool ParseLevel(std::string_view text, Level* level) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"debug", Level::kDebug},
      {"info", Level::kInfo},
      {"warning", Level::kWarning},
      {"error", Level::kError},
  };
  for (const auto& [name, value] : kNames) {
    if (text == name) {
      *level = value;
      return true;
    }
  }
  return false;
}

void Write(Level level, std::string_view component, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::string line;
  line.reserve(message.size() + component.size() + 16);
  line += Prefix(level);
  line += ' ';
  line += component;
  line += ": ";
  for (char c : message) {
    unsigned char u = static_cast<unsigned char>(c);
    line += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  line += '\n';
  // One write() per line so that lines from threads do not interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace onionmail::log
