// See key_role_openssl.h.
#include "server/key_role_openssl.h"

#include <openssl/crypto.h>

namespace onionmail::server {

bool InitKeyRoleOpenSsl() {
  // OpenSSL runs each of these init steps once: a later request to add all
  // ciphers or digests (PreloadLibrariesForSandbox, the name map) is a no-op.
  return OPENSSL_init_crypto(OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                             nullptr) == 1;
}

}  // namespace onionmail::server
