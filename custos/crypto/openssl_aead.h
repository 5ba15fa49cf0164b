// File: custos/crypto/openssl_aead.h
//
// AES-128-GCM (NIST SP 800-38D) and ChaCha20-Poly1305 (RFC 8439) as
// lwc::NonceAead objects, computed by OpenSSL 3 through EVP in the ordinary
// way: the EVP_CIPHER is fetched once when the object is created, and every
// SealInto/OpenInto builds, uses and frees its own EVP_CIPHER_CTX. They are
// the baseline that the benchmarks compare the lightweight AEADs against.
//
// Both take a 12-byte nonce and produce a 16-byte tag. As for every
// NonceAead: a (key, nonce) pair must never seal two messages; OpenInto
// writes plaintext to `out` but, if the tag does not verify, wipes `out` and
// returns Unauthenticated("authentication failed"); out may start at the
// input (in-place). Objects hold only the key (in SecretBytes) and the
// fetched cipher, are immutable and safe to share between threads.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::NonceAead> aead, NewChaCha20Poly1305(key));
//   CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed, aead->Seal(nonce, ad, plaintext));
#ifndef CUSTOS_CRYPTO_OPENSSL_AEAD_H_
#define CUSTOS_CRYPTO_OPENSSL_AEAD_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"

namespace custos::crypto {

// AES-128-GCM with a 16-byte key, 12-byte nonce and 16-byte tag.
// InvalidArgument if the key is not 16 bytes; Internal if OpenSSL cannot
// provide the cipher. Seal/Open fail with InvalidArgument on a wrong nonce
// or buffer size, Internal if OpenSSL fails, Unauthenticated on a bad tag.
StatusOr<std::unique_ptr<lwc::NonceAead>> NewAes128Gcm(std::span<const uint8_t> key);

// ChaCha20-Poly1305 (RFC 8439 AEAD) with a 32-byte key, 12-byte nonce and
// 16-byte tag. Same contract as NewAes128Gcm.
StatusOr<std::unique_ptr<lwc::NonceAead>> NewChaCha20Poly1305(std::span<const uint8_t> key);

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_OPENSSL_AEAD_H_
