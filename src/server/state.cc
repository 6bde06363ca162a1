// State: opens the key store, key service, mailbox store and backend of one
// state directory.
#include "server/state.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "ctl/tls_cert.h"
#include "hsm/key_store.h"
#include "keys/local_key_service.h"
#include "mail/local_backend.h"
#include "store/mailbox_store.h"

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

class LocalState : public State {
 public:
  LocalState(config::Config config, std::unique_ptr<hsm::KeyStore> key_store)
      : config_(std::move(config)), key_store_(std::move(key_store)) {}

  Result<void> Init() {
    keys::LocalKeyService::Options options;
    options.state_dir = config_.state_dir;
    options.kdf = KdfParams(config_);
    options.rsa_bits = static_cast<int>(config_.rsa_bits);
    key_service_ = std::make_unique<keys::LocalKeyService>(*key_store_, options);
    mailbox_store_ = std::make_unique<store::MailboxStore>(config_.state_dir);
    backend_ = std::make_unique<mail::LocalBackend>(*key_service_, *mailbox_store_);
    return Ok();
  }

  const config::Config& config() const override { return config_; }
  std::string_view key_store_backend() const override { return key_store_->backend_name(); }
  keys::KeyService& keys() override { return *key_service_; }
  mail::DeliveryBackend& delivery() override { return *backend_; }
  mail::MailboxBackend& mailboxes() override { return *backend_; }
  Result<size_t> SweepExpired() override {
    return mailbox_store_->SweepExpired(std::chrono::hours(24) * config_.retention_days);
  }

 private:
  config::Config config_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  std::unique_ptr<keys::LocalKeyService> key_service_;
  std::unique_ptr<store::MailboxStore> mailbox_store_;
  std::unique_ptr<mail::LocalBackend> backend_;
};

}  // namespace

Result<void> InitState(const config::Config& config) {
  const std::string& dir = config.state_dir;
  if (::access(config.server_key_path().c_str(), F_OK) == 0) {
    return MakeError(ErrorCode::kAlreadyExists, dir + " is already initialised");
  }
  ONIONMAIL_RETURN_IF_ERROR(MakeDir(dir));
  for (const char* sub : {"/tls", "/users", "/mbox", "/tmp"}) {
    ONIONMAIL_RETURN_IF_ERROR(MakeDir(dir + sub));
  }
  auto key_store = hsm::CreateFileKeyStore(config.server_key_path());
  if (!key_store.ok()) return key_store.error();
  return ctl::CreateSelfSignedCertificate(config.domain, config.tls_cert_path(),
                                          config.tls_key_path());
}

Result<std::unique_ptr<State>> State::Open(const config::Config& config) {
  if (::access(config.state_dir.c_str(), F_OK) != 0) {
    return MakeError(ErrorCode::kNotFound, "state directory " + config.state_dir +
                                               " does not exist: run `onionmailctl init`");
  }
  auto key_store = hsm::OpenFileKeyStore(config.server_key_path());
  if (!key_store.ok()) {
    return MakeError(key_store.error().code,
                     "server key store: " + key_store.error().message);
  }
  auto state = std::make_unique<LocalState>(config, std::move(*key_store));
  ONIONMAIL_RETURN_IF_ERROR(state->Init());
  return std::unique_ptr<State>(std::move(state));
}

}  // namespace onionmail::server
