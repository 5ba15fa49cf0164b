// File: custos/crypto/aes.h
//
// AES (FIPS 197) as an lwc::BlockCipher, computed by OpenSSL 3 through its
// EVP interface (AES-NI or a constant-time software path, as OpenSSL picks).
// It is the standard cipher the lightweight ones are compared against, and
// the cipher of AES-CMAC (lwc::NewCmac).
//
// One object holds an encryption and a decryption EVP context, each keyed
// once; a block operation reuses them and allocates nothing. EVP contexts
// must not be used by two threads at once, so each context is guarded by a
// mutex: the object is safe to share between threads, and concurrent callers
// of the same direction are serialised. Give each thread its own object when
// that matters.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::BlockCipher> aes, NewAes(key));
//   CUSTOS_RETURN_IF_ERROR(aes->EncryptBlock(block, block));
#ifndef CUSTOS_CRYPTO_AES_H_
#define CUSTOS_CRYPTO_AES_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/block_cipher.h"

namespace custos::crypto {

// Returns AES-128, AES-192 or AES-256 (single-block ECB, no padding) for a
// 16-, 24- or 32-byte `key`. InvalidArgument for any other key length;
// Internal if OpenSSL cannot provide the cipher. The key schedule lives in
// OpenSSL's contexts, which OpenSSL cleanses when the object is destroyed.
// Thread-safe (see the file comment).
StatusOr<std::unique_ptr<lwc::BlockCipher>> NewAes(std::span<const uint8_t> key);

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_AES_H_
