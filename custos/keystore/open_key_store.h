// File: custos/keystore/open_key_store.h
//
// OpenKeyStore: one entry point that opens any key-store backend from a
// URI, so that commands and services take a single --store STORE setting.
//
//   soft:DIR[?passphrase-source=file:PATH|env:NAME]   software store in DIR
//   soft:mem                                         in-memory software store
//   pkcs11:token=LABEL?module-path=...&pin-source=file:...   (RFC 7512)
//   tpm:TCTI          e.g. tpm:swtpm:host=127.0.0.1,port=2321 (tpm2-tss TCTI)
//
// The library custos::keystore_open links every backend; the core
// custos::keystore library depends on none of them.
#ifndef CUSTOS_KEYSTORE_OPEN_KEY_STORE_H_
#define CUSTOS_KEYSTORE_OPEN_KEY_STORE_H_

#include <memory>
#include <string_view>

#include "custos/core/status.h"
#include "custos/keystore/key_store.h"
#include "custos/keystore/soft_key_store.h"

namespace custos::keystore {

// The forms OpenKeyStore accepts, for help texts and error messages.
inline constexpr std::string_view kKeyStoreUriForms =
    "soft:DIR[?passphrase-source=file:PATH], soft:mem, "
    "pkcs11:token=LABEL?module-path=PATH&pin-source=file:PATH (RFC 7512), "
    "tpm:TCTI (e.g. tpm:swtpm:host=127.0.0.1,port=2321)";

// Opens the store `uri` names, dispatching on its scheme to
// OpenSoftKeyStoreUri (with `soft_options` for a new software store),
// OpenPkcs11KeyStore or OpenTpmKeyStore; their errors pass through (wrong
// passphrase or PIN, missing token, unreachable TPM, ...). InvalidArgument
// listing the valid forms for an unknown scheme.
StatusOr<std::unique_ptr<KeyStore>> OpenKeyStore(std::string_view uri,
                                                 const SoftKeyStoreOptions& soft_options = {});

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_OPEN_KEY_STORE_H_
