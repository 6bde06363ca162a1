// make_ipc_seeds <dir>: writes one seed of the ipc fuzz target per message of
// src/ipc/messages.h into <dir> (normally tests/fuzz/corpus/ipc), each made
// by ipc::Encode from a plausible message, so that every decoder is reached
// from the start. Run after adding a message; the output is committed (the
// fuzz target sets the version field itself, so a version bump does not make
// the seeds stale). Exits non-zero if a message does not encode or a message
// of ipc::Message has no sample.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "ipc/codec.h"
#include "ipc/messages.h"

namespace {

using namespace onionmail;
using namespace onionmail::ipc;

constexpr char kOnion[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

SecretBytes Secret(const std::string& s) { return SecretBytes(SecretAccess::Grant(), s); }
std::vector<uint8_t> Bytes(size_t n, uint8_t fill) { return std::vector<uint8_t>(n, fill); }

// "TkimProvenRequest" -> "tkim_proven_request".
std::string FileName(const std::string& type) {
  std::string out;
  for (char c : type) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::pair<std::string, Message>> Samples() {
  mail::ChannelBinding cb{};
  cb.fill(0x5a);
  std::vector<std::pair<std::string, Message>> m;
  m.emplace_back("Hello", Hello{Role::kSmtp, kProtocolVersion});
  m.emplace_back("Shutdown", Shutdown{});
  m.emplace_back("AcceptedConnection", AcceptedConnection{1});
  m.emplace_back("VerifySmtpPasswordRequest", VerifySmtpPasswordRequest{"alice", Secret("pw")});
  m.emplace_back("VerifyResult", VerifyResult{Status::kUnauthenticated});
  m.emplace_back("LookupUserRequest", LookupUserRequest{"alice"});
  LookupUserReply lookup;
  lookup.mailbox_id = "4f1c2a9b";
  lookup.public_key = Bytes(32, 7);
  m.emplace_back("LookupUserReply", std::move(lookup));
  m.emplace_back("OpenInboxRequest", OpenInboxRequest{"alice", Secret("pw")});
  m.emplace_back("OpenInboxReply", OpenInboxReply{Status::kOk, 42});
  m.emplace_back("UnwrapDataKeyRequest", UnwrapDataKeyRequest{42, Bytes(256, 3)});
  m.emplace_back("UnwrapDataKeyReply",
                 UnwrapDataKeyReply{Status::kOk, Secret(std::string(32, 'k'))});
  m.emplace_back("CloseInboxRequest", CloseInboxRequest{42});
  m.emplace_back("HashedNameRequest", HashedNameRequest{"mailbox", "alice"});
  m.emplace_back("HashedNameReply", HashedNameReply{Status::kOk, "4f1c2a9b"});
  m.emplace_back("NewSession", NewSession{});
  m.emplace_back("StatusReply", StatusReply{Status::kOk});
  m.emplace_back("CheckRecipientRequest",
                 CheckRecipientRequest{"bob", 1024, std::string("alice@") + kOnion});
  m.emplace_back("BeginMessageRequest", BeginMessageRequest{"alice@x.onion", {"bob", "carol"}});
  m.emplace_back("AppendRequest", AppendRequest{Bytes(64, 'a')});
  m.emplace_back("CommitRequest", CommitRequest{});
  m.emplace_back("AbortMessageRequest", AbortMessageRequest{});
  m.emplace_back("CloseMailboxRequest", CloseMailboxRequest{});
  m.emplace_back("OpenMailboxRequest", OpenMailboxRequest{"alice", Secret("pw")});
  m.emplace_back("OpenMailboxReply", OpenMailboxReply{Status::kOk, 2});
  m.emplace_back("MailboxListing", MailboxListing{{{"uid1", 100}, {"uid2", 2000}}});
  m.emplace_back("ReadMessageRequest", ReadMessageRequest{1});
  m.emplace_back("MessageChunk", MessageChunk{Bytes(64, 'm')});
  m.emplace_back("ExpungeRequest", ExpungeRequest{{0, 2}});
  m.emplace_back("TlsSignRequest", TlsSignRequest{Bytes(256, 1)});
  m.emplace_back("TlsEcdsaSignRequest", TlsEcdsaSignRequest{Bytes(32, 2), 1});
  m.emplace_back("TlsSignReply", TlsSignReply{Status::kOk, Bytes(64, 3)});
  m.emplace_back("TlsIdentityRequest", TlsIdentityRequest{});
  TlsIdentityReply identity;
  const std::string pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
  identity.certificate_pem.assign(pem.begin(), pem.end());
  identity.public_key = Bytes(65, 4);
  identity.generation = 1;
  m.emplace_back("TlsIdentityReply", std::move(identity));
  m.emplace_back("TormRequest", TormRequest{mail::TormVerb::kDerk, cb, Bytes(48, 5)});
  m.emplace_back("TormReply", TormReply{mail::TormOutcome::kOk, Bytes(16, 6)});
  m.emplace_back("UnsealPlanRequest", UnsealPlanRequest{});
  UnsealPlan plan{true, true, {}};
  plan.targets.push_back(UnsealTarget{1, std::string(kOnion) + ":25", {}});
  m.emplace_back("UnsealPlan", std::move(plan));
  m.emplace_back("DerkPrepareRequest", DerkPrepareRequest{1, cb});
  m.emplace_back("DerkPrepareReply", DerkPrepareReply{Status::kOk, Bytes(48, 7)});
  m.emplace_back("DerkResultRequest",
                 DerkResultRequest{1, true, mail::TormOutcome::kOk, Bytes(48, 8), ""});
  m.emplace_back("UnsealProgress", UnsealProgress{Status::kOk, true, 1, 2});
  m.emplace_back("ForwardPollRequest", ForwardPollRequest{});
  ForwardList forwards;
  forwards.items.push_back(ForwardItem{Bytes(126, 9), std::string(kOnion) + ":25", {}});
  m.emplace_back("ForwardList", std::move(forwards));
  m.emplace_back("RelayBeginRequest",
                 RelayBeginRequest{kOnion, std::string("alice@") + kOnion, 1024, true});
  m.emplace_back("RelayRcptRequest", RelayRcptRequest{std::string("bob@") + kOnion});
  m.emplace_back("RelayDataRequest", RelayDataRequest{});
  m.emplace_back("RelayAppendRequest", RelayAppendRequest{Bytes(64, 'r')});
  m.emplace_back("RelayEndRequest", RelayEndRequest{});
  m.emplace_back("RelayReply", RelayReply{Status::kOk, 250, "2.0.0"});
  m.emplace_back("ServerKeyRequest", ServerKeyRequest{});
  m.emplace_back("ServerKeyReply", ServerKeyReply{Status::kOk, Bytes(294, 10)});
  m.emplace_back("TkimProofRequest", TkimProofRequest{kOnion, cb});
  m.emplace_back("TkimProofReply", TkimProofReply{Status::kOk, Bytes(100, 11)});
  m.emplace_back("TkimCheckRequest", TkimCheckRequest{cb, Bytes(100, 12)});
  m.emplace_back("TkimCheckReply", TkimCheckReply{Status::kOk, kOnion, Bytes(kTkimVouchBytes, 13)});
  m.emplace_back("BlockListRequest", BlockListRequest{1, "spam@example.org"});
  m.emplace_back("BlockListReply", BlockListReply{Status::kOk, {"spam@example.org"}});
  m.emplace_back("ListRequest", ListRequest{6, "team", std::string("dave@") + kOnion});
  m.emplace_back("ListReply", ListReply{Status::kOk, "alice", {"alice", "bob"}, false, true});
  m.emplace_back("RegisterRequest",
                 RegisterRequest{Secret(std::string(kVoucherBytes, 'a')), "erin"});
  m.emplace_back("RegisterReply",
                 RegisterReply{Status::kOk, Secret(std::string(kGeneratedPasswordBytes, 'b')),
                               Secret(std::string(kGeneratedPasswordBytes, 'c'))});
  m.emplace_back("IssueVouchersRequest", IssueVouchersRequest{2});
  IssueVouchersReply issued;
  issued.vouchers.push_back(Secret(std::string(kVoucherBytes, 'd')));
  issued.vouchers.push_back(Secret(std::string(kVoucherBytes, '7')));
  m.emplace_back("IssueVouchersReply", std::move(issued));
  m.emplace_back("TkimVouchRequest", TkimVouchRequest{kOnion});
  m.emplace_back("TkimVouchReply", TkimVouchReply{Status::kOk, kOnion, Bytes(kTkimVouchBytes, 14)});
  m.emplace_back("TkimProvenRequest", TkimProvenRequest{kOnion, Bytes(kTkimVouchBytes, 15)});
  m.emplace_back("VmatLookupRequest", VmatLookupRequest{"alice"});
  m.emplace_back("VmatOwnRequest", VmatOwnRequest{1});
  m.emplace_back("VmatSenderRequest",
                 VmatSenderRequest{"alice@" + std::string(56, 'a') + ".onion"});
  m.emplace_back("VmatServerRequest", VmatServerRequest{1, "dave", "dave.b"});
  m.emplace_back("RelayVmatRequest", RelayVmatRequest{1, "dave", "dave.b"});
  m.emplace_back("VmatLookupReply", VmatLookupReply{Status::kOk, std::string("alice@") + kOnion});
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_ipc_seeds <corpus/ipc dir>\n");
    return 2;
  }
  int failed = 0;
  const auto samples = Samples();
  std::set<MsgType> covered;
  for (const auto& sample : samples) covered.insert(TypeOf(sample.second));
  if (covered.size() != std::variant_size_v<Message>) {
    std::fprintf(stderr, "make_ipc_seeds: %zu of %zu messages have a sample\n", covered.size(),
                 std::variant_size_v<Message>);
    ++failed;
  }
  for (const auto& [type, message] : samples) {
    auto bytes = Encode(message);
    if (!bytes.ok()) {
      std::fprintf(stderr, "make_ipc_seeds: %s does not encode: %s\n", type.c_str(),
                   bytes.error().message.c_str());
      ++failed;
      continue;
    }
    std::ofstream out(std::string(argv[1]) + "/" + FileName(type), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()),
              static_cast<std::streamsize>(bytes->size()));
    if (!out) ++failed;
  }
  return failed == 0 ? 0 : 1;
}
