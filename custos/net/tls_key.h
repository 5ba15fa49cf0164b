// File: custos/net/tls_key.h
//
// MakeKeyStorePrivateKey: an OpenSSL EVP_PKEY whose private half stays in a
// KeyStore (software store, PKCS#11 token, TPM). Handing it to
// SSL_CTX_use_PrivateKey makes TLS sign its handshakes (CertificateVerify,
// ServerKeyExchange) through KeyStore::Sign; no private key bytes ever enter
// OpenSSL.
//
// How: a small in-process OpenSSL provider ("custos-keystore", see
// tls_key.cpp) supplies a key manager and a signature implementation for
// "EC" (ECDSA P-256 with SHA-256) and "ED25519". It lives in its own
// OSSL_LIB_CTX, so it never shadows the default provider's algorithms for
// anything else; OpenSSL finds it only through keys it made. A provider is
// used rather than an EC_KEY_METHOD because KeyStore::Sign hashes the
// message itself: the provider receives the whole to-be-signed message
// (EVP_DigestSign), while an EC_KEY_METHOD would only see its digest. The
// store's raw r || s ECDSA signature is re-encoded as a DER ECDSA-Sig-Value.
//
// Process-wide state: the provider's library context is created on first
// use and lives until process exit (it holds no keys).
#ifndef CUSTOS_NET_TLS_KEY_H_
#define CUSTOS_NET_TLS_KEY_H_

#include <openssl/evp.h>

#include <memory>
#include <mutex>
#include <string_view>

#include "custos/core/status.h"
#include "custos/keystore/key_store.h"

namespace custos::net {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
// An owned EVP_PKEY (EVP_PKEY_free on destruction).
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// Returns an EVP_PKEY for the key `label` of `store` (an ecdsa-p256 or
// ed25519 key) whose signing operations call store->Sign. The public half
// is the store's ExportPublicKey, so EVP_PKEY_eq against the certificate's
// key works (SSL_CTX_use_PrivateKey checks it).
//
// Ownership: the key (and every SSL_CTX/SSL holding a reference to it)
// shares ownership of `store`, which therefore stays alive as long as the
// key does. Concurrency: KeyStore is not thread-safe, so every call into the
// store is made under `store_mutex`; pass the same mutex to every key made
// from one store and lock it around any other use of that store. A null
// `store_mutex` gives the key a mutex of its own (enough when nothing else
// uses the store concurrently).
//
// Errors: the store's (NotFound for a missing label); FailedPrecondition for
// a key type that does not sign; Unimplemented for a signing type TLS
// cannot use here; Internal for an OpenSSL failure.
StatusOr<EvpPkeyPtr> MakeKeyStorePrivateKey(std::shared_ptr<keystore::KeyStore> store,
                                            std::string_view label,
                                            std::shared_ptr<std::mutex> store_mutex = nullptr);

// As above, but `store` is borrowed: it must outlive the returned key and
// every SSL_CTX or SSL that holds it.
StatusOr<EvpPkeyPtr> MakeKeyStorePrivateKey(keystore::KeyStore& store, std::string_view label,
                                            std::shared_ptr<std::mutex> store_mutex = nullptr);

// True if `key` was made by MakeKeyStorePrivateKey.
bool IsKeyStorePrivateKey(const EVP_PKEY* key);

}  // namespace custos::net

#endif  // CUSTOS_NET_TLS_KEY_H_
