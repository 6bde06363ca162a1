// State: opens the key store, key service, mailbox store and backend of one
// state directory.
#include "server/state.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "crypto/ec_p256.h"
#include "ctl/tls_cert.h"
#include "hsm/forwarding_key_store.h"
#include "hsm/key_store.h"
#include "hsm/master_keyed_store.h"
#include "hsm/token.h"
#include "hsm/token_key_store.h"
#include "keys/local_key_service.h"
#include "mail/local_backend.h"
#include "net/remote_key.h"
#include "server/sealed_services.h"
#include "server/tls_identity.h"
#include "store/durable_file.h"
#include "store/mailbox_store.h"
#include "unseal/enrolment_record.h"

namespace onionmail::server {

namespace {

Result<void> MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kInternal,
                     "cannot create directory " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition, path + " is not a directory");
  }
  return Ok();
}

crypto::Argon2Params KdfParams(const config::Config& c) {
  crypto::Argon2Params p;
  p.t_cost = c.argon2_t_cost;
  p.m_cost_kib = c.argon2_m_cost_kib;
  p.parallelism = c.argon2_parallelism;
  return p;
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// Connects to the configured hardware token (pkcs11 or tpm2).
Result<std::shared_ptr<hsm::Token>> OpenToken(const config::Config& c) {
  Result<std::unique_ptr<hsm::Token>> token = MakeError(ErrorCode::kInternal, "no backend");
  if (c.keys_backend == "pkcs11") {
    if (!c.softhsm2_conf.empty()) ::setenv("SOFTHSM2_CONF", c.softhsm2_conf.c_str(), 1);
    hsm::Pkcs11Options o;
    o.module_path = c.pkcs11_module;
    o.token_label = c.pkcs11_token_label;
    o.pin_file = c.pkcs11_pin_file;
    token = hsm::OpenPkcs11Token(o);
  } else {
    // tss2's own log lines (unprefixed, on stderr, ERROR even for the flushes that are
    // expected to fail after a lost handle) stay off: every failure reaches our log with
    // its command and TPM code. An operator's TSS2_LOG (e.g. esys+debug) is kept.
    ::setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
    hsm::Tpm2Options o;
    o.tcti = c.tpm2_tcti;
    o.key_dir = c.tpm2_key_dir_path();
    o.auth_file = c.tpm2_auth_file;
    o.pcrs = c.tpm2_pcrs;
    token = hsm::OpenTpm2Token(o);
  }
  if (!token.ok()) {
    return MakeError(token.error().code, c.keys_backend + " key store: " + token.error().message);
  }
  return std::shared_ptr<hsm::Token>(std::move(*token));
}

// File backend: the PEM private key at `path`. kNotFound when there is no
// such file (a state directory made before the ECDSA TLS key).
Result<PkeyPtr> ReadPemPrivateKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return MakeError(ErrorCode::kNotFound, "cannot open key file " + path);
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (k == nullptr) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument, "unusable key file " + path);
  }
  return PkeyPtr(k, EVP_PKEY_free);
}

// The token's TLS key as an OpenSSL key whose signatures are made in it.
Result<PkeyPtr> TokenTlsKey(const std::shared_ptr<hsm::Token>& token) {
  auto pub = token->TlsPublicKey();
  if (!pub.ok()) return pub.error();
  auto key = net::MakeRemoteEcKey(
      *pub, [token](std::span<const uint8_t> digest) { return token->TlsSign(digest); });
  if (!key.ok()) return key.error();
  return PkeyPtr(*key, EVP_PKEY_free);
}

// The user services of an unsealed (or never enrolled) state. Built once,
// never destroyed while the state lives (sessions hold references).
struct UserServices {
  std::unique_ptr<hsm::KeyStore> key_store;
  std::unique_ptr<keys::LocalKeyService> key_service;
  std::unique_ptr<mail::LocalBackend> backend;
};

class LocalState : public State {
 public:
  LocalState(config::Config config, std::shared_ptr<hsm::Token> token,
             std::unique_ptr<hsm::KeyStore> key_store, bool enrolled)
      : config_(std::move(config)),
        token_(std::move(token)),
        key_store_(std::move(key_store)),
        enrolled_(enrolled) {
    mailbox_store_ = std::make_unique<store::MailboxStore>(
        config_.state_dir, uint64_t{config_.min_free_mib} << 20,
        uint64_t{config_.mailbox_quota_mib} << 20);
    if (!enrolled_) Activate(std::make_unique<hsm::ForwardingKeyStore>(*key_store_));
  }

  const config::Config& config() const override { return config_; }
  std::string_view key_store_backend() const override { return key_store_->backend_name(); }
  uint64_t device_operations() const override { return key_store_->device_operations(); }
  keys::KeyService& keys() override {
    UserServices* s = active_.load(std::memory_order_acquire);
    return s != nullptr ? static_cast<keys::KeyService&>(*s->key_service) : sealed_keys_;
  }
  mail::DeliveryBackend& delivery() override {
    UserServices* s = active_.load(std::memory_order_acquire);
    return s != nullptr ? static_cast<mail::DeliveryBackend&>(*s->backend) : sealed_backend_;
  }
  mail::MailboxBackend& mailboxes() override {
    UserServices* s = active_.load(std::memory_order_acquire);
    return s != nullptr ? static_cast<mail::MailboxBackend&>(*s->backend) : sealed_backend_;
  }
  bool enrolled() const override { return enrolled_; }
  bool sealed() const override { return active_.load(std::memory_order_acquire) == nullptr; }
  hsm::KeyStore& device_keys() override { return *key_store_; }
  Result<void> Unseal(const SecretBytes& master_key) override {
    std::lock_guard<std::mutex> lock(unseal_mu_);
    if (!enrolled_) return MakeError(ErrorCode::kFailedPrecondition, "no unseal enrolment");
    if (!sealed()) return MakeError(ErrorCode::kFailedPrecondition, "already unsealed");
    auto keyed = hsm::MasterKeyedStore::Create(
        std::make_unique<hsm::ForwardingKeyStore>(*key_store_), master_key);
    if (!keyed.ok()) return keyed.error();
    Activate(std::move(*keyed));
    return Ok();
  }
  void RunSpareStocker() override { mailbox_store_->RunSpareStocker(); }
  Result<size_t> SweepExpired() override {
    return mailbox_store_->SweepExpired(std::chrono::hours(24) * config_.retention_days);
  }
  Result<std::vector<uint8_t>> ServerPublicKey() override {
    if (token_) return token_->ServerPublicKey();
    auto key = FileKey(config_.tls_key_path(), file_server_key_);
    if (!key.ok()) return key.error();
    return crypto::SpkiDer(*key);
  }
  Result<std::vector<uint8_t>> ServerPrivateRaw(std::span<const uint8_t> block) override {
    if (token_) return token_->RsaPrivateRaw(block);
    auto key = FileKey(config_.tls_key_path(), file_server_key_);
    if (!key.ok()) return key.error();
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(*key, nullptr),
                                                                    EVP_PKEY_CTX_free);
    size_t out_len = static_cast<size_t>(EVP_PKEY_get_size(*key));
    std::vector<uint8_t> out(out_len);
    if (!ctx || block.size() != out_len || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx.get(), out.data(), &out_len, block.data(), block.size()) != 1) {
      ERR_clear_error();
      return MakeError(ErrorCode::kInvalidArgument, "RSA private operation failed");
    }
    out.resize(out_len);
    return out;
  }
  Result<std::vector<uint8_t>> TlsPublicKey() override {
    if (token_) return token_->TlsPublicKey();
    auto key = FileKey(config_.tls_ecdsa_key_path(), file_tls_key_);
    if (!key.ok()) return key.error();
    return crypto::SpkiDer(*key);
  }
  Result<std::vector<uint8_t>> TlsSign(std::span<const uint8_t> digest) override {
    if (token_) return token_->TlsSign(digest);
    auto key = FileKey(config_.tls_ecdsa_key_path(), file_tls_key_);
    if (!key.ok()) return key.error();
    return crypto::EcdsaP256SignRaw(*key, digest);
  }

 private:
  config::Config config_;
  std::shared_ptr<hsm::Token> token_;         // null for the file backend
  std::unique_ptr<hsm::KeyStore> key_store_;  // the device alone
  const bool enrolled_;
  std::unique_ptr<store::MailboxStore> mailbox_store_;
  SealedKeyService sealed_keys_;
  SealedBackend sealed_backend_;
  std::mutex unseal_mu_;
  std::unique_ptr<UserServices> services_;  // set once (Activate)
  std::atomic<UserServices*> active_{nullptr};
  std::mutex file_key_mu_;
  PkeyPtr file_server_key_{nullptr, EVP_PKEY_free};  // file backend: RSA key, loaded once
  PkeyPtr file_tls_key_{nullptr, EVP_PKEY_free};     // file backend: ECDSA key, loaded once

  void Activate(std::unique_ptr<hsm::KeyStore> store) {
    keys::LocalKeyService::Options options;
    options.state_dir = config_.state_dir;
    options.kdf = KdfParams(config_);
    options.inbox_key =
        config_.inbox_key == "rsa" ? crypto::InboxKeyType::kRsa : crypto::InboxKeyType::kX25519;
    options.rsa_bits = static_cast<int>(config_.rsa_bits);
    options.smtp_auth_cache_ttl = std::chrono::seconds(config_.smtp_auth_cache_seconds);
    options.pop3_unlock_cache_ttl = std::chrono::seconds(config_.pop3_unlock_cache_seconds);
    options.max_concurrent_kdf = config_.kdf_max_concurrent;
    auto s = std::make_unique<UserServices>();
    s->key_store = std::move(store);
    s->key_service = std::make_unique<keys::LocalKeyService>(*s->key_store, options);
    s->backend = std::make_unique<mail::LocalBackend>(*s->key_service, *mailbox_store_);
    services_ = std::move(s);
    active_.store(services_.get(), std::memory_order_release);
  }

  // File backend: the PEM key at `path`, loaded once into `slot`. A state
  // directory made before the ECDSA TLS key existed has no such file: kNotFound.
  Result<EVP_PKEY*> FileKey(const std::string& path, PkeyPtr& slot) {
    std::lock_guard<std::mutex> lock(file_key_mu_);
    if (!slot) {
      auto read = ReadPemPrivateKey(path);
      if (!read.ok()) return read.error();
      slot = std::move(*read);
    }
    return slot.get();
  }
};

}  // namespace

Result<void> InitState(const config::Config& config) {
  const std::string& dir = config.state_dir;
  if (::access(config.tls_cert_path().c_str(), F_OK) == 0) {
    return MakeError(ErrorCode::kAlreadyExists, dir + " is already initialised");
  }
  ONIONMAIL_RETURN_IF_ERROR(MakeDir(dir));
  for (const char* sub : {"/tls", "/users", "/mbox", "/tmp"}) {
    ONIONMAIL_RETURN_IF_ERROR(MakeDir(dir + sub));
  }
  if (config.keys_backend == "file") {
    auto key_store = hsm::CreateFileKeyStore(config.server_key_path());
    if (!key_store.ok()) return key_store.error();
    auto server_key = ctl::CreateKeyFile(config.tls_key_path(), ctl::KeyFileType::kRsa2048);
    if (!server_key.ok()) return server_key.error();
    EVP_PKEY_free(*server_key);
    auto tls_key = ctl::CreateKeyFile(config.tls_ecdsa_key_path(), ctl::KeyFileType::kEcdsaP256);
    if (!tls_key.ok()) return tls_key.error();
    PkeyPtr owned(*tls_key, EVP_PKEY_free);
    return ctl::CreateCertificateForKey(config.domain, config.tls_cert_path(), owned.get());
  }
  if (config.keys_backend == "tpm2") ONIONMAIL_RETURN_IF_ERROR(MakeDir(config.tpm2_key_dir_path()));
  auto token = OpenToken(config);
  if (!token.ok()) return token.error();
  // The server RSA key, the ECDSA TLS key and the HMAC root are generated
  // inside the device; the device signs the certificate of its TLS key.
  ONIONMAIL_RETURN_IF_ERROR((*token)->Provision(2048));
  auto key = TokenTlsKey(*token);
  if (!key.ok()) return key.error();
  return ctl::CreateCertificateForKey(config.domain, config.tls_cert_path(), key->get());
}

Result<bool> MoveTlsToOwnKey(const config::Config& config) {
  const std::string cert_path = config.tls_cert_path();
  auto pem = store::ReadSmallFile(cert_path, 64 * 1024);
  if (!pem.ok()) {
    return MakeError(pem.error().code, "state directory " + config.state_dir +
                                           " is not initialised (cannot read " + cert_path + ")");
  }
  auto cert_key = CertificatePublicKey(std::string(pem->begin(), pem->end()));
  if (!cert_key.ok())
    return MakeError(cert_key.error().code, cert_path + ": " + cert_key.error().message);
  PkeyPtr key(nullptr, EVP_PKEY_free);
  std::shared_ptr<hsm::Token> token;
  if (config.keys_backend == "file") {
    const std::string path = config.tls_ecdsa_key_path();
    if (::access(path.c_str(), F_OK) != 0) {
      auto made = ctl::CreateKeyFile(path, ctl::KeyFileType::kEcdsaP256);
      if (!made.ok()) return made.error();
      key.reset(*made);
    } else {
      auto read = ReadPemPrivateKey(path);
      if (!read.ok()) return read.error();
      key = std::move(*read);
    }
  } else {
    auto opened = OpenToken(config);
    if (!opened.ok()) return opened.error();
    token = std::move(*opened);
    ONIONMAIL_RETURN_IF_ERROR(token->Provision(2048));  // adds the TLS key, keeps the others
    auto remote = TokenTlsKey(token);
    if (!remote.ok()) return remote.error();
    key = std::move(*remote);
  }
  auto tls_spki = crypto::SpkiDer(key.get());
  if (!tls_spki.ok()) return tls_spki.error();
  if (*tls_spki == *cert_key) return false;
  // The new certificate is written next to the old one, then renamed over it.
  const std::string next = cert_path + ".new";
  if (::unlink(next.c_str()) != 0 && errno != ENOENT) {
    return MakeError(ErrorCode::kInternal, "cannot remove " + next + ": " + std::strerror(errno));
  }
  ONIONMAIL_RETURN_IF_ERROR(ctl::CreateCertificateForKey(config.domain, next, key.get()));
  if (::rename(next.c_str(), cert_path.c_str()) != 0) {
    return MakeError(ErrorCode::kInternal,
                     "cannot replace " + cert_path + ": " + std::strerror(errno));
  }
  ONIONMAIL_RETURN_IF_ERROR(store::SyncDir(config.state_dir + "/tls"));
  return true;
}

Result<std::unique_ptr<State>> State::Open(const config::Config& config) {
  if (::access(config.tls_cert_path().c_str(), F_OK) != 0) {
    return MakeError(ErrorCode::kNotFound, "state directory " + config.state_dir +
                                               " is not initialised: run `onionmailctl init`");
  }
  std::shared_ptr<hsm::Token> token;
  Result<std::unique_ptr<hsm::KeyStore>> key_store =
      MakeError(ErrorCode::kInternal, "no key store");
  if (config.keys_backend == "file") {
    key_store = hsm::OpenFileKeyStore(config.server_key_path());
  } else {
    auto opened = OpenToken(config);
    if (!opened.ok()) return opened.error();
    token = *opened;
    key_store = hsm::OpenTokenKeyStore(token);
  }
  if (!key_store.ok()) {
    return MakeError(key_store.error().code, "server key store: " + key_store.error().message);
  }
  const bool enrolled = ::access(unseal::EnrolmentPath(config.state_dir).c_str(), F_OK) == 0;
  return std::unique_ptr<State>(
      std::make_unique<LocalState>(config, std::move(token), std::move(*key_store), enrolled));
}

}  // namespace onionmail::server
