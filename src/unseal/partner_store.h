// PartnerStore: the peer side of the master-key unseal. Keeps one durable,
// sealed partner record per server that enrolled with this peer and takes the
// decisions on TORM PUSH (Enrol), DERK (Answer), STAT (Stat) and KCTL
// (ApplyKctl). Pure library over a directory and an hsm::KeyStore: no network,
// no wire parsing. The caller verifies a request's RSA-PSS signature
// (torm_wire.h) and passes parsed values; KCTL certificates are checked here
// with kctl.h, since the check needs the stored KCTL key and last serial.
//
// Contract:
//  - Directory layout (`dir`, normally <state>/partners, mode 0700): one file per
//    partner named by a keyed hash of its id (unseal/partner_record.h), plus
//    `tmp/` for durable writes (leftovers are securely deleted at Open). Every
//    change is published with store::WriteFileDurably (write, fsync, rename,
//    fsync dir) before the call returns ok; a failed write leaves memory as it
//    was. One PartnerStore per directory (no cross-process locking).
//  - All records are loaded at Open. A file that cannot be opened or decoded
//    (tampered, truncated, wrong device key) is logged, listed in load_errors()
//    and skipped; that partner then gets kDataLoss, and a PUSH never overwrites
//    the file.
//  - Requests carry the DER SPKI of the RSA key that signed them: the store
//    refuses one whose SHA-256 is not partner_id, or (after enrolment) which
//    differs from the SPKI stored at PUSH (kUnauthenticated).
//  - Answer(): Y = s*X; the counter increment and credit decrement are durable
//    before Y is returned. Refused when unknown (kNotFound), destroyed, disabled
//    or out of credits (kPermissionDenied), or rate limited (kResourceExhausted:
//    more than rate_limit_answers answers within rate_limit_window_s seconds; the
//    window is kept in memory, so a restart clears it). An invalid X is
//    kInvalidArgument and costs no credit.
//  - Live records are sealed under the device's current erasable key
//    (hsm::KeyStore::SealErasable, epoch 1 made at the first PUSH). Destroy
//    writes a tombstone (partner_id, KCTL key, counters, the epoch to shred;
//    never s), then store::SecureDelete's the live file (overwrite, fsync,
//    unlink, fsync dir), wipes s from memory (SecretBytes), and crypto-shreds:
//    creates epoch e+1 in the device, re-seals every other live record under
//    it, then erases epoch e inside the device, so that no copy of the old
//    record (flash remnants, backups) can ever be opened. Open finishes an
//    interrupted rotation (two epochs alive, or a tombstone whose epoch is
//    still alive) and deletes live files sealed under an erased epoch older
//    than the current one. The tombstone makes a destroyed
//    partner's PUSH, DERK, STAT and new KCTL certificates fail with
//    kPermissionDenied ("destroyed"), so neither re-enrolment under the same RSA
//    key nor a replayed certificate can bring it back. Tombstones hold no
//    secret; their number is capped by refusing PUSH at max_tombstones. If a
//    crash leaves both files, Open keeps the tombstone and deletes the live file.
//  - A query certificate (KctlAction::kQuery, serial 0) is verified (signature,
//    window of at most one hour) and answered with the state and counters, for a
//    destroyed partner too (the tombstone keeps them); it changes nothing, is
//    never forwarded and does not touch the serials.
//  - KCTL serials start at 1 and must strictly increase. A certificate whose
//    serial, action and credits equal the last applied one (the same
//    certificate delivered again, e.g. forwarded by another peer) is ok with
//    advanced = false if its signature verifies and it is in date, and changes
//    nothing; any other serial <= last applied is kAlreadyExists (replay, as
//    VerifyKctl). forwards are returned only when advanced, so each certificate
//    is forwarded once.
//  - Thread-safe: one mutex serialises every call (including its fsyncs).
//  - Error messages never contain s, and name partners only by hashed file names.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "hsm/key_store.h"
#include "unseal/ecmr.h"
#include "unseal/kctl.h"
#include "unseal/partner_record.h"
#include "unseal/torm_wire.h"

namespace onionmail::unseal {

// Name of the partners directory inside the state directory.
inline constexpr char kPartnersDirName[] = "partners";

struct PartnerStoreOptions {
  size_t max_partners = 64;      // live records; PUSH beyond: kResourceExhausted
  size_t max_tombstones = 1024;  // PUSH refused (kResourceExhausted) once reached
  uint32_t max_credits = 1000;   // PUSH and reset-credits grant at most this
  uint32_t rate_limit_answers = 6;
  uint64_t rate_limit_window_s = 60;
  // Unix time in seconds; defaults to the wall clock. Tests inject their own.
  std::function<uint64_t()> clock;
};

struct PartnerControlOutcome {
  bool advanced = false;  // false: the same certificate again; nothing changed
  bool disabled = false;  // state after the call
  bool destroyed = false;
  uint32_t credits_left = 0;
  uint64_t answered_total = 0;    // DERK answers ever given to this partner
  uint64_t last_answer_unix = 0;  // 0: never
  // Destroy only: the record file could not be deleted yet (logged; retried
  // when the same certificate arrives again and at the next Open). s is gone
  // from memory and a tombstone is in place either way.
  bool cleanup_pending = false;
  std::vector<ForwardPeer> forwards;  // only when advanced
};

// For `onionmailctl status`; never contains s.
struct PartnerSummary {
  PartnerId partner_id{};
  std::string peer_id;  // empty for a destroyed partner
  uint8_t t = 0;
  uint8_t n = 0;
  uint32_t credits_left = 0;
  uint64_t answered_total = 0;
  uint64_t last_answer_unix = 0;
  uint64_t enrolled_unix = 0;
  uint64_t last_kctl_serial = 0;
  bool disabled = false;
  bool destroyed = false;
  size_t forward_count = 0;
};

class PartnerStore {
 public:
  // Creates `dir` (0700; its parent must exist) and loads every record. `keys`
  // must outlive the store. kInvalidArgument for bad options.
  [[nodiscard]] static Result<std::unique_ptr<PartnerStore>> Open(const std::string& dir,
                                                                  hsm::KeyStore& keys,
                                                                  PartnerStoreOptions options = {});

  PartnerStore(const PartnerStore&) = delete;
  PartnerStore& operator=(const PartnerStore&) = delete;

  // PUSH, after the caller checked the request's signature (VerifyRequest of
  // torm_wire.h gives partner_id): creates s and returns S and the credits
  // granted (min(credits_requested, max_credits); 0 requested is
  // kInvalidArgument). kAlreadyExists for an enrolled partner (s is never
  // replaced), kPermissionDenied for a destroyed one, kResourceExhausted past
  // max_partners / max_tombstones, kInvalidArgument for bad fields,
  // kUnauthenticated when SHA-256(spki_der) != partner_id.
  [[nodiscard]] Result<PushReply> Enrol(const PartnerId& partner_id,
                                        std::span<const uint8_t> spki_der, const PushBody& body);

  // DERK: Y = s*X after the durable counter update (see the contract above).
  [[nodiscard]] Result<DerkReply> Answer(const PartnerId& partner_id,
                                         std::span<const uint8_t> spki_der, const Point& X);

  // STAT: kNotFound, kPermissionDenied (destroyed), kUnauthenticated.
  [[nodiscard]] Result<StatReply> Stat(const PartnerId& partner_id,
                                       std::span<const uint8_t> spki_der);

  // KCTL: checks `cert` with VerifyKctl (kctl.h) against the KCTL key stored
  // at PUSH, the store's clock and the last applied serial, and applies it,
  // all under the store's lock (two deliveries of certificates cannot race).
  // Errors: kNotFound (unknown server_id), kDataLoss (unreadable record),
  // kPermissionDenied (destroyed), and VerifyKctl's: kUnauthenticated (bad
  // signature), kInvalidArgument (window > 30 days, credits != 0 for an action
  // other than reset-credits), kAlreadyExists (replayed serial),
  // kFailedPrecondition (not yet valid), kDeadlineExceeded (expired).
  // reset-credits sets min(credits, max_credits).
  [[nodiscard]] Result<PartnerControlOutcome> ApplyKctl(const KctlCert& cert);

  // Every known partner (live and destroyed), ordered by partner_id.
  [[nodiscard]] Result<std::vector<PartnerSummary>> List();

  // One safe-to-log line per file skipped at Open.
  std::vector<std::string> load_errors() const;

 private:
  struct Entry {
    PartnerRecord record;
    std::deque<uint64_t> recent_answers;  // unix times, for the rate limit
  };

  PartnerStore(std::string dir, hsm::KeyStore& keys, PartnerStoreOptions options);
  Result<void> Load();
  Result<void> LoadFile(const std::string& name);
  // The entry, or kNotFound / kDataLoss (record file unreadable at Open).
  Result<Entry*> Find(const PartnerId& partner_id);
  Result<std::string> PathOf(const PartnerId& partner_id, bool tombstone);
  Result<void> Write(const PartnerRecord& record, bool replace);
  Result<void> DeleteLiveFile(const PartnerId& partner_id);
  Result<PartnerControlOutcome> Destroy(Entry& entry, const KctlCert& cert);
  // Crypto-shred bookkeeping; call with mu_ held.
  bool NeedsRotationLocked() const;
  Result<void> RotateLocked();
  uint64_t Now() const;

  const std::string dir_;
  const std::string tmp_dir_;
  hsm::KeyStore& keys_;
  const PartnerStoreOptions options_;
  mutable std::mutex mu_;
  std::map<PartnerId, Entry> entries_;
  std::set<std::string> unreadable_;    // hex file names
  uint64_t epoch_ = 0;                  // erasable epoch of new writes; 0: none yet
  std::vector<uint64_t> alive_epochs_;  // epochs the device holds, ascending
  std::vector<std::string> load_errors_;
};

}  // namespace onionmail::unseal
