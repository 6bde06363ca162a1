// LocalKeyService: the VMAT aliases of an enter gateway (keys/vmat_table.h;
// contract in keys/key_service.h).
#include "keys/local_key_service.h"

namespace onionmail::keys {

Result<std::optional<std::string>> LocalKeyService::LookupVmat(std::string_view alias) {
  return vmat_.Lookup(alias);
}

Result<std::optional<std::string>> LocalKeyService::SenderVmat(std::string_view target) {
  return vmat_.SenderAlias(target);
}

Result<void> LocalKeyService::AddVmat(std::string_view alias, std::string_view target) {
  return vmat_.Add(alias, target);
}

Result<void> LocalKeyService::MakeSenderVmat(std::string_view alias) {
  return vmat_.MakeSender(alias);
}

Result<void> LocalKeyService::RemoveVmat(std::string_view alias) { return vmat_.Remove(alias); }

Result<std::vector<mail::VmatRecord>> LocalKeyService::ListVmat() { return vmat_.List(); }

}  // namespace onionmail::keys
