// File: custos/crypto/registry.h
//
// The full algorithm registry of custos: the lightweight algorithms of
// custos/lwc and the standard ones through OpenSSL 3 (AES-128-GCM,
// ChaCha20-Poly1305, SHA-256, SHA3-256, AES-128-CMAC, HMAC-SHA-256, AES).
#ifndef CUSTOS_CRYPTO_REGISTRY_H_
#define CUSTOS_CRYPTO_REGISTRY_H_

#include <memory>

#include "custos/core/status.h"
#include "custos/lwc/registry.h"

namespace custos::crypto {

// Registers the OpenSSL-backed algorithms. AlreadyExists on a clash.
Status RegisterStandardAlgorithms(lwc::AlgorithmRegistry& registry);

// Returns a new registry holding every algorithm of custos. The result is
// read-only and safe to share between threads. Internal only on a bug (two
// built-in algorithms with one name or id).
StatusOr<std::shared_ptr<const lwc::AlgorithmRegistry>> NewDefaultRegistry();

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_REGISTRY_H_
