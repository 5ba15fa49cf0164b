// File: custos/identity/x509_signing_key.h
//
// SigningKey: a CA or device key held in a KeyStore, named by its label. The
// X.509 layer signs certificates, CSRs and CRLs through it, so the private key
// never leaves its store (PKCS#11 token, TPM, software store). The signature
// algorithm follows the key's type:
//   ecdsa-p256 -> ecdsa-with-SHA256 (the store's raw r || s is re-encoded as
//                 a DER ECDSA-Sig-Value for X.509),
//   ed25519    -> Ed25519 (PureEdDSA).
// Other key types cannot sign X.509 objects (FailedPrecondition).
#ifndef CUSTOS_IDENTITY_X509_SIGNING_KEY_H_
#define CUSTOS_IDENTITY_X509_SIGNING_KEY_H_

#include <string>

#include "custos/keystore/key_store.h"

namespace custos::identity {

// A key in a store. `store` is borrowed: it must outlive every call that is
// given this SigningKey, and (KeyStore not being thread-safe) must not be used
// by another thread during such a call.
struct SigningKey {
  keystore::KeyStore* store = nullptr;
  std::string label;
};

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_X509_SIGNING_KEY_H_
