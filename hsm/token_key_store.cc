// TokenKeyStore implementation.
#include "hsm/token_key_store.h"

#include "hsm/derived_key_store.h"

namespace onionmail::hsm {

Result<std::unique_ptr<KeyStore>> OpenTokenKeyStore(std::shared_ptr<Token> token) {
  std::string name(token->backend_name());
  auto store = DerivedKeyStore::Create(
      name,
      [token](std::span<const uint8_t> label) -> Result<SecretBytes> {
        auto mac = token->Hmac(label);
        if (!mac.ok()) return mac.error();
        SecretBytes out(SecretAccess::Grant(), std::span<const uint8_t>(*mac));
        WipeMemory(mac->data(), mac->size());
        return out;
      },
      [token] { return token->Probe(); }, [token] { return token->operations(); },
      ErasableOps{[token](uint64_t epoch) { return token->CreateErasable(epoch); },
                  [token](uint64_t epoch, std::span<const uint8_t> label) {
                    return token->DeriveErasable(epoch, label);
                  },
                  [token](uint64_t epoch) { return token->EraseErasable(epoch); },
                  [token] { return token->ErasableEpochs(); }});
  if (!store.ok()) return store.error();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

}  // namespace onionmail::hsm
