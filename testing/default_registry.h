// File: testing/default_registry.h
//
// The registry of every custos algorithm (crypto::NewDefaultRegistry), for
// tests of code that looks algorithms up by name: keysets, envelopes, the
// CLI.
//
// Header-only on purpose: custos_testing is linked into the custos/lwc tests,
// which must not depend on custos/crypto and OpenSSL. Include it only from
// targets that link custos::crypto.
#ifndef CUSTOS_TESTING_DEFAULT_REGISTRY_H_
#define CUSTOS_TESTING_DEFAULT_REGISTRY_H_

#include <memory>

#include "custos/crypto/registry.h"
#include "custos/lwc/registry.h"
#include "gtest/gtest.h"

namespace custos::testing {

// Returns a new default registry (read-only, safe to share between
// threads). If it cannot be built, fails the calling test (ADD_FAILURE) and
// returns nullptr.
inline std::shared_ptr<const lwc::AlgorithmRegistry> DefaultRegistry() {
  StatusOr<std::shared_ptr<const lwc::AlgorithmRegistry>> registry = crypto::NewDefaultRegistry();
  if (!registry.ok()) {
    ADD_FAILURE() << "NewDefaultRegistry: " << registry.status().ToString();
    return nullptr;
  }
  return *std::move(registry);
}

}  // namespace custos::testing

#endif  // CUSTOS_TESTING_DEFAULT_REGISTRY_H_
