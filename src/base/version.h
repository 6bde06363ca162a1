// The software name and version, in one place: onionmaild --version, the
// server@ bot's IDENT. Keep it equal to project(... VERSION) in the top
// CMakeLists.txt (tests/base/version_test.cc checks).
#pragma once

namespace onionmail {

inline constexpr char kSoftwareVersion[] = "0.1.0";
inline constexpr char kSoftware[] = "onionmaild 0.1.0";

}  // namespace onionmail
