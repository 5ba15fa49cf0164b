// Signatures per second through PKCS#11 (a SoftHSM2 token created in a
// temporary folder) next to raw OpenSSL EVP signing of the same messages in
// the same run:
//   build/release/bench/keystore_benchmark --benchmark_filter='sign'
// Each PKCS#11 signature is one C_SignInit + C_Sign on a logged-in session,
// after the key lookup (C_FindObjects) the KeyStore interface does per call.
// main() comes from benchmark::benchmark_main, so that other backends'
// benchmark files (the TPM's) can join this program.
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "custos/keystore/key_store.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"

namespace {

using custos::keystore::KeyStore;
using custos::keystore::KeyType;
using custos::keystore::OpenPkcs11KeyStore;
using custos::keystore::SoftHsmTestToken;

const std::vector<uint8_t> kMessage(64, 0x5a);

void Pkcs11Sign(benchmark::State& state, KeyType type) {
  auto token = SoftHsmTestToken::Create("bench");
  if (!token.ok()) {
    state.SkipWithError(std::string(token.status().message()).c_str());
    return;
  }
  auto store = OpenPkcs11KeyStore(token->uri());
  if (!store.ok() || !(*store)->Generate(type, "key").ok()) {
    state.SkipWithError("cannot open the token or generate the key");
    return;
  }
  for (auto _ : state) {
    auto signature = (*store)->Sign("key", kMessage);
    if (!signature.ok()) {
      state.SkipWithError(std::string(signature.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void Pkcs11Verify(benchmark::State& state, KeyType type) {
  auto token = SoftHsmTestToken::Create("bench");
  if (!token.ok()) {
    state.SkipWithError(std::string(token.status().message()).c_str());
    return;
  }
  auto store = OpenPkcs11KeyStore(token->uri());
  if (!store.ok() || !(*store)->Generate(type, "key").ok()) {
    state.SkipWithError("cannot open the token or generate the key");
    return;
  }
  auto signature = (*store)->Sign("key", kMessage);
  if (!signature.ok()) {
    state.SkipWithError("cannot sign");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize((*store)->Verify("key", kMessage, *signature).ok());
  }
  state.SetItemsProcessed(state.iterations());
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

void OpenSslSign(benchmark::State& state, KeyType type) {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(type == KeyType::kEcdsaP256
                                                 ? EVP_EC_gen("P-256")
                                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) {
    state.SkipWithError("OpenSSL key generation failed");
    return;
  }
  const EVP_MD* md = type == KeyType::kEcdsaP256 ? EVP_sha256() : nullptr;
  std::vector<uint8_t> signature(80);
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t size = signature.size();
    const bool ok =
        EVP_DigestSignInit(ctx, nullptr, md, nullptr, key.get()) == 1 &&
        EVP_DigestSign(ctx, signature.data(), &size, kMessage.data(), kMessage.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
      state.SkipWithError("OpenSSL signing failed");
      break;
    }
    benchmark::DoNotOptimize(signature.data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(Pkcs11Sign, ecdsa_p256, KeyType::kEcdsaP256)->Name("sign/pkcs11/ecdsa-p256");
BENCHMARK_CAPTURE(OpenSslSign, ecdsa_p256, KeyType::kEcdsaP256)->Name("sign/openssl/ecdsa-p256");
BENCHMARK_CAPTURE(Pkcs11Sign, ed25519, KeyType::kEd25519)->Name("sign/pkcs11/ed25519");
BENCHMARK_CAPTURE(OpenSslSign, ed25519, KeyType::kEd25519)->Name("sign/openssl/ed25519");
BENCHMARK_CAPTURE(Pkcs11Verify, ecdsa_p256, KeyType::kEcdsaP256)->Name("verify/pkcs11/ecdsa-p256");

}  // namespace
