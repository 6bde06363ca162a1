// The server side of the master key M: enrolment with the unseal peers and the unseal
// state machine run at every boot. Pure library: no network. The caller (the TORM client
// code) carries X and Y to and from the peers and hands the answers in.
//
// Enrolment (Enrol): M is split t-of-n with Shamir (shamir.h), n = number of peers + 1.
// Share x = 1 is the LOCAL share, sealed by the device (KeyStore::SealRecord, aad
// "onionmail-local-share-v1"); peer i (0-based in the given list) gets share x = i + 2,
// encrypted under K_i = KDF(c_i * S_i, peer_id) (ecmr.h) with a fresh c_i that is wiped at
// once (only C_i = c_i * G is kept). The enrolment record (enrolment_record.h, which gives
// the byte layout) is sealed by the device and written durably to <state>/unseal/enrolment
// (0600, directory 0700). It also holds commitment = HMAC-SHA256(M,
// "onionmail-master-commit-v1"), which lets a combined M be checked.
//
// Unseal (Unsealer), at every boot:
//   auto u = Unsealer::Load(state_dir, device);    // opens the record and the local share
//   for each p in u->peers():  X = u->BeginPeer(p.index)  --TORM DERK-->  Y
//                              u->AcceptAnswer(p.index, Y)  (or MarkUnreachable)
//   once t shares are held (the local one counts): M = u->TakeMasterKey()
//
// Contract:
//  - Requires 2 <= t <= n <= 32, peer_id 1..255 bytes and pairwise distinct, M 32 bytes,
//    S_i valid points (kInvalidArgument otherwise).
//  - Enrol refuses to overwrite an existing record (kAlreadyExists) unless the mode says so.
//  - BeginPeer draws a fresh blinding scalar e at every call (X differs at every boot and
//    every attempt); a second call for the same peer replaces (and wipes) the first e.
//    AcceptAnswer consumes and wipes e whatever the outcome.
//  - A wrong answer (the share fails authentication under the rebuilt K_i) is kDataLoss and
//    is shown as state kWrong ("wrong answer") in Status(); an answer that is not a valid
//    point is kInvalidArgument, also state kWrong. Other peers can still unseal.
//  - When t shares are held they are combined and the result is checked against the
//    commitment in constant time (CRYPTO_memcmp); a mismatch is kDataLoss "combined key does
//    not match the commitment" and the state stays sealed.
//  - Shares, e values, K_i and M live in SecretBytes; shares and e values are wiped once M is
//    combined, M once taken. Status() and error messages never contain secret bytes (and
//    errors name peers by index, not by address).
//  - Unsealer methods are thread-safe (one mutex).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/kdf.h"
#include "hsm/key_store.h"
#include "unseal/ecmr.h"
#include "unseal/enrolment_record.h"
#include "unseal/shamir.h"

namespace onionmail::unseal {

inline constexpr size_t kMasterKeySize = 32;

// 32 fresh random bytes (OpenSSL's DRBG).
SecretBytes NewMasterKey();

// What the server knows about a peer after a successful TORM PUSH.
struct EnrolPeer {
  std::string peer_id;                // the address as enrolled ("host:port", "x.onion:25")
  std::array<uint8_t, 32> tls_pin{};  // SHA-256 of the peer's TLS SubjectPublicKeyInfo
  Point S{};                          // from the PUSH reply
};

enum class EnrolMode {
  kNew,             // refuse with kAlreadyExists when a record exists
  kReEnrolSameKey,  // re-enrolment after a recovery: an existing record must open with the
                    // device and commit to the same M (kFailedPrecondition otherwise) and is
                    // replaced; without a record, a new one is written
  kReplace,         // replace whatever is there (data under an older M becomes unreadable)
};

struct EnrolOptions {
  EnrolMode mode = EnrolMode::kNew;
  // Tests only: returns c_i for peer `index` (deterministic enrolment). Unset in production:
  // every c_i is then drawn from OpenSSL's DRBG.
  std::function<SecretBytes(size_t index)> scalar_for_test;
};

struct EnrolSummary {
  int t = 0;
  int n = 0;
  crypto::Digest commitment{};
};

[[nodiscard]] Result<EnrolSummary> Enrol(const std::string& state_dir, hsm::KeyStore& device,
                                         const SecretBytes& master_key, int t,
                                         std::span<const EnrolPeer> peers,
                                         const EnrolOptions& options = {});

enum class PeerState { kPending, kAnswered, kWrong, kUnreachable };
// "pending", "answered", "wrong", "unreachable".
const char* PeerStateName(PeerState state);

struct UnsealPeer {
  size_t index = 0;
  std::string peer_id;
  std::array<uint8_t, 32> tls_pin{};
};

struct PeerStatus {
  size_t index = 0;
  std::string peer_id;
  PeerState state = PeerState::kPending;
  std::string last_error;  // empty when none
};

struct UnsealStatus {
  bool sealed = true;
  int t = 0;
  int n = 0;
  int shares_held = 0;     // the local share counts
  std::string last_error;  // e.g. a commitment mismatch; empty when none
  std::vector<PeerStatus> peers;
};

struct PeerOutcome {
  int shares_held = 0;
  int t = 0;
  bool unsealed = false;  // M is now available (TakeMasterKey)
};

class Unsealer {
 public:
  // Reads and opens <state>/unseal/enrolment and the local share with the device.
  // kNotFound without a record, kDataLoss when either fails authentication.
  [[nodiscard]] static Result<std::unique_ptr<Unsealer>> Load(const std::string& state_dir,
                                                              hsm::KeyStore& device);

  Unsealer(const Unsealer&) = delete;
  Unsealer& operator=(const Unsealer&) = delete;

  // The peers to contact, in enrolment order.
  std::vector<UnsealPeer> peers() const;

  // X = C_i + e*G for a fresh e, kept until AcceptAnswer. kFailedPrecondition when the peer
  // already answered or M is already combined. A retry of a peer in state wrong or
  // unreachable puts it back to pending (its last_error stays until it answers right).
  [[nodiscard]] Result<Point> BeginPeer(size_t index);

  // Rebuilds K_i from Y, decrypts the share and, with t shares, combines M.
  [[nodiscard]] Result<PeerOutcome> AcceptAnswer(size_t index, const Point& Y);

  // Records that a peer could not be reached (shown in Status); wipes its e. No effect on a
  // peer that already answered.
  [[nodiscard]] Result<void> MarkUnreachable(size_t index, std::string reason);

  UnsealStatus Status() const;
  bool sealed() const;
  const crypto::Digest& commitment() const { return commitment_; }

  // Hands M over once (kFailedPrecondition while sealed or after the first call).
  [[nodiscard]] Result<SecretBytes> TakeMasterKey();

 private:
  struct Slot {
    EnrolledPeer peer;
    PeerState state = PeerState::kPending;
    std::string last_error;
    SecretBytes e;  // empty when no request is outstanding
  };

  Unsealer() = default;
  Result<PeerOutcome> CombineIfReady();  // mu_ held

  mutable std::mutex mu_;
  int t_ = 0;
  int n_ = 0;
  crypto::Digest commitment_{};
  std::vector<Slot> slots_;
  std::vector<Share> shares_;  // held shares, the local one first (cleared once combined)
  int shares_held_ = 0;
  SecretBytes master_;
  bool unsealed_ = false;
  bool taken_ = false;
  std::string last_error_;
};

}  // namespace onionmail::unseal
