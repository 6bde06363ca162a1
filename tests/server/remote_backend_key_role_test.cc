// End to end tests of the front ends' side of the key role (remote_backend.h)
// and of the key role's session server (key_service_role.h): a real State
// (file key store, LocalKeyService, MailboxStore over a temp dir) served by
// KeyRoleServer::ServeControl in a thread; the test plays the front end
// (NewSession + fd, SessionLink, RemoteDelivery, RemoteMailboxes). The fixture
// is in remote_backend_fixture.h; remote_backend_test.cc covers replies a real
// key role does not send.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "tests/crypto/ecdsa_test_util.h"
#include "tests/server/remote_backend_fixture.h"

namespace onionmail::server {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

TEST_F(KeyRoleTest, SmtpPasswordIsVerifiedAndUnknownRecipientIsNotFound) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  EXPECT_TRUE(delivery.VerifySmtpPassword(user, Pw(user + "-smtp")).ok());
  EXPECT_TRUE(Fails(delivery.VerifySmtpPassword(user, Pw("wrong")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(
      Fails(delivery.VerifySmtpPassword(user, Pw(user + "-pop3")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(Fails(delivery.VerifySmtpPassword("nobody", Pw("x")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(delivery.CheckRecipient(user, 0, "").ok());
  EXPECT_TRUE(Fails(delivery.CheckRecipient("no-such-user", 0, ""), ErrorCode::kNotFound));
  EXPECT_TRUE(delivery.CheckRecipient(user, 0, "").ok());  // the session goes on
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, BigMessageIsDeliveredListedReadExactlyAndExpunged) {
  std::string user = NewUser();
  const std::string text = BigMessage();
  {
    auto link = smtp_.NewSession();
    RemoteDelivery delivery(*link);
    auto w = delivery.BeginMessage(mail::Envelope{"", {user}});  // null reverse-path
    ASSERT_TRUE(w.ok()) << w.error().message;
    // Uneven pieces: one byte, one over a chunk, the rest in one call.
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(text).substr(0, 1))).ok());
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(text).substr(1, 40000))).ok());
    ASSERT_TRUE((*w)->Append(AsBytes(std::string_view(text).substr(40001))).ok());
    auto c = (*w)->Commit();
    ASSERT_TRUE(c.ok()) << c.error().message;
  }
  auto link = pop3_.NewSession();
  RemoteMailboxes boxes(*link);
  auto box = boxes.Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok()) << box.error().message;
  ASSERT_EQ((*box)->Messages().size(), 1u);
  EXPECT_EQ((*box)->Messages()[0].size, text.size());
  EXPECT_FALSE((*box)->Messages()[0].uid.empty());

  EXPECT_EQ(ReadAll(**box, 0), text);

  // A sink that stops after the first chunk (TOP): its error comes back and
  // the rest of the stream is drained, so the session stays usable.
  size_t calls = 0;
  auto stopped = (*box)->Read(0, [&](std::span<const uint8_t>) -> Result<void> {
    ++calls;
    return MakeError(ErrorCode::kResourceExhausted, "enough");
  });
  EXPECT_TRUE(Fails(stopped, ErrorCode::kResourceExhausted));
  EXPECT_EQ(calls, 1u);
  EXPECT_FALSE(link->broken());
  EXPECT_EQ(ReadAll(**box, 0), text);

  const size_t first = 0;
  ASSERT_TRUE((*box)->Expunge(std::span<const size_t>(&first, 1)).ok());
  box->reset();  // releases the mailbox (and its lock) with the session
  link.reset();
  EXPECT_TRUE(Holds(user, {}));
}

TEST_F(KeyRoleTest, WrongPop3PasswordIsUnauthenticated) {
  std::string user = NewUser();
  auto link = pop3_.NewSession();
  RemoteMailboxes boxes(*link);
  for (const std::string& pw : {std::string("wrong"), user + "-smtp", std::string()}) {
    EXPECT_TRUE(Fails(boxes.Open(user, Pw(pw)), ErrorCode::kUnauthenticated)) << pw;
  }
  EXPECT_TRUE(Fails(boxes.Open("nobody", Pw("x")), ErrorCode::kUnauthenticated));
  EXPECT_TRUE(boxes.Open(user, Pw(user + "-pop3")).ok());  // same session, right password
}

TEST_F(KeyRoleTest, MessageNotCommittedWhenSessionClosesLeavesNoMessage) {
  std::string user = NewUser();
  {
    auto link = smtp_.NewSession();
    RemoteDelivery delivery(*link);
    auto w = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes(BigMessage())).ok());
    link->Break();  // the client vanished: channel closed, no AbortMessageRequest
    w->reset();
  }
  EXPECT_TRUE(Eventually([] { return onionmail::testing::FilesUnder(Tmp()).empty(); }))
      << "the half-written message is left in " << Tmp();
  EXPECT_TRUE(Holds(user, {}));
}

TEST_F(KeyRoleTest, AbortedMessageIsDiscardedAndTheNextOneIsStored) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  {
    auto w = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes("Subject: aborted\r\n\r\nRSET\r\n")).ok());
  }  // writer destroyed without Commit: AbortMessageRequest
  auto w = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(AsBytes("Subject: kept\r\n\r\nhi\r\n")).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_TRUE(Holds(user, {"Subject: kept\r\n\r\nhi\r\n"}));
}

// mail::DeliveryBackend (backend.h): "a writer destroyed without a
// successful Commit() leaves nothing behind" -- it must not take another
// writer's message with it. LocalBackend keeps writers independent.
TEST_F(KeyRoleTest, DroppingAnAbandonedWriterDoesNotDiscardALaterMessage) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  RemoteDelivery delivery(*link);
  auto first = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
  ASSERT_TRUE(first.ok());
  auto second = delivery.BeginMessage(mail::Envelope{"a@b.onion", {user}});
  ASSERT_TRUE(second.ok());
  first->reset();  // abandoned, never committed
  ASSERT_TRUE((*second)->Append(AsBytes("Subject: second\r\n\r\n2\r\n")).ok());
  EXPECT_TRUE((*second)->Commit().ok()) << "the first writer's abort discarded the second message";
  EXPECT_TRUE(Holds(user, {"Subject: second\r\n\r\n2\r\n"}));
}

TEST_F(KeyRoleTest, CommitWithoutBeginIsFailedPrecondition) {
  auto link = smtp_.NewSession();
  EXPECT_EQ(StatusOf(*link, ipc::CommitRequest{}), ipc::Status::kFailedPrecondition);
  // An Append outside a message is reported by the next commit's reply.
  ASSERT_TRUE(link->Send(ipc::AppendRequest{{'x'}}).ok());
  EXPECT_EQ(StatusOf(*link, ipc::CommitRequest{}), ipc::Status::kFailedPrecondition);
}

TEST_F(KeyRoleTest, SmtpSessionSendingOpenMailboxIsEnded) {
  std::string user = NewUser();
  auto link = smtp_.NewSession();
  auto r = link->Call<ipc::OpenMailboxReply>(
      ipc::Message(ipc::OpenMailboxRequest{user, Pw(user + "-pop3")}), 10s);
  EXPECT_TRUE(Fails(r, ErrorCode::kUnavailable));
  EXPECT_TRUE(link->broken());
  EXPECT_TRUE(Fails(RemoteDelivery(*link).CheckRecipient(user, 0, ""), ErrorCode::kUnavailable));
  // Only that session ended: the control channel still serves new ones.
  auto fresh = smtp_.NewSession();
  EXPECT_TRUE(RemoteDelivery(*fresh).CheckRecipient(user, 0, "").ok());
}

TEST_F(KeyRoleTest, Pop3SessionSendingSmtpRequestsIsEnded) {
  std::string user = NewUser();
  std::vector<ipc::Message> requests;
  requests.emplace_back(ipc::VerifySmtpPasswordRequest{user, Pw(user + "-smtp")});
  requests.emplace_back(ipc::CheckRecipientRequest{user, 0, ""});
  requests.emplace_back(ipc::BeginMessageRequest{"", {user}});
  for (const ipc::Message& m : requests) {
    auto link = pop3_.NewSession();
    ASSERT_TRUE(link->Send(m).ok());
    EXPECT_TRUE(Fails(link->Receive(10s), ErrorCode::kUnavailable))
        << static_cast<int>(ipc::TypeOf(m));
  }
}

TEST_F(KeyRoleTest, InvalidLocalPartEndsTheSmtpSession) {
  auto link = smtp_.NewSession();
  EXPECT_TRUE(
      Fails(RemoteDelivery(*link).CheckRecipient("Bob..x", 0, ""), ErrorCode::kUnavailable));
}

TEST_F(KeyRoleTest, Pop3RequestsOutOfRangeOrBeforeOpenAreRefused) {
  std::string user = NewUser();
  {
    auto smtp = smtp_.NewSession();
    auto w = RemoteDelivery(*smtp).BeginMessage(mail::Envelope{"a@b.onion", {user}});
    ASSERT_TRUE(w.ok() && (*w)->Append(AsBytes("Subject: one\r\n\r\n1\r\n")).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto link = pop3_.NewSession();
  EXPECT_EQ(StatusOf(*link, ipc::ReadMessageRequest{0}), ipc::Status::kFailedPrecondition);
  RemoteMailboxes boxes(*link);
  auto box = boxes.Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok());
  ASSERT_EQ((*box)->Messages().size(), 1u);
  EXPECT_EQ(StatusOf(*link, ipc::ReadMessageRequest{1}), ipc::Status::kInvalidArgument);
  EXPECT_EQ(StatusOf(*link, ipc::ExpungeRequest{{0, 1}}), ipc::Status::kInvalidArgument);
  EXPECT_EQ((*box)->Messages().size(), 1u);  // nothing deleted by the refused batch
  box->reset();
  link.reset();
  EXPECT_TRUE(Holds(user, {"Subject: one\r\n\r\n1\r\n"}));
}

TEST_F(KeyRoleTest, MailboxLockIsHeldBySessionAndReleasedWhenItCloses) {
  std::string user = NewUser();
  auto first = pop3_.NewSession();
  auto box = RemoteMailboxes(*first).Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok());
  auto second = pop3_.NewSession();
  EXPECT_TRUE(Fails(RemoteMailboxes(*second).Open(user, Pw(user + "-pop3")),
                    ErrorCode::kFailedPrecondition));
  first->Break();  // the link is gone: closing the mailbox cannot reach the key role
  box->reset();    // (and returns at once);
  first.reset();   // the session's end releases the lock
  EXPECT_TRUE(Eventually([&] {
    auto again = RemoteMailboxes(*second).Open(user, Pw(user + "-pop3"));
    return again.ok();
  }));
}

TEST_F(KeyRoleTest, ClosingTheMailboxReleasesTheLockBeforeTheSessionEnds) {
  // POP3 QUIT (RFC 1939 UPDATE state): the lock is gone when the close is
  // answered, while the session is still open.
  std::string user = NewUser();
  auto first = pop3_.NewSession();
  auto box = RemoteMailboxes(*first).Open(user, Pw(user + "-pop3"));
  ASSERT_TRUE(box.ok());
  box->reset();
  auto second = pop3_.NewSession();
  EXPECT_TRUE(RemoteMailboxes(*second).Open(user, Pw(user + "-pop3")).ok());
  EXPECT_EQ(StatusOf(*first, ipc::CloseMailboxRequest{}), ipc::Status::kOk);  // none open: kOk
}

// A DigestInfo-padded PKCS#1 v1.5 block of SHA-256("handshake") for the RSA
// server key, and that hash.
Bytes Pkcs1Block(uint8_t (&hash)[32]) {
  static const uint8_t kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                          0x01, 0x05, 0x00, 0x04, 0x20};
  unsigned int hash_len = 0;
  EXPECT_EQ(EVP_Digest("handshake", 9, hash, &hash_len, EVP_sha256(), nullptr), 1);
  Bytes block(Env().modulus_bits / 8, 0xff);  // 00 01 FF..FF 00 DigestInfo
  const size_t t = block.size() - sizeof(kSha256Prefix) - 32;
  block[0] = 0x00;
  block[1] = 0x01;
  block[t - 1] = 0x00;
  std::memcpy(&block[t], kSha256Prefix, sizeof(kSha256Prefix));
  std::memcpy(&block[t + sizeof(kSha256Prefix)], hash, 32);
  return block;
}

EVP_PKEY* ParseKey(const Bytes& spki) {
  const unsigned char* p = spki.data();
  return d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
}

TEST_F(KeyRoleTest, TlsEcdsaSignRequestReturnsASignatureOfTheCertificatesKey) {
  uint8_t hash[32];
  unsigned int hash_len = 0;
  ASSERT_EQ(EVP_Digest("handshake", 9, hash, &hash_len, EVP_sha256(), nullptr), 1);
  for (ControlChannel* fe : {&smtp_, &pop3_}) {
    auto link = fe->NewSession();
    auto id = link->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->public_key, Env().public_key);
    auto sig = link->SignEcdsa(Bytes(hash, hash + 32));
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    ASSERT_EQ(sig->size(), 64u);  // r || s
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(id->public_key, hash, *sig));
    hash[0] ^= 1;
    EXPECT_FALSE(onionmail::testing::VerifyP256RawSignature(id->public_key, hash, *sig));
    hash[0] ^= 1;
  }
}

TEST_F(KeyRoleTest, RsaSignRequestIsRefusedWhenTheCertificateIsForTheTlsKey) {
  // The RSA server key signs TORM requests and KCTL answers: with an ECDSA
  // certificate no front end may use it, not even with a valid block.
  uint8_t hash[32];
  Bytes block = Pkcs1Block(hash);
  for (ControlChannel* fe : {&smtp_, &pop3_}) {
    auto link = fe->NewSession();
    EXPECT_TRUE(Fails(link->Sign(block), ErrorCode::kPermissionDenied));
    EXPECT_FALSE(link->broken());
  }
}

TEST_F(KeyRoleTest, EcdsaSignRequestIsRefusedWhenTheCertificateIsForTheServerKey) {
  ControlChannel smtp(*Env().rsa_server, FrontEnd::kSmtp);
  auto link = smtp.NewSession();
  EXPECT_TRUE(Fails(link->SignEcdsa(Bytes(32, 7)), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(link->broken());
}

TEST_F(KeyRoleTest, TlsSignRequestWithRandomBlockIsPermissionDenied) {
  ControlChannel smtp(*Env().rsa_server, FrontEnd::kSmtp);
  ControlChannel pop3(*Env().rsa_server, FrontEnd::kPop3);
  for (ControlChannel* fe : {&smtp, &pop3}) {
    auto link = fe->NewSession();
    Bytes block(Env().modulus_bits / 8);
    ASSERT_EQ(RAND_bytes(block.data(), static_cast<int>(block.size())), 1);
    block[0] = 0;
    EXPECT_TRUE(Fails(link->Sign(block), ErrorCode::kPermissionDenied));
    EXPECT_FALSE(link->broken());  // refused, not ended: the identity is still served
    auto id = link->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(std::string(id->certificate_pem.begin(), id->certificate_pem.end()),
              Env().certificate_pem);
    EXPECT_EQ(id->public_key, Env().server_key);
  }
}

TEST_F(KeyRoleTest, TlsSignRequestWithPkcs1BlockReturnsAVerifiableSignature) {
  uint8_t hash[32];
  Bytes block = Pkcs1Block(hash);
  ControlChannel pop3(*Env().rsa_server, FrontEnd::kPop3);
  auto link = pop3.NewSession();
  auto sig = link->Sign(block);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EVP_PKEY* key = ParseKey(Env().server_key);
  ASSERT_NE(key, nullptr);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  ASSERT_EQ(EVP_PKEY_verify_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
  EXPECT_EQ(EVP_PKEY_verify(ctx, sig->data(), sig->size(), hash, 32), 1);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(key);
}

TEST_F(KeyRoleTest, ControlChannelMessageOtherThanNewSessionIsFatal) {
  ControlChannel ctl(*Env().server, FrontEnd::kSmtp);
  ASSERT_TRUE(ctl.channel().Send(ipc::Shutdown{}).ok());
  EXPECT_TRUE(Fails(ctl.Close(), ErrorCode::kInvalidArgument));
  ControlChannel no_fd(*Env().server, FrontEnd::kPop3);
  ASSERT_TRUE(no_fd.channel().Send(ipc::NewSession{}).ok());  // fd missing
  EXPECT_TRUE(Fails(no_fd.Close(), ErrorCode::kInvalidArgument));
}

TEST_F(KeyRoleTest, SessionKeyGenerationIsRefusedWithoutSessionKeys) {
  auto link = smtp_.NewSession();
  auto id = link->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->generation, 0u);  // the token's own key
  EXPECT_TRUE(Fails(link->SignEcdsa(Bytes(32, 7), 1), ErrorCode::kPermissionDenied));
  EXPECT_FALSE(link->broken());
}

// [tls] session_key_hours: the identity is the session key's chain, its
// signatures verify under it, and the token's own key signs nothing for a
// front end (it only certifies session keys).
TEST_F(KeyRoleTest, WithSessionKeysHandshakesAreSignedBySessionKeysAndTheTokenKeyIsRefused) {
  static SessionTlsKeys* keys = nullptr;
  static KeyRoleServer* server = [] {  // never destroyed: detached session threads
    auto tls = LoadTlsIdentity(*Env().state);
    if (!tls.ok()) std::abort();
    State* st = Env().state.get();
    auto made = SessionTlsKeys::Create(
        tls->certificate_pem, tls->public_key,
        [st](std::span<const uint8_t> d) { return st->TlsSign(d); }, std::chrono::hours(1));
    if (!made.ok()) std::abort();
    keys = made->release();
    auto* s = new KeyRoleServer(*st, *tls, 8);
    s->set_session_tls(keys);
    return s;
  }();
  uint8_t hash[32];
  unsigned int hash_len = 0;
  ASSERT_EQ(EVP_Digest("handshake", 9, hash, &hash_len, EVP_sha256(), nullptr), 1);
  for (FrontEnd fe : {FrontEnd::kSmtp, FrontEnd::kPop3}) {
    ControlChannel ctl(*server, fe);
    auto link = ctl.NewSession();
    auto id = link->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->generation, keys->Current()->generation);
    EXPECT_NE(id->generation, 0u);
    EXPECT_NE(id->public_key, Env().public_key);
    std::string chain(id->certificate_pem.begin(), id->certificate_pem.end());
    EXPECT_NE(chain.find(keys->ca_pem()), std::string::npos);
    auto sig = link->SignEcdsa(Bytes(hash, hash + 32), id->generation);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    EXPECT_TRUE(onionmail::testing::VerifyP256RawSignature(id->public_key, hash, *sig));
    EXPECT_TRUE(Fails(link->SignEcdsa(Bytes(hash, hash + 32), 0), ErrorCode::kPermissionDenied));
    EXPECT_TRUE(
        Fails(link->SignEcdsa(Bytes(hash, hash + 32), id->generation + 1), ErrorCode::kNotFound));
    EXPECT_FALSE(link->broken());
  }
}

TEST_F(KeyRoleTest, SessionsOverTheLimitAreClosedAtOnce) {
  // A server of its own (never destroyed: its session threads are detached).
  static KeyRoleServer* small = [] {
    auto tls = LoadTlsIdentity(*Env().state);
    if (!tls.ok()) std::abort();
    return new KeyRoleServer(*Env().state, *tls, 2);
  }();
  ControlChannel ctl(*small, FrontEnd::kSmtp);
  auto a = ctl.NewSession(), b = ctl.NewSession(), c = ctl.NewSession();
  EXPECT_TRUE(a->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s).ok());
  EXPECT_TRUE(b->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s).ok());
  EXPECT_TRUE(Fails(c->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s),
                    ErrorCode::kUnavailable));
  a.reset();  // a slot frees once the key role sees the session end
  EXPECT_TRUE(Eventually([&] {
    auto d = ctl.NewSession();
    return d->Call<ipc::TlsIdentityReply>(ipc::TlsIdentityRequest{}, 10s).ok();
  }));
}

}  // namespace
}  // namespace onionmail::server
