// The fixture shared by the tests of keys::SealedFiles and of its users
// (keys::BlockLists, keys::MailingLists): a file key store in a temp state
// dir, a wrapper counting its OpenRecord calls, and small helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "hsm/forwarding_key_store.h"
#include "tests/store/test_util.h"

namespace onionmail::keys::test_fixture {

// Counts OpenRecord calls (the file backend derives its keys once, so its
// device_operations() does not move on OpenRecord). With `refuse_seal` set,
// SealRecord fails as a TPM whose policy is not met does; with `open_fault`
// set, OpenRecord fails with that code as a device fault would.
class CountingKeyStore : public hsm::ForwardingKeyStore {
 public:
  using ForwardingKeyStore::ForwardingKeyStore;
  Result<SecretBytes> OpenRecord(std::span<const uint8_t> sealed,
                                 std::span<const uint8_t> aad) override {
    ++opens;
    if (ErrorCode code = open_fault.load(); code != ErrorCode::kDataLoss) {
      return MakeError(code, "device fault");
    }
    return ForwardingKeyStore::OpenRecord(sealed, aad);
  }
  Result<std::vector<uint8_t>> SealRecord(std::span<const uint8_t> plaintext,
                                          std::span<const uint8_t> aad) override {
    if (refuse_seal) return MakeError(ErrorCode::kPermissionDenied, "PCR policy not satisfied");
    return ForwardingKeyStore::SealRecord(plaintext, aad);
  }
  std::atomic<int> opens{0};
  std::atomic<bool> refuse_seal{false};
  std::atomic<ErrorCode> open_fault{ErrorCode::kDataLoss};  // kDataLoss: none
};

inline ino_t InodeOf(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

inline bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// The value of `r`; a test failure (and T{}) when it is an error.
template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << "error: " << r.error().message;
    return T{};
  }
  return std::move(*r);
}

// The error code of `r`; kInternal (never expected here) when it is ok.
template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kInternal : r.error().code;
}

// A file key store (file_keys_) in dir_, and keys_ counting its OpenRecord
// calls. A derived SetUp() calls this one first and returns on a fatal
// failure.
class SealedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ks = hsm::CreateFileKeyStore(dir_.path() + "/server.key");
    ASSERT_TRUE(ks.ok());
    file_keys_ = std::move(*ks);
    keys_ = std::make_unique<CountingKeyStore>(*file_keys_);
  }

  // Writes `plaintext` sealed under `aad` to `path` (its directory created).
  void WriteSealedFile(const std::string& path, const std::string& aad,
                       const std::vector<uint8_t>& plaintext) {
    auto sealed = file_keys_->SealRecord(plaintext, onionmail::testing::Bytes(aad));
    ASSERT_TRUE(sealed.ok());
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    onionmail::testing::WriteFileBytes(path, *sealed);
  }

  onionmail::testing::TempDir dir_;
  std::unique_ptr<hsm::KeyStore> file_keys_;
  std::unique_ptr<CountingKeyStore> keys_;
};

}  // namespace onionmail::keys::test_fixture
