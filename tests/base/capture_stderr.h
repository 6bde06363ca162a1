// Test helper: runs a function with file descriptor 2 sent to a temporary file and returns
// what was written there (the log's output, base/log.h). Not thread-safe: no other thread may
// write to stderr meanwhile.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace onionmail::testing {

template <typename Body>
std::string CaptureStderr(Body body) {
  char path[] = "/tmp/onionmail-stderr.XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::unlink(path);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(fd, STDERR_FILENO);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  char buf[512];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace onionmail::testing
