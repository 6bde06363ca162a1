// What a sealed server answers (issue 5, docs/PROTOCOL.md "Boot"): until its
// master key is unsealed from its peers, every user operation fails with
// ErrorCode::kSealed, which the protocols report as a temporary failure that
// says why (SMTP `451 4.3.0 Server sealed ...`, POP3 `-ERR [SYS/TEMP] Server
// sealed ...`). Nothing is read or written: without the master key the
// server cannot name a user's files, open a record or seal an inbox key.
//
// Contract: every method returns MakeError(kSealed, ...) and has no effect.
#pragma once

#include "keys/key_service.h"
#include "mail/backend.h"

namespace onionmail::server {

class SealedKeyService : public keys::KeyService {
 public:
  Result<keys::UserPublic> LookupUser(std::string_view user) override;
  Result<std::string> HashedName(std::string_view purpose, std::string_view data) override;
  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<std::unique_ptr<keys::InboxKey>> OpenInbox(std::string_view user,
                                                    const SecretBytes& pop3_password) override;
  Result<void> CreateUser(std::string_view user, const SecretBytes& smtp_password,
                          const SecretBytes& pop3_password) override;
  Result<void> DeleteUser(std::string_view user) override;
  Result<void> ChangeSmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<void> ChangePop3Password(std::string_view user, const SecretBytes& old_password,
                                  const SecretBytes& new_password) override;
  Result<size_t> CountUsers() override;
  Result<bool> SenderBlocked(std::string_view mailbox_id, std::string_view sender) override;
  Result<std::vector<std::string>> ApplyBlockList(std::string_view user, mail::BlockListOp op,
                                                  std::string_view entry) override;
  Result<mail::ListRecord> ApplyList(std::string_view actor, mail::ListOp op, std::string_view name,
                                     std::string_view user) override;
  Result<mail::Registration> RegisterUser(std::string_view voucher, std::string_view user) override;
  Result<std::vector<SecretBytes>> AddVouchers(size_t count) override;
  Result<size_t> CountVouchers() override;
  Result<void> ClearVouchers() override;
  Result<std::optional<std::string>> LookupVmat(std::string_view alias) override;
  Result<std::optional<std::string>> SenderVmat(std::string_view target) override;
  Result<void> AddVmat(std::string_view alias, std::string_view target) override;
  Result<void> MakeSenderVmat(std::string_view alias) override;
  Result<void> RemoveVmat(std::string_view alias) override;
  Result<std::vector<mail::VmatRecord>> ListVmat() override;
  Result<uint8_t> RecordVersion(std::string_view user) override;
  Result<RecordCensus> CensusRecords() override;
};

class SealedBackend : public mail::DeliveryBackend, public mail::MailboxBackend {
 public:
  Result<void> VerifySmtpPassword(std::string_view user, const SecretBytes& password) override;
  Result<void> CheckRecipient(std::string_view local_part, uint64_t declared_size,
                              std::string_view sender) override;
  Result<std::unique_ptr<mail::MessageWriter>> BeginMessage(
      const mail::Envelope& envelope) override;
  Result<std::unique_ptr<mail::Mailbox>> Open(std::string_view user,
                                              const SecretBytes& pop3_password) override;
};

}  // namespace onionmail::server
