// base/version.h names the version the top CMakeLists.txt declares.
#include "base/version.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail {
namespace {

TEST(VersionTest, SoftwareVersionIsTheProjectVersion) {
  EXPECT_EQ(std::string(kSoftwareVersion), ONIONMAIL_CMAKE_VERSION);
  EXPECT_EQ(std::string(kSoftware), std::string("onionmaild ") + ONIONMAIL_CMAKE_VERSION);
}

}  // namespace
}  // namespace onionmail
