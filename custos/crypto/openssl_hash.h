// File: custos/crypto/openssl_hash.h
//
// SHA-256, SHA-512 (FIPS 180-4) and SHA3-256 (FIPS 202) as lwc::Hash objects,
// computed by OpenSSL 3 through an incremental EVP_MD_CTX. They are the
// standard hashes the lightweight ones are compared against, and the hashes
// of HMAC (lwc::NewHmac).
//
// Each object fetches its EVP_MD once and owns one digest context; Clone
// copies the context (EVP_MD_CTX_copy_ex). As every lwc::Hash, an object is
// not thread-safe: use one per thread. OpenSSL's implementations have no
// data-dependent branches or table look-ups, so they may hash secrets.
//
// Example:
//   std::unique_ptr<lwc::Hash> sha = NewSha256();
//   sha->Update(message);
//   std::vector<uint8_t> digest = sha->Final();
#ifndef CUSTOS_CRYPTO_OPENSSL_HASH_H_
#define CUSTOS_CRYPTO_OPENSSL_HASH_H_

#include <memory>

#include "custos/lwc/hash.h"

namespace custos::crypto {

// SHA-256: 32-byte digest, 64-byte block. Returns nullptr only if OpenSSL
// cannot provide the algorithm or allocate a context (a broken installation
// or memory exhaustion); lwc::NewHmac turns a null hash into InvalidArgument.
// Clone likewise returns nullptr if OpenSSL cannot copy the context. The
// process aborts if OpenSSL fails in the middle of Update or Final, which it
// does only when misused, so that a failure never yields a wrong digest.
std::unique_ptr<lwc::Hash> NewSha256();

// SHA3-256: 32-byte digest, 136-byte block (the sponge rate). Same contract
// as NewSha256.
std::unique_ptr<lwc::Hash> NewSha3_256();

// SHA-512: 64-byte digest, 128-byte block. Same contract as NewSha256.
std::unique_ptr<lwc::Hash> NewSha512();

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_OPENSSL_HASH_H_
