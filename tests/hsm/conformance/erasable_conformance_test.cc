// Conformance suite for the erasable secrets of hsm::Token (CreateErasable,
// DeriveErasable, EraseErasable, ErasableEpochs; hsm/token.h): the same
// assertions against SoftHSM2 (pkcs11) and swtpm (tpm2), through the public
// factories only, plus TPM-only checks of the NV indices on a private swtpm.
// A missing SoftHSM2 or swtpm is a failure, never a skip.
//
// Device 0 of each backend is created once per suite and never provisioned
// (erasable secrets do not need the RSA or HMAC keys). Every test starts and
// ends with no erasable secret alive (swtpm has room for two).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hsm/token.h"
#include "hsm/tpm2/tpm2_token.h"
#include "tests/hsm/conformance/token_backends.h"
#include "tests/hsm/tpm2/swtpm_harness.h"

namespace onionmail::hsm::conformance {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> Reveal(const SecretBytes& s) {
  auto r = s.Reveal(SecretAccess::Grant());
  return {r.begin(), r.end()};
}

std::vector<uint8_t> Sha256(std::span<const uint8_t> data) {
  std::vector<uint8_t> out(32);
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr), 1);
  return out;
}

const std::vector<uint8_t> kLabel = Bytes("partner-store record key");

template <typename Backend>
class ErasableConformanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new Backend();
    setup_error_ = backend_->Create();
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
    setup_error_.clear();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << Backend::kName << ": " << setup_error_;
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ASSERT_NO_FATAL_FAILURE(EraseAll());
  }
  void TearDown() override {
    if (token_ != nullptr) EraseAll();
    token_.reset();
  }

  // Closes the token and opens a new one on the same device (a restart).
  void Reopen() {
    token_.reset();  // swtpm serves one client at a time
    auto token = backend_->Open(0);
    ASSERT_TRUE(token.ok()) << Backend::kName << ": " << token.error().message;
    token_ = std::move(*token);
  }

  void EraseAll() {
    auto epochs = token_->ErasableEpochs();
    ASSERT_TRUE(epochs.ok()) << epochs.error().message;
    for (uint64_t e : *epochs) {
      auto r = token_->EraseErasable(e);
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
  }

  void Create(uint64_t epoch) {
    auto r = token_->CreateErasable(epoch);
    ASSERT_TRUE(r.ok()) << "epoch " << epoch << ": " << r.error().message;
  }

  // The derived value; empty (and a test failure) on error.
  std::vector<uint8_t> Derive(uint64_t epoch, std::span<const uint8_t> label) {
    auto r = token_->DeriveErasable(epoch, label);
    EXPECT_TRUE(r.ok()) << "epoch " << epoch << ": " << r.error().message;
    return r.ok() ? Reveal(*r) : std::vector<uint8_t>{};
  }

  void ExpectNotFound(uint64_t epoch) {
    auto r = token_->DeriveErasable(epoch, kLabel);
    ASSERT_FALSE(r.ok()) << "epoch " << epoch << " still derives";
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << r.error().message;
  }

  std::vector<uint64_t> Epochs() {
    auto r = token_->ErasableEpochs();
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<uint64_t>{};
  }

  static inline Backend* backend_ = nullptr;
  static inline std::string setup_error_;
  std::unique_ptr<Token> token_;
};

struct BackendNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Backends = ::testing::Types<SoftHsm2Backend, SwtpmBackend>;
TYPED_TEST_SUITE(ErasableConformanceTest, Backends, BackendNames);

TYPED_TEST(ErasableConformanceTest, DeriveIsDeterministicForEpochAndLabel) {
  ASSERT_NO_FATAL_FAILURE(this->Create(10));
  const std::vector<uint8_t> first = this->Derive(10, kLabel);
  ASSERT_EQ(first.size(), 32u);
  EXPECT_EQ(this->Derive(10, kLabel), first);
  ASSERT_NO_FATAL_FAILURE(this->Reopen());
  EXPECT_EQ(this->Derive(10, kLabel), first) << "changed across a reopen";
  // Keyed by a secret: neither a plain hash of the label nor all zeros.
  EXPECT_NE(first, Sha256(kLabel));
  EXPECT_NE(first, std::vector<uint8_t>(32, 0));
}

TYPED_TEST(ErasableConformanceTest, DeriveDiffersAcrossLabelsAndEpochs) {
  ASSERT_NO_FATAL_FAILURE(this->Create(10));
  ASSERT_NO_FATAL_FAILURE(this->Create(11));
  const std::vector<std::vector<uint8_t>> labels = {{},
                                                    {0x00},
                                                    Bytes("a"),
                                                    Bytes("b"),
                                                    Bytes("ab"),
                                                    Bytes(std::string_view("a\0", 2)),
                                                    std::vector<uint8_t>(1000, 0x5a)};
  std::vector<std::vector<uint8_t>> values;
  for (uint64_t epoch : {10, 11}) {
    for (const auto& label : labels) {
      values.push_back(this->Derive(epoch, label));
      ASSERT_EQ(values.back().size(), 32u) << "epoch " << epoch << ", label of " << label.size();
    }
  }
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = i + 1; j < values.size(); ++j) EXPECT_NE(values[i], values[j]) << i << "/" << j;
  }
}

TYPED_TEST(ErasableConformanceTest, DeriveOfAnUnknownEpochIsNotFound) {
  this->ExpectNotFound(5);
  ASSERT_NO_FATAL_FAILURE(this->Create(6));
  this->ExpectNotFound(5);  // odd: another slot on a TPM
  this->ExpectNotFound(8);  // even: the TPM slot that holds epoch 6
  EXPECT_EQ(this->Derive(6, kLabel).size(), 32u);
}

TYPED_TEST(ErasableConformanceTest, CreatingAnExistingEpochIsAlreadyExists) {
  ASSERT_NO_FATAL_FAILURE(this->Create(20));
  const std::vector<uint8_t> before = this->Derive(20, kLabel);
  auto again = this->token_->CreateErasable(20);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists) << again.error().message;
  ASSERT_NO_FATAL_FAILURE(this->Reopen());
  again = this->token_->CreateErasable(20);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists) << again.error().message;
  EXPECT_EQ(this->Derive(20, kLabel), before) << "a refused create replaced the secret";
}

TYPED_TEST(ErasableConformanceTest, EraseMakesDeriveNotFoundAndSurvivesReopen) {
  ASSERT_NO_FATAL_FAILURE(this->Create(30));
  ASSERT_EQ(this->Derive(30, kLabel).size(), 32u);
  auto erased = this->token_->EraseErasable(30);
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  this->ExpectNotFound(30);
  ASSERT_NO_FATAL_FAILURE(this->Reopen());
  this->ExpectNotFound(30);
  EXPECT_TRUE(this->Epochs().empty());
}

TYPED_TEST(ErasableConformanceTest, RecreatingAnErasedEpochMakesANewSecret) {
  ASSERT_NO_FATAL_FAILURE(this->Create(40));
  const std::vector<uint8_t> old_value = this->Derive(40, kLabel);
  ASSERT_TRUE(this->token_->EraseErasable(40).ok());
  ASSERT_NO_FATAL_FAILURE(this->Create(40));
  const std::vector<uint8_t> new_value = this->Derive(40, kLabel);
  ASSERT_EQ(new_value.size(), 32u);
  EXPECT_NE(new_value, old_value) << "the erased secret came back";
}

TYPED_TEST(ErasableConformanceTest, ErasableEpochsListsExactlyTheLiveOnesAscending) {
  EXPECT_EQ(this->Epochs(), std::vector<uint64_t>{});
  ASSERT_NO_FATAL_FAILURE(this->Create(51));
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{51}));
  ASSERT_NO_FATAL_FAILURE(this->Create(50));
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{50, 51}));
  ASSERT_NO_FATAL_FAILURE(this->Reopen());
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{50, 51}));
  ASSERT_TRUE(this->token_->EraseErasable(51).ok());
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{50}));
  ASSERT_TRUE(this->token_->EraseErasable(50).ok());
  EXPECT_EQ(this->Epochs(), std::vector<uint64_t>{});
}

TYPED_TEST(ErasableConformanceTest, ErasingAnAbsentEpochIsOkAndTouchesNoOtherEpoch) {
  auto never = this->token_->EraseErasable(60);
  ASSERT_TRUE(never.ok()) << never.error().message;
  ASSERT_NO_FATAL_FAILURE(this->Create(61));
  const std::vector<uint8_t> value = this->Derive(61, kLabel);
  for (uint64_t absent : {63, 60, 62}) {  // 63: the TPM slot that holds 61
    auto r = this->token_->EraseErasable(absent);
    ASSERT_TRUE(r.ok()) << absent << ": " << r.error().message;
  }
  EXPECT_EQ(this->Derive(61, kLabel), value);
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{61}));
  ASSERT_TRUE(this->token_->EraseErasable(61).ok());
  auto twice = this->token_->EraseErasable(61);
  EXPECT_TRUE(twice.ok()) << twice.error().message;
}

// The rotation a KCTL destroy performs: make e+1, (re-seal), erase e.
TYPED_TEST(ErasableConformanceTest, TwoLiveEpochsWorkAndErasingTheOlderKeepsTheNewer) {
  ASSERT_NO_FATAL_FAILURE(this->Create(70));
  const std::vector<uint8_t> old_value = this->Derive(70, kLabel);
  ASSERT_NO_FATAL_FAILURE(this->Create(71));
  const std::vector<uint8_t> new_value = this->Derive(71, kLabel);
  EXPECT_EQ(this->Derive(70, kLabel), old_value) << "creating e+1 changed e";
  EXPECT_NE(old_value, new_value);
  ASSERT_TRUE(this->token_->EraseErasable(70).ok());
  this->ExpectNotFound(70);
  EXPECT_EQ(this->Derive(71, kLabel), new_value);
  ASSERT_NO_FATAL_FAILURE(this->Reopen());
  this->ExpectNotFound(70);
  EXPECT_EQ(this->Derive(71, kLabel), new_value);
  // The next rotation reuses the freed room.
  ASSERT_NO_FATAL_FAILURE(this->Create(72));
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{71, 72}));
}

TYPED_TEST(ErasableConformanceTest, EpochsAtBothEndsOfTheRangeRoundTrip) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  ASSERT_NO_FATAL_FAILURE(this->Create(0));
  ASSERT_NO_FATAL_FAILURE(this->Create(kMax));
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{0, kMax}));
  const std::vector<uint8_t> low = this->Derive(0, kLabel);
  const std::vector<uint8_t> high = this->Derive(kMax, kLabel);
  ASSERT_EQ(low.size(), 32u);
  ASSERT_EQ(high.size(), 32u);
  EXPECT_NE(low, high);
  this->ExpectNotFound(kMax - 1);
}

TYPED_TEST(ErasableConformanceTest, CreateDeriveAndEraseEachCountOneDeviceOperation) {
  const uint64_t start = this->token_->operations();
  ASSERT_NO_FATAL_FAILURE(this->Create(90));
  EXPECT_EQ(this->token_->operations(), start + 1) << "CreateErasable";
  ASSERT_EQ(this->Derive(90, kLabel).size(), 32u);
  EXPECT_EQ(this->token_->operations(), start + 2) << "DeriveErasable";
  EXPECT_EQ(this->Epochs(), (std::vector<uint64_t>{90}));
  EXPECT_EQ(this->token_->operations(), start + 2) << "ErasableEpochs";
  ASSERT_TRUE(this->token_->EraseErasable(90).ok());
  EXPECT_EQ(this->token_->operations(), start + 3) << "EraseErasable";
  ASSERT_TRUE(this->token_->EraseErasable(90).ok());
  EXPECT_EQ(this->token_->operations(), start + 3) << "EraseErasable of an absent epoch";
}

TYPED_TEST(ErasableConformanceTest, ConcurrentDerivesAreSerialisedSafely) {
  ASSERT_NO_FATAL_FAILURE(this->Create(95));
  const std::vector<uint8_t> want = this->Derive(95, kLabel);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  Token* token = this->token_.get();
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto r = token->DeriveErasable(95, kLabel);
        if (r.ok() && Reveal(*r) == want) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 15);
}

// TPM only: two NV slots, so a third live epoch does not fit.
using SwtpmErasableTest = ErasableConformanceTest<SwtpmBackend>;

TEST_F(SwtpmErasableTest, ThirdLiveEpochIsResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(Create(80));
  ASSERT_NO_FATAL_FAILURE(Create(81));
  const std::vector<uint8_t> value = Derive(80, kLabel);
  for (uint64_t third : {82, 83}) {
    auto r = token_->CreateErasable(third);
    ASSERT_FALSE(r.ok()) << third;
    EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted) << r.error().message;
  }
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{80, 81}));
  EXPECT_EQ(Derive(80, kLabel), value) << "a refused create touched the live secret";
  ASSERT_TRUE(token_->EraseErasable(80).ok());
  ASSERT_NO_FATAL_FAILURE(Create(82));
  EXPECT_EQ(Epochs(), (std::vector<uint64_t>{81, 82}));
}

// TPM only, on a private swtpm that the test can inspect with raw ESAPI
// (only while no Token is open: swtpm serves one client at a time).
class SwtpmErasableNvTest : public ::testing::Test {
 protected:
  static constexpr char kAuth[] = "erasable nv auth";

  void SetUp() override {
    ::setenv("TSS2_LOG", "all+NONE", 1);
    const std::string err = swtpm_.Start();
    ASSERT_TRUE(err.empty()) << "swtpm: " << err;
    WritePrivateFile(swtpm_.dir() + "/auth", std::string(kAuth) + "\n");
    options_.tcti = swtpm_.tcti();
    options_.key_dir = swtpm_.dir() + "/keys";
    options_.auth_file = swtpm_.dir() + "/auth";
  }

  std::unique_ptr<Token> Open() {
    auto token = OpenTpm2Token(options_);
    EXPECT_TRUE(token.ok()) << token.error().message;
    return token.ok() ? std::move(*token) : nullptr;
  }

  // Runs fn(ctx) on a fresh ESAPI connection; false if it could not connect.
  template <typename F>
  bool WithEsys(F fn) {
    TSS2_TCTI_CONTEXT* tcti = nullptr;
    if (Tss2_TctiLdr_Initialize(swtpm_.tcti().c_str(), &tcti) != TSS2_RC_SUCCESS) return false;
    ESYS_CONTEXT* ctx = nullptr;
    const bool ok = Esys_Initialize(&ctx, tcti, nullptr) == TSS2_RC_SUCCESS;
    if (ok) {
      fn(ctx);
      Esys_Finalize(&ctx);
    }
    Tss2_TctiLdr_Finalize(&tcti);
    return ok;
  }

  // The NV indices defined in [kErasableNvBase, kErasableNvBase + 2).
  std::vector<TPM2_HANDLE> ErasableNvIndices() {
    std::vector<TPM2_HANDLE> found;
    EXPECT_TRUE(WithEsys([&](ESYS_CONTEXT* ctx) {
      TPMI_YES_NO more = TPM2_NO;
      TPMS_CAPABILITY_DATA* data = nullptr;
      ASSERT_EQ(Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                   tpm2::kErasableNvBase, 8, &more, &data),
                TSS2_RC_SUCCESS);
      for (uint32_t i = 0; i < data->data.handles.count; ++i) {
        const TPM2_HANDLE h = data->data.handles.handle[i];
        if (h >= tpm2::kErasableNvBase && h < tpm2::kErasableNvBase + 2) found.push_back(h);
      }
      Esys_Free(data);
    }));
    return found;
  }

  TPMA_NV NvAttributes(TPM2_HANDLE index) {
    TPMA_NV attributes = 0;
    EXPECT_TRUE(WithEsys([&](ESYS_CONTEXT* ctx) {
      ESYS_TR tr = ESYS_TR_NONE;
      ASSERT_EQ(Esys_TR_FromTPMPublic(ctx, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr),
                TSS2_RC_SUCCESS);
      TPM2B_NV_PUBLIC* pub = nullptr;
      ASSERT_EQ(
          Esys_NV_ReadPublic(ctx, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr),
          TSS2_RC_SUCCESS);
      attributes = pub->nvPublic.attributes;
      EXPECT_EQ(pub->nvPublic.dataSize, 40u);
      Esys_Free(pub);
      Esys_TR_Close(ctx, &tr);
    }));
    return attributes;
  }

  // What an Erase interrupted between its overwrite and its undefine leaves.
  void WipeNvIndex(TPM2_HANDLE index) {
    EXPECT_TRUE(WithEsys([&](ESYS_CONTEXT* ctx) {
      ESYS_TR tr = ESYS_TR_NONE;
      ASSERT_EQ(Esys_TR_FromTPMPublic(ctx, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr),
                TSS2_RC_SUCCESS);
      TPM2B_AUTH auth{};
      auth.size = sizeof(kAuth) - 1;
      std::memcpy(auth.buffer, kAuth, auth.size);
      ASSERT_EQ(Esys_TR_SetAuth(ctx, tr, &auth), TSS2_RC_SUCCESS);
      TPM2B_MAX_NV_BUFFER zeros{};
      zeros.size = 40;
      EXPECT_EQ(Esys_NV_Write(ctx, tr, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &zeros, 0),
                TSS2_RC_SUCCESS);
      Esys_TR_Close(ctx, &tr);
    }));
  }

  void ResetPcr(int pcr) {
    EXPECT_TRUE(WithEsys([&](ESYS_CONTEXT* ctx) {
      EXPECT_EQ(Esys_PCR_Reset(ctx, ESYS_TR_PCR0 + static_cast<ESYS_TR>(pcr), ESYS_TR_PASSWORD,
                               ESYS_TR_NONE, ESYS_TR_NONE),
                TSS2_RC_SUCCESS);
    }));
  }

  tpm2::testing::Swtpm swtpm_;
  Tpm2Options options_;
};

TEST_F(SwtpmErasableNvTest, EraseUndefinesTheNvIndexAndLeavesNoHandlesLoaded) {
  std::vector<uint8_t> value;
  {
    auto token = Open();
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->CreateErasable(7).ok());
    auto d = token->DeriveErasable(7, kLabel);
    ASSERT_TRUE(d.ok()) << d.error().message;
    value = Reveal(*d);
  }
  EXPECT_EQ(ErasableNvIndices(), std::vector<TPM2_HANDLE>{tpm2::kErasableNvBase + 1});
  const TPMA_NV attributes = NvAttributes(tpm2::kErasableNvBase + 1);
  EXPECT_NE(attributes & TPMA_NV_AUTHREAD, 0u);
  EXPECT_NE(attributes & TPMA_NV_AUTHWRITE, 0u);
  EXPECT_EQ(attributes & (TPMA_NV_OWNERREAD | TPMA_NV_PPREAD | TPMA_NV_NO_DA), 0u);
  EXPECT_EQ(attributes & TPMA_NV_PLATFORMCREATE, 0u) << "not in the owner hierarchy";
  EXPECT_EQ(tpm2::testing::LoadedHandleCount(swtpm_.tcti()), 0) << "a session or object leaked";

  // The secret lives in the TPM's NV: it survives a TPM restart.
  ASSERT_EQ(swtpm_.Restart(), "");
  {
    auto token = Open();
    ASSERT_NE(token, nullptr);
    auto d = token->DeriveErasable(7, kLabel);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(Reveal(*d), value);
    ASSERT_TRUE(token->EraseErasable(7).ok());
  }
  EXPECT_TRUE(ErasableNvIndices().empty()) << "the NV index was not undefined";
  EXPECT_EQ(tpm2::testing::LoadedHandleCount(swtpm_.tcti()), 0);
  ASSERT_EQ(swtpm_.Restart(), "");
  auto token = Open();
  ASSERT_NE(token, nullptr);
  auto gone = token->DeriveErasable(7, kLabel);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(SwtpmErasableNvTest, AWipedSlotLeftByAnInterruptedEraseHoldsNoSecret) {
  {
    auto token = Open();
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->CreateErasable(0).ok());
  }
  WipeNvIndex(tpm2::kErasableNvBase);  // epoch 0 || 32 zero bytes
  auto token = Open();
  ASSERT_NE(token, nullptr);
  auto d = token->DeriveErasable(0, kLabel);
  ASSERT_FALSE(d.ok()) << "an all-zero (known) secret passed for epoch 0";
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
  auto epochs = token->ErasableEpochs();
  ASSERT_TRUE(epochs.ok()) << epochs.error().message;
  EXPECT_TRUE(epochs->empty());
  // The leftover index is reclaimed by the next create.
  auto created = token->CreateErasable(0);
  ASSERT_TRUE(created.ok()) << created.error().message;
  d = token->DeriveErasable(0, kLabel);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(token->EraseErasable(0).ok());
  token.reset();
  EXPECT_TRUE(ErasableNvIndices().empty());
}

TEST_F(SwtpmErasableNvTest, WithPcrsTheSecretIsUsableOnlyInTheMeasuredState) {
  options_.pcrs = {23};
  std::vector<uint8_t> value;
  {
    auto token = Open();
    ASSERT_NE(token, nullptr);
    ASSERT_TRUE(token->CreateErasable(4).ok());
    auto d = token->DeriveErasable(4, kLabel);
    ASSERT_TRUE(d.ok()) << d.error().message;
    value = Reveal(*d);
  }
  const TPMA_NV attributes = NvAttributes(tpm2::kErasableNvBase);
  EXPECT_NE(attributes & TPMA_NV_POLICYREAD, 0u);
  EXPECT_EQ(attributes & TPMA_NV_AUTHREAD, 0u) << "the authValue alone would bypass the PCRs";

  // A policy failure is not an authorisation failure: no DA counting.
  ASSERT_EQ(tpm2::testing::ExtendPcr(swtpm_.tcti(), 23), "");
  {
    auto token = Open();
    ASSERT_NE(token, nullptr);
    auto d = token->DeriveErasable(4, kLabel);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ErrorCode::kPermissionDenied) << d.error().message;
  }
  ResetPcr(23);
  auto token = Open();
  ASSERT_NE(token, nullptr);
  auto d = token->DeriveErasable(4, kLabel);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(Reveal(*d), value);
  ASSERT_TRUE(token->EraseErasable(4).ok());
  token.reset();
  EXPECT_TRUE(ErasableNvIndices().empty());
}

}  // namespace
}  // namespace onionmail::hsm::conformance
