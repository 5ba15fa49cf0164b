// File: custos/crypto/internal/openssl_util.h
//
// The pieces every EVP wrapper of custos/crypto needs: owning pointers for
// fetched ciphers and digests and their contexts, and the conversion of
// OpenSSL's thread-local error queue into a Status.
//
// Private to custos/crypto.
#ifndef CUSTOS_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
#define CUSTOS_CRYPTO_INTERNAL_OPENSSL_UTIL_H_

#include <openssl/evp.h>

#include <memory>
#include <string_view>

#include "custos/core/status.h"

namespace custos::crypto::internal {

struct CipherDeleter {
  void operator()(EVP_CIPHER* cipher) const { EVP_CIPHER_free(cipher); }
};
struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};

struct DigestDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// An EVP_MD from EVP_MD_fetch, freed with EVP_MD_free.
using DigestPtr = std::unique_ptr<EVP_MD, DigestDeleter>;
// An EVP_MD_CTX from EVP_MD_CTX_new, freed (and cleansed) with EVP_MD_CTX_free.
using DigestContextPtr = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

// An EVP_CIPHER from EVP_CIPHER_fetch, freed with EVP_CIPHER_free.
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherDeleter>;
// An EVP_CIPHER_CTX from EVP_CIPHER_CTX_new, freed (and cleansed by
// OpenSSL, key schedule included) with EVP_CIPHER_CTX_free.
using CipherContextPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

// Returns Internal "OpenSSL <what> failed", followed by OpenSSL's reason for
// the oldest queued error if there is one, and clears this thread's error
// queue so that a later call does not report a stale error. For failures
// that should not happen (allocation, setup), not for a tag that does not
// verify. The message carries no key or data bytes.
Status OpenSslError(std::string_view what);

}  // namespace custos::crypto::internal

#endif  // CUSTOS_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
