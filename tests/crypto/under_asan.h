// kUnderAsan: whether this test binary runs under AddressSanitizer, for the
// tests that limit the address space (RLIMIT_AS), which ASan's shadow memory
// does not survive. GCC defines __SANITIZE_ADDRESS__; clang (before 16) only
// answers __has_feature(address_sanitizer).
#pragma once

namespace onionmail::crypto {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAsan = true;
#else
inline constexpr bool kUnderAsan = false;
#endif
#else
inline constexpr bool kUnderAsan = false;
#endif

}  // namespace onionmail::crypto
