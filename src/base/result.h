// Result<T>: the error-as-value type used on every data path.
//
// Contract: fallible functions return [[nodiscard]] Result<T> (or Result<void>).
// An Error carries a closed ErrorCode and a message that is always safe to log:
// it never contains secrets, passwords, message content or user addresses.
// Accessing value() of an error Result (or error() of an ok one) is a broken
// invariant and aborts the process.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace onionmail {

enum class ErrorCode {
  kInvalidArgument,     // malformed input from a peer, a file or a user
  kNotFound,            // no such user / message / file
  kAlreadyExists,       // creating something that exists
  kUnauthenticated,     // wrong password or credentials
  kPermissionDenied,    // authenticated but not allowed
  kFailedPrecondition,  // wrong state (e.g. mailbox already open)
  kResourceExhausted,   // a limit was hit (size, count, memory)
  kDeadlineExceeded,    // a timeout expired
  kUnavailable,         // temporary failure: retry later
  kDataLoss,            // stored data failed authentication or is truncated
  kInternal,            // a library or system call failed unexpectedly
  kSealed,              // the master key is not unsealed yet (peers): retry later
  kMailboxFull,         // the recipient's mailbox holds its quota: retry later
  kRefused,             // the recipient refuses this sender (its block list)
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // safe to log
};

[[noreturn]] inline void ResultAbort(const char* what) {
  std::fprintf(stderr, "onionmaild: broken invariant: %s\n", what);
  std::abort();
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    if (!ok()) ResultAbort("value() of an error Result");
    return std::get<0>(v_);
  }
  const T& value() const& {
    if (!ok()) ResultAbort("value() of an error Result");
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!ok()) ResultAbort("value() of an error Result");
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    if (ok()) ResultAbort("error() of an ok Result");
    return std::get<1>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    if (ok_) ResultAbort("error() of an ok Result");
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

inline Result<void> Ok() { return Result<void>(); }

inline Error MakeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace onionmail

// Propagates an error Result out of the current function.
#define ONIONMAIL_RETURN_IF_ERROR(expr)                  \
  do {                                                   \
    auto onionmail_r_ = (expr);                          \
    if (!onionmail_r_.ok()) return onionmail_r_.error(); \
  } while (0)

// Aborts when an internal invariant is broken (never for environment errors).
#define ONIONMAIL_CHECK(cond)                                     \
  do {                                                            \
    if (!(cond)) ::onionmail::ResultAbort(#cond " at " __FILE__); \
  } while (0)
