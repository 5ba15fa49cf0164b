// File: custos/keystore/internal/openssl_keys.h
//
// The OpenSSL 3 EVP operations behind the software store, on keys held as
// EVP_PKEY: generation, raw-form signatures, DER import and export, ECDH /
// X25519 followed by HKDF-SHA-256, and scrypt. Each function returns a
// Status and clears OpenSSL's error queue on failure.
//
// Private to custos/keystore.
#ifndef CUSTOS_KEYSTORE_INTERNAL_OPENSSL_KEYS_H_
#define CUSTOS_KEYSTORE_INTERNAL_OPENSSL_KEYS_H_

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/keystore/key_store.h"

namespace custos::keystore::internal {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
// An owned EVP_PKEY; OpenSSL clears private key material when it is freed.
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Internal "OpenSSL <what> failed: <reason>"; clears the error queue.
Status OpenSslFailure(std::string_view what);

// A new key pair for a sign or agree key type. InvalidArgument for kEncrypt
// types.
StatusOr<PkeyPtr> GenerateKeyPair(KeyType type);

// Signs in the raw form of key_store.h: r || s (64 bytes) for ECDSA P-256
// over SHA-256(message), the 64-byte signature for Ed25519.
StatusOr<std::vector<uint8_t>> SignRaw(EVP_PKEY* key, KeyType type,
                                       std::span<const uint8_t> message);

// Verifies a raw signature; Unauthenticated "signature does not verify" if
// it does not (including a wrong length).
Status VerifyRaw(EVP_PKEY* key, KeyType type, std::span<const uint8_t> message,
                 std::span<const uint8_t> signature);

// The DER SubjectPublicKeyInfo of `key`.
StatusOr<std::vector<uint8_t>> PublicKeyDer(EVP_PKEY* key);

// The DER private key (SEC1 for P-256, PKCS#8 for Ed25519/X25519) in
// wiped-on-free memory.
StatusOr<SecretBytes> PrivateKeyDer(EVP_PKEY* key);

// Parses a DER private key and checks that it is of `type`. DataLoss if it is
// malformed or of another type.
StatusOr<PkeyPtr> ParsePrivateKeyDer(std::span<const uint8_t> der, KeyType type);

// ECDH (P-256) or X25519 between `key` and the DER SubjectPublicKeyInfo
// `peer_der`, then HKDF-SHA-256(salt, info) to `length` bytes (1 .. 8160).
// The raw shared secret is wiped before returning. InvalidArgument if the
// peer key is malformed, of another curve or invalid, or the length is out of
// range.
StatusOr<SecretBytes> AgreeAndDerive(EVP_PKEY* key, KeyType type, std::span<const uint8_t> peer_der,
                                     std::span<const uint8_t> salt, std::span<const uint8_t> info,
                                     std::size_t length);

// scrypt (RFC 7914) through EVP_KDF "SCRYPT": `length` bytes from
// `passphrase` and `salt` with cost n, r, p. InvalidArgument if the
// parameters need more than 1 GiB of memory.
StatusOr<SecretBytes> Scrypt(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                             uint64_t n, uint32_t r, uint32_t p, std::size_t length);

}  // namespace custos::keystore::internal

#endif  // CUSTOS_KEYSTORE_INTERNAL_OPENSSL_KEYS_H_
