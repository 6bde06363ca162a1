// onionmailctl pin / enrol / recover and the unseal part of status (see unseal_commands.h).
#include "ctl/unseal_commands.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "ctl/kctl_commands.h"
#include "ctl/output_files.h"
#include "ctl/peer_calls.h"
#include "ctl/unseal_args.h"
#include "peer/tls_client.h"
#include "server/state.h"
#include "store/durable_file.h"
#include "unseal/enrolment_record.h"
#include "unseal/kctl.h"
#include "unseal/master_key.h"
#include "unseal/recovery.h"

namespace onionmail::ctl {
namespace {

constexpr uint32_t kDefaultCredits = 1000;
constexpr size_t kMaxSharesFileBytes = 64 * 1024;
constexpr size_t kMaxStatusFileBytes = 64 * 1024;
constexpr size_t kKctlOut = 0;      // output index of the KCTL key
constexpr size_t kRecoveryOut = 1;  // output index of the recovery shares

int UsageError(const std::string& command, const std::string& why) {
  std::fprintf(stderr, "onionmailctl %s: %s\nusage:\n%s%s", command.c_str(), why.c_str(),
               kUnsealUsage, kKctlUsage);
  return 2;
}

int Failed(const std::string& command, const Error& e) {
  std::fprintf(stderr, "onionmailctl %s: %s\n", command.c_str(), e.message.c_str());
  return 1;
}

enum class EnrolKind { kNew, kReEnrol, kRecover };

struct EnrolPlan {
  EnrolKind kind = EnrolKind::kNew;
  int t = 0;
  std::vector<PeerSpec> peers;
  uint32_t credits = kDefaultCredits;
  std::optional<RecoverySplit> recovery;
  std::string socks5;
  std::vector<SecretBytes> shares;  // recover: the printed recovery shares
};

Result<EnrolPlan> ParseEnrolPlan(const CommandLine& cl, EnrolKind kind) {
  EnrolPlan plan;
  plan.kind = kind;
  if (cl.positional.size() != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "unexpected word " + cl.positional[1]);
  }
  auto peers = ParsePeerSpecs(cl.All("--peer"));
  if (!peers.ok()) return peers.error();
  plan.peers = std::move(*peers);
  if (plan.peers.empty() || plan.peers.size() + 1 > unseal::kMaxShares) {
    return MakeError(ErrorCode::kInvalidArgument, "give 1 to 31 --peer HOST:PORT=PIN");
  }
  const uint64_t n = plan.peers.size() + 1;
  auto threshold = cl.One("--threshold");
  if (!threshold.ok()) return threshold.error();
  if (!*threshold) return MakeError(ErrorCode::kInvalidArgument, "--threshold T is required");
  auto t =
      ParseUnsigned(**threshold, 2, n,
                    "--threshold (with " + std::to_string(n - 1) + " peers plus the local share)");
  if (!t.ok()) return t.error();
  plan.t = static_cast<int>(*t);
  auto credits = cl.One("--credits");
  auto recovery = cl.One("--recovery");
  auto recovery_out = cl.One("--recovery-out");
  auto kctl_out = cl.One("--kctl-out");
  auto socks5 = cl.One("--socks5");
  for (const auto* r : {&credits, &recovery, &recovery_out, &kctl_out, &socks5}) {
    if (!r->ok()) return r->error();
  }
  if (*credits) {
    auto c = ParseUnsigned(**credits, 1, UINT32_MAX, "--credits");
    if (!c.ok()) return c.error();
    plan.credits = static_cast<uint32_t>(*c);
  }
  if (recovery->has_value() != recovery_out->has_value()) {
    return MakeError(ErrorCode::kInvalidArgument, "--recovery and --recovery-out go together");
  }
  if (*recovery) {
    auto split = ParseRecoverySplit(**recovery);
    if (!split.ok()) return split.error();
    plan.recovery = *split;
  }
  if (!*kctl_out) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--kctl-out FILE is required (the new KCTL private key goes there)");
  }
  if (*socks5) plan.socks5 = **socks5;
  return plan;
}

// One recovery share per line; empty lines and lines starting with '#' are skipped.
Result<std::vector<SecretBytes>> ReadSharesFile(const std::string& path) {
  bool loose = false;
  auto text = ReadSecretFile(path, kMaxSharesFileBytes, &loose);
  if (!text.ok()) return text.error();
  if (loose) {
    std::fprintf(stderr, "onionmailctl recover: warning: %s can be read by other users\n",
                 path.c_str());
  }
  std::vector<SecretBytes> shares;
  std::string_view all = text->RevealString(SecretAccess::Grant());
  while (!all.empty()) {
    size_t end = all.find('\n');
    std::string_view line = all.substr(0, end);
    all = end == std::string_view::npos ? std::string_view() : all.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    shares.emplace_back(SecretAccess::Grant(), line);
  }
  if (shares.empty()) return MakeError(ErrorCode::kInvalidArgument, path + " holds no share");
  return shares;
}

// The recovery-share file: a comment header, then one share per line.
Result<SecretBytes> RecoveryFileText(const SecretBytes& master, const RecoverySplit& split,
                                     const std::string& server_id_hex) {
  auto shares = unseal::ExportRecoveryShares(master, split.t, split.n);
  if (!shares.ok()) return shares.error();
  std::string header = "# onionmail recovery shares of the master key of server " + server_id_hex +
                       "\n# any " + std::to_string(split.t) + " of these " +
                       std::to_string(split.n) +
                       " lines give the master key without the peers: keep each one\n"
                       "# offline in a different place, then delete this file.\n";
  size_t size = header.size();
  for (const SecretBytes& s : *shares) size += s.size() + 1;
  SecretBytes out(size);
  auto raw = out.Reveal(SecretAccess::Grant());
  size_t pos = 0;
  std::copy(header.begin(), header.end(), raw.begin());
  pos += header.size();
  for (const SecretBytes& s : *shares) {
    auto b = s.Reveal(SecretAccess::Grant());
    std::copy(b.begin(), b.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos));
    pos += b.size();
    raw[pos++] = '\n';
  }
  return out;
}

// Everything after the state is open, for enrol, enrol --re-enrol and recover.
Result<void> DoEnrol(server::State& state, const config::Config& config, EnrolPlan& plan,
                     OutputFiles& outputs) {
  const std::string& dir = config.state_dir;
  if (plan.kind == EnrolKind::kNew) {
    if (state.enrolled()) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "this state is already enrolled (" + unseal::EnrolmentPath(dir) +
                           "); to move the same master key to new peers use `enrol --re-enrol` "
                           "(asks the current peers) or `recover` (printed recovery shares)");
    }
    auto users = state.keys().CountUsers();
    if (!users.ok()) return users.error();
    if (*users > 0) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "this state has " + std::to_string(*users) +
                           " user(s): enrolment mixes a new master key into every derived key, "
                           "so their passwords and mail would no longer open; enrol before "
                           "adding users");
    }
  } else if (!state.enrolled()) {
    return MakeError(ErrorCode::kFailedPrecondition, "this state is not enrolled (no " +
                                                         unseal::EnrolmentPath(dir) +
                                                         "): use `enrol` without --re-enrol");
  }
  // Recovery shares are checked before anything goes to the network.
  SecretBytes master;
  if (plan.kind == EnrolKind::kRecover) {
    auto unsealer = unseal::Unsealer::Load(dir, state.device_keys());
    if (!unsealer.ok()) {
      return MakeError(unsealer.error().code,
                       "enrolment record: " + unsealer.error().message +
                           " (recover needs it: it holds the commitment that checks the shares)");
    }
    auto imported = unseal::ImportRecoveryShares(plan.shares, (*unsealer)->commitment());
    if (!imported.ok()) return imported.error();
    master = std::move(*imported);
    plan.shares.clear();
    std::printf("recovery shares accepted: they match this server's master key\n");
  }
  auto signer = TormSigner::Create(state);
  if (!signer.ok()) return signer.error();
  const std::string server_id = crypto::ToHex((*signer)->server_id());
  const peer::ClientOptions options = PeerOptions(config, plan.socks5);
  ONIONMAIL_RETURN_IF_ERROR(CheckPeersForEnrolment(plan.peers, **signer, options));
  if (plan.kind == EnrolKind::kReEnrol) {
    auto rebuilt = RecoverMasterFromPeers(state, **signer, options);
    if (!rebuilt.ok()) return rebuilt.error();
    master = std::move(*rebuilt);
  } else if (plan.kind == EnrolKind::kNew) {
    master = unseal::NewMasterKey();
  }
  auto kctl = unseal::GenerateKctlKey();
  if (!kctl.ok()) return kctl.error();
  auto pushed =
      PushToPeers(plan.peers, PushRequest{plan.t, kctl->pub, plan.credits}, **signer, options);
  if (!pushed.ok()) return pushed.error();

  // The peers hold their records: first the operator's files, then the record.
  const std::string not_done = plan.kind == EnrolKind::kNew
                                   ? "this state is NOT enrolled"
                                   : "the previous enrolment stays in place";
  auto pem = unseal::KctlPrivateKeyToPem(kctl->seed);
  if (!pem.ok()) return pem.error();
  auto kctl_written = outputs.Write(kKctlOut, pem->Reveal(SecretAccess::Grant()));
  if (!kctl_written.ok()) {
    return MakeError(kctl_written.error().code,
                     "cannot write the KCTL key: " + kctl_written.error().message +
                         "; the peers accepted the PUSH but " + not_done);
  }
  if (plan.recovery) {
    auto text = RecoveryFileText(master, *plan.recovery, server_id);
    Result<void> written = text.ok()
                               ? outputs.Write(kRecoveryOut, text->Reveal(SecretAccess::Grant()))
                               : Result<void>(text.error());
    if (!written.ok()) {
      return MakeError(written.error().code, "cannot write the recovery shares: " +
                                                 written.error().message + "; " + not_done +
                                                 " (the KCTL key for the peers' records "
                                                 "is in " +
                                                 outputs.path(kKctlOut) + ")");
    }
  }
  std::vector<unseal::EnrolPeer> enrol_peers;
  for (const PushedPeer& p : *pushed) enrol_peers.push_back(p.enrol);
  unseal::EnrolOptions enrol_options;
  enrol_options.mode =
      plan.kind == EnrolKind::kNew ? unseal::EnrolMode::kNew : unseal::EnrolMode::kReEnrolSameKey;
  auto summary =
      unseal::Enrol(dir, state.device_keys(), master, plan.t, enrol_peers, enrol_options);
  if (!summary.ok()) {
    if (plan.recovery) (void)outputs.Remove(kRecoveryOut);
    return MakeError(summary.error().code, "cannot write the enrolment record: " +
                                               summary.error().message + "; " + not_done +
                                               " (the peers accepted the PUSH; the KCTL "
                                               "key for their records is in " +
                                               outputs.path(kKctlOut) + ")");
  }

  std::printf("%s: server id %s\n", plan.kind == EnrolKind::kNew ? "enrolled" : "re-enrolled",
              server_id.c_str());
  std::printf(
      "threshold: %d of %d (%zu peer(s) + the local share sealed by this server's key "
      "store)\n",
      summary->t, summary->n, pushed->size());
  for (const PushedPeer& p : *pushed) {
    std::printf("peer %s: credits granted %u\n", p.enrol.peer_id.c_str(), p.credits_granted);
  }
  std::printf("KCTL private key: %s\n", outputs.path(kKctlOut).c_str());
  std::printf(
      "WARNING: move %s off this server (to the operator's offline machine) and delete it "
      "here: whoever holds it can disable, re-credit or destroy this server's records at "
      "every peer.\n",
      outputs.path(kKctlOut).c_str());
  if (plan.recovery) {
    std::printf("recovery shares: %s (any %d of %d)\n", outputs.path(kRecoveryOut).c_str(),
                plan.recovery->t, plan.recovery->n);
    std::printf(
        "WARNING: any %d of these shares give the master key without asking any peer. Print "
        "them, keep each in a different place, and delete %s here (shred -u).\n",
        plan.recovery->t, outputs.path(kRecoveryOut).c_str());
  }
  if (plan.kind != EnrolKind::kNew) {
    std::printf(
        "The old peers still hold records for this server: destroy them with the old "
        "KCTL key (onionmailctl kctl --action destroy) if you still have it.\n");
  }
  std::printf("Restart onionmaild: it starts sealed and asks the peers for the master key.\n");
  return Ok();
}

int RunPin(const CommandLine& cl, const DropPrivileges& drop) {
  if (cl.positional.size() != 1) return UsageError("pin", "pin takes no arguments");
  auto config = config::LoadConfig(cl.config_path);
  if (!config.ok()) return Failed("pin", config.error());
  if (::geteuid() == 0) {
    auto dropped = drop(*config);
    if (!dropped.ok()) return Failed("pin", dropped.error());
  }
  auto cert = store::ReadSmallFile(config->tls_cert_path(), 64 * 1024);
  if (!cert.ok()) return Failed("pin", cert.error());
  auto pin = peer::SpkiPinOfCertificatePem(
      std::string_view(reinterpret_cast<const char*>(cert->data()), cert->size()));
  if (!pin.ok()) return Failed("pin", pin.error());
  auto state = server::State::Open(*config);
  if (!state.ok()) return Failed("pin", state.error());
  auto spki = (*state)->ServerPublicKey();
  if (!spki.ok()) return Failed("pin", spki.error());
  std::printf("tls-pin: %s\nserver-id: %s\n", crypto::ToHex(*pin).c_str(),
              crypto::ToHex(unseal::PartnerIdOf(*spki)).c_str());
  return 0;
}

std::string UtcTime(uint64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// `peers`: the counters each unseal peer keeps for this server (signed STAT,
// costs no credit). An unexpected rise of "answered" means this server (or a
// copy of its disk and device) booted: the reason to read them.
int RunPeers(const CommandLine& cl, const DropPrivileges& drop) {
  if (cl.positional.size() != 1) return UsageError("peers", "peers takes no arguments");
  auto config = config::LoadConfig(cl.config_path);
  if (!config.ok()) return Failed("peers", config.error());
  if (::geteuid() == 0) {
    auto dropped = drop(*config);
    if (!dropped.ok()) return Failed("peers", dropped.error());
  }
  auto state = server::State::Open(*config);
  if (!state.ok()) return Failed("peers", state.error());
  auto unsealer = unseal::Unsealer::Load(config->state_dir, (*state)->device_keys());
  if (!unsealer.ok()) return Failed("peers", unsealer.error());
  auto signer = TormSigner::Create(**state);
  if (!signer.ok()) return Failed("peers", signer.error());
  peer::ClientOptions options = PeerOptions(*config, "");
  int failures = 0;
  for (const unseal::UnsealPeer& p : (*unsealer)->peers()) {
    auto call = peer::TormCall(
        peer::PeerEndpoint{p.peer_id, p.tls_pin}, mail::TormVerb::kStat,
        [&](const mail::ChannelBinding& binding) {
          return (*signer)->Sign(unseal::Verb::kStat, binding, unseal::EncodeStatBody());
        },
        options);
    std::printf("peer %zu %s: ", p.index, p.peer_id.c_str());
    if (!call.ok() || call->outcome != mail::TormOutcome::kOk) {
      std::printf("%s\n", DescribeFailure(call).c_str());
      ++failures;
      continue;
    }
    auto stat = unseal::ParseStatReply(call->reply);
    if (!stat.ok()) {
      std::printf("unreadable STAT reply\n");
      ++failures;
      continue;
    }
    std::printf("answered %llu, credits left %u, last answer %s%s\n",
                static_cast<unsigned long long>(stat->answered_total), stat->credits_left,
                UtcTime(stat->last_answer_unix).c_str(), stat->disabled ? ", DISABLED" : "");
  }
  return failures == 0 ? 0 : 1;
}

int RunEnrolCommand(const CommandLine& cl, const std::string& name, const DropPrivileges& drop) {
  EnrolKind kind = name == "recover"      ? EnrolKind::kRecover
                   : cl.Has("--re-enrol") ? EnrolKind::kReEnrol
                                          : EnrolKind::kNew;
  auto plan = ParseEnrolPlan(cl, kind);
  if (!plan.ok()) return UsageError(name, plan.error().message);
  auto config = config::LoadConfig(cl.config_path);
  if (!config.ok()) return Failed(name, config.error());
  // Every input and output before the privilege drop.
  if (kind == EnrolKind::kRecover) {
    auto path = cl.One("--shares-file");
    if (!path.ok()) return UsageError(name, path.error().message);
    if (!*path) return UsageError(name, "--shares-file FILE is required");
    auto shares = ReadSharesFile(**path);
    if (!shares.ok()) return Failed(name, shares.error());
    plan->shares = std::move(*shares);
  }
  std::vector<std::string> out_paths{*cl.One("--kctl-out").value()};
  if (plan->recovery) out_paths.push_back(*cl.One("--recovery-out").value());
  auto outputs = OutputFiles::Prepare(out_paths);
  if (!outputs.ok()) return Failed(name, outputs.error());
  if (::geteuid() == 0) {
    auto dropped = drop(*config);
    if (!dropped.ok()) return Failed(name, dropped.error());
  }
  auto state = server::State::Open(*config);
  if (!state.ok()) return Failed(name, state.error());
  auto done = DoEnrol(**state, *config, *plan, **outputs);
  if (!done.ok()) return Failed(name, done.error());
  return 0;
}

}  // namespace

std::optional<int> RunUnsealCommand(int argc, char** argv, const DropPrivileges& drop) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string name;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      ++i;
    } else if (args[i].rfind("--", 0) != 0) {
      name = args[i];
      break;
    }
  }
  static const std::set<std::string> kEnrolOptions = {
      "--threshold", "--peer",         "--kctl-out", "--credits",
      "--recovery",  "--recovery-out", "--socks5",   "--shares-file"};
  static const std::set<std::string> kKctlOptions = {
      "--key",         "--server-id", "--action", "--serial", "--credits",
      "--valid-hours", "--send",      "--socks5", "--out",    "--cert"};
  if (name == "kctl") {
    auto cl = ParseCommandLine(args, kKctlOptions, {});
    if (!cl.ok()) return UsageError(name, cl.error().message);
    return RunKctl(*cl);
  }
  if (name == "pin") {
    auto cl = ParseCommandLine(args, {}, {});
    if (!cl.ok()) return UsageError(name, cl.error().message);
    return RunPin(*cl, drop);
  }
  if (name == "peers") {
    auto cl = ParseCommandLine(args, {}, {});
    if (!cl.ok()) return UsageError(name, cl.error().message);
    return RunPeers(*cl, drop);
  }
  if (name == "enrol" || name == "recover") {
    std::set<std::string> valued = kEnrolOptions;
    if (name == "enrol") valued.erase("--shares-file");
    std::set<std::string> flags;
    if (name == "enrol") flags.insert("--re-enrol");
    auto cl = ParseCommandLine(args, valued, flags);
    if (!cl.ok()) return UsageError(name, cl.error().message);
    return RunEnrolCommand(*cl, name, drop);
  }
  return std::nullopt;
}

void PrintUnsealStatus(const config::Config& config) {
  const std::string dir = unseal::UnsealDir(config.state_dir);
  auto status = store::ReadSmallFile(dir + "/status", kMaxStatusFileBytes);
  if (status.ok()) {
    std::printf("unseal (as the running server last wrote it):\n");
    std::fwrite(status->data(), 1, status->size(), stdout);
  } else if (::access(unseal::EnrolmentPath(config.state_dir).c_str(), F_OK) == 0) {
    std::printf("unseal: enrolled; no status yet (the server has not run since enrolment)\n");
  } else {
    std::printf("unseal: not enrolled\n");
  }
}

}  // namespace onionmail::ctl
