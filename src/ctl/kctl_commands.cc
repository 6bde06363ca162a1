// onionmailctl kctl (see kctl_commands.h).
#include "ctl/kctl_commands.h"

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "config/config.h"
#include "crypto/hex.h"
#include "ctl/output_files.h"
#include "peer/torm_client.h"
#include "smtp/base64.h"
#include "unseal/kctl.h"

namespace onionmail::ctl {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;
constexpr size_t kMaxCertFileBytes = 1024;

int UsageError(const std::string& why) {
  std::fprintf(stderr, "onionmailctl kctl: %s\nusage:\n%s", why.c_str(), kKctlUsage);
  return 2;
}

int Failed(const std::string& why) {
  std::fprintf(stderr, "onionmailctl kctl: %s\n", why.c_str());
  return 1;
}

// The certificate from --cert FILE (base64, surrounding whitespace ignored).
Result<std::vector<uint8_t>> ReadCertFile(const std::string& path) {
  bool loose = false;
  auto text = ReadSecretFile(path, kMaxCertFileBytes, &loose);  // not secret; size-bounded read
  if (!text.ok()) return text.error();
  std::string s(text->RevealString(SecretAccess::Grant()));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  auto raw = smtp::DecodeBase64(s);
  if (!raw.ok()) return MakeError(ErrorCode::kInvalidArgument, path + ": not base64");
  auto bytes = raw->Reveal(SecretAccess::Grant());
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  auto parsed = unseal::ParseKctl(out);
  if (!parsed.ok())
    return MakeError(ErrorCode::kInvalidArgument, path + ": " + parsed.error().message);
  return out;
}

// Builds and signs the certificate of the first form.
Result<std::vector<uint8_t>> SignOrder(const CommandLine& cl, bool* usage_error) {
  *usage_error = true;
  auto key_path = cl.One("--key");
  auto server_id = cl.One("--server-id");
  auto action = cl.One("--action");
  auto serial = cl.One("--serial");
  auto credits = cl.One("--credits");
  auto hours = cl.One("--valid-hours");
  for (const auto* r : {&key_path, &server_id, &action, &serial, &credits, &hours}) {
    if (!r->ok()) return r->error();
  }
  if (!*key_path || !*server_id || !*action) {
    return MakeError(ErrorCode::kInvalidArgument, "--key, --server-id and --action are required");
  }
  KctlOrder order;
  auto act = ParseKctlAction(**action);
  if (!act.ok()) return act.error();
  order.action = *act;
  const bool query = order.action == unseal::KctlAction::kQuery;
  if (query && *serial) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a query takes no --serial: it changes nothing and consumes no serial");
  }
  if (!query && !*serial) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    return MakeError(ErrorCode::kInvalidArgument,
                     "--serial N is required: a number above every serial used before for "
                     "this server (you keep the counter); the UTC date and time as YYYYMMDDHHMMSS "
                     "works well, e.g. --serial " +
                         std::string(stamp));
  }
  auto id = ParseHex32(**server_id, "--server-id");
  if (!id.ok()) return id.error();
  order.server_id = *id;
  if (!query) {
    auto n = ParseUnsigned(**serial, 1, UINT64_MAX, "--serial");
    if (!n.ok()) return n.error();
    order.serial = *n;
  }
  if (*credits) {
    auto c = ParseUnsigned(**credits, 1, UINT32_MAX, "--credits");
    if (!c.ok()) return c.error();
    order.credits = *c;
  }
  if (*hours && query) {
    order.valid_hours = 0;  // whatever was given: BuildKctlOrder refuses it for a query
  } else if (*hours) {
    auto h = ParseUnsigned(**hours, 1, kKctlMaxValidHours, "--valid-hours");
    if (!h.ok()) return h.error();
    order.valid_hours = *h;
  }
  auto cert = BuildKctlOrder(order, static_cast<uint64_t>(std::time(nullptr)));
  if (!cert.ok()) return cert.error();

  *usage_error = false;
  bool loose = false;
  auto pem = ReadSecretFile(**key_path, kMaxKeyFileBytes, &loose);
  if (!pem.ok()) return pem.error();
  if (loose) {
    std::fprintf(stderr,
                 "onionmailctl kctl: warning: %s can be read by other users (chmod 600 it)\n",
                 key_path->value().c_str());
  }
  auto seed = unseal::KctlPrivateKeyFromPem(*pem);
  if (!seed.ok()) return MakeError(seed.error().code, **key_path + ": " + seed.error().message);
  auto signed_cert = unseal::SignKctl(*seed, *cert);
  if (!signed_cert.ok()) return signed_cert.error();
  auto pub = unseal::KctlPublicKeyOf(*seed);
  if (pub.ok()) std::printf("KCTL key: %s\n", crypto::ToHex(*pub).c_str());
  return unseal::EncodeKctl(*signed_cert);
}

void PrintCertificate(const unseal::KctlCert& c) {
  std::printf("certificate: server %s, %s", crypto::ToHex(c.server_id).c_str(),
              std::string(KctlActionName(c.action)).c_str());
  if (c.action == unseal::KctlAction::kResetCredits) std::printf(" to %u", c.credits);
  if (c.action != unseal::KctlAction::kQuery) {
    std::printf(", serial %llu", static_cast<unsigned long long>(c.serial));
  }
  std::printf(", valid %s to %s\n", UtcIso8601(c.not_before).c_str(),
              UtcIso8601(c.not_after).c_str());
}

}  // namespace

int RunKctl(const CommandLine& cl) {
  if (cl.positional.size() != 1) return UsageError("kctl takes no other words");
  auto cert_path = cl.One("--cert");
  auto out_path = cl.One("--out");
  auto socks5 = cl.One("--socks5");
  for (const auto* r : {&cert_path, &out_path, &socks5}) {
    if (!r->ok()) return UsageError(r->error().message);
  }
  auto peers = ParsePeerSpecs(cl.All("--send"));
  if (!peers.ok()) return UsageError(peers.error().message);
  if (peers->empty() && !*out_path) {
    return UsageError("nothing to do: give --send HOST:PORT=PIN and/or --out FILE");
  }
  peer::ClientOptions options;
  if (!cl.config_path.empty()) {
    auto config = config::LoadConfig(cl.config_path);
    if (!config.ok()) return Failed(config.error().message);
    options.socks5_proxy = config->peer_socks5_proxy;
    options.timeout = std::chrono::seconds(config->peer_timeout_seconds);
  }
  if (*socks5) options.socks5_proxy = **socks5;

  std::vector<uint8_t> wire;
  if (*cert_path) {
    for (const char* o :
         {"--key", "--server-id", "--action", "--serial", "--credits", "--valid-hours"}) {
      if (cl.options.count(o) > 0) return UsageError(std::string(o) + " does not go with --cert");
    }
    if (*out_path) return UsageError("--out does not go with --cert");
    auto read = ReadCertFile(**cert_path);
    if (!read.ok()) return Failed(read.error().message);
    wire = std::move(*read);
  } else {
    std::unique_ptr<OutputFiles> out;
    if (*out_path) {
      auto prepared = OutputFiles::Prepare({**out_path}, WriterMode::kInProcess);
      if (!prepared.ok()) return Failed(prepared.error().message);
      out = std::move(*prepared);
    }
    bool usage_error = false;
    auto built = SignOrder(cl, &usage_error);
    if (!built.ok()) {
      return usage_error ? UsageError(built.error().message) : Failed(built.error().message);
    }
    wire = std::move(*built);
    if (out) {
      std::string text = smtp::EncodeBase64(wire) + "\n";
      auto written = out->Write(
          0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      if (!written.ok()) return Failed(written.error().message);
      std::printf("wrote the certificate to %s\n", out->path(0).c_str());
    }
  }
  auto cert = unseal::ParseKctl(wire);
  if (!cert.ok()) return Failed(cert.error().message);
  PrintCertificate(*cert);

  int status = 0;
  for (const PeerSpec& p : *peers) {
    peer::PeerEndpoint endpoint{p.address, p.pin};
    auto call = peer::TormCall(
        endpoint, mail::TormVerb::kKctl,
        [&wire](const mail::ChannelBinding&) -> Result<std::vector<uint8_t>> { return wire; },
        options);
    if (!call.ok()) {
      std::printf("peer %s: failed: %s\n", p.address.c_str(), call.error().message.c_str());
      status = 1;
      continue;
    }
    if (call->outcome != mail::TormOutcome::kOk) {
      std::string keyword(mail::TormOutcomeKeyword(call->outcome));
      std::printf("peer %s: refused: %s%s\n", p.address.c_str(), keyword.c_str(),
                  call->outcome == mail::TormOutcome::kReplayed
                      ? " (serial not above the last one this peer applied: use a larger "
                        "--serial)"
                      : "");
      status = 1;
      continue;
    }
    auto reply = ParseKctlReply(call->reply);
    if (!reply.ok()) {
      std::printf("peer %s: failed: %s\n", p.address.c_str(), reply.error().message.c_str());
      status = 1;
      continue;
    }
    std::printf("peer %s: %s\n", p.address.c_str(),
                DescribeKctlReply(*reply, cert->action).c_str());
  }
  return status;
}

}  // namespace onionmail::ctl
