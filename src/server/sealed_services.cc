#include "server/sealed_services.h"

namespace onionmail::server {
namespace {

Error Sealed() {
  return MakeError(ErrorCode::kSealed, "server sealed: the master key is not unsealed yet");
}

}  // namespace

Result<keys::UserPublic> SealedKeyService::LookupUser(std::string_view) { return Sealed(); }
Result<std::string> SealedKeyService::HashedName(std::string_view, std::string_view) {
  return Sealed();
}
Result<void> SealedKeyService::VerifySmtpPassword(std::string_view, const SecretBytes&) {
  return Sealed();
}
Result<std::unique_ptr<keys::InboxKey>> SealedKeyService::OpenInbox(std::string_view,
                                                                    const SecretBytes&) {
  return Sealed();
}
Result<void> SealedKeyService::CreateUser(std::string_view, const SecretBytes&,
                                          const SecretBytes&) {
  return Sealed();
}
Result<void> SealedKeyService::DeleteUser(std::string_view) { return Sealed(); }
Result<void> SealedKeyService::ChangeSmtpPassword(std::string_view, const SecretBytes&) {
  return Sealed();
}
Result<void> SealedKeyService::ChangePop3Password(std::string_view, const SecretBytes&,
                                                  const SecretBytes&) {
  return Sealed();
}
Result<size_t> SealedKeyService::CountUsers() { return Sealed(); }
Result<bool> SealedKeyService::SenderBlocked(std::string_view, std::string_view) {
  return Sealed();
}
Result<std::vector<std::string>> SealedKeyService::ApplyBlockList(std::string_view,
                                                                  mail::BlockListOp,
                                                                  std::string_view) {
  return Sealed();
}
Result<mail::ListRecord> SealedKeyService::ApplyList(std::string_view, mail::ListOp,
                                                     std::string_view, std::string_view) {
  return Sealed();
}
Result<mail::Registration> SealedKeyService::RegisterUser(std::string_view, std::string_view) {
  return Sealed();
}
Result<std::vector<SecretBytes>> SealedKeyService::AddVouchers(size_t) { return Sealed(); }
Result<size_t> SealedKeyService::CountVouchers() { return Sealed(); }
Result<void> SealedKeyService::ClearVouchers() { return Sealed(); }
Result<std::optional<std::string>> SealedKeyService::LookupVmat(std::string_view) {
  return Sealed();
}
Result<std::optional<std::string>> SealedKeyService::SenderVmat(std::string_view) {
  return Sealed();
}
Result<void> SealedKeyService::AddVmat(std::string_view, std::string_view) { return Sealed(); }
Result<void> SealedKeyService::MakeSenderVmat(std::string_view) { return Sealed(); }
Result<void> SealedKeyService::RemoveVmat(std::string_view) { return Sealed(); }
Result<std::vector<mail::VmatRecord>> SealedKeyService::ListVmat() { return Sealed(); }
Result<uint8_t> SealedKeyService::RecordVersion(std::string_view) { return Sealed(); }
Result<keys::KeyService::RecordCensus> SealedKeyService::CensusRecords() { return Sealed(); }

Result<void> SealedBackend::VerifySmtpPassword(std::string_view, const SecretBytes&) {
  return Sealed();
}
Result<void> SealedBackend::CheckRecipient(std::string_view, uint64_t, std::string_view) {
  return Sealed();
}

Result<std::unique_ptr<mail::MessageWriter>> SealedBackend::BeginMessage(const mail::Envelope&) {
  return Sealed();
}
Result<std::unique_ptr<mail::Mailbox>> SealedBackend::Open(std::string_view, const SecretBytes&) {
  return Sealed();
}

}  // namespace onionmail::server
