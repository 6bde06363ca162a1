// Erasable secrets of the `file` KeyStore backend (development only).
//
// Epoch e's secret is 32 random bytes in `<key file>.erasable-<e>` (decimal),
// mode 0600, written with fsync of the file and its directory. Derive is
// HMAC-SHA256(secret, label). Erase overwrites the file with zeros, fsyncs,
// unlinks and fsyncs the directory: on flash or a copy-on-write file system
// the old bytes may survive, so this backend gives no real crypto-shred; the
// hardware tokens (hsm/token.h) do.
#pragma once

#include <string>

#include "hsm/derived_key_store.h"

namespace onionmail::hsm {

ErasableOps FileErasableOps(const std::string& key_path);

}  // namespace onionmail::hsm
