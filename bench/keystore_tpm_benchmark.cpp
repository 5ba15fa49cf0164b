// Operations per second through the TPM 2.0 backend: a swtpm started inside
// the benchmark on loopback, reached through the tpm2-tss swtpm TCTI (TCP).
// This file joins keystore_benchmark, whose sign/openssl/ecdsa-p256 is the
// raw OpenSSL baseline of the same run:
//   build/release/bench/keystore_benchmark --benchmark_filter='ecdsa-p256|tpm'
// Each TPM signature is a TPM2_ReadPublic (the key's Name is checked against
// its record before every use) plus a TPM2_Sign, each a TCP round trip to
// swtpm, whose libtpms does the P-256 arithmetic.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "custos/keystore/key_store.h"
#include "custos/keystore/tpm/swtpm_process.h"
#include "custos/keystore/tpm/tpm_key_store.h"

namespace {

using custos::keystore::KeyType;
using custos::keystore::OpenTpmKeyStore;
using custos::keystore::SwtpmProcess;
using custos::keystore::TpmKeyStore;

const std::vector<uint8_t> kTpmMessage(64, 0x5a);

// A swtpm with a store holding one key of `type` named "key"; null (and the
// benchmark marked as skipped) on failure.
struct TpmFixture {
  std::unique_ptr<SwtpmProcess> tpm;
  std::unique_ptr<TpmKeyStore> store;

  static TpmFixture Make(benchmark::State& state, KeyType type) {
    TpmFixture fixture;
    auto tpm = SwtpmProcess::Start();
    if (!tpm.ok()) {
      state.SkipWithError(std::string(tpm.status().message()).c_str());
      return fixture;
    }
    auto store = OpenTpmKeyStore((*tpm)->Tcti());
    if (!store.ok() || !(*store)->Generate(type, "key").ok()) {
      state.SkipWithError("cannot open the TPM store or generate the key");
      return fixture;
    }
    fixture.tpm = *std::move(tpm);
    fixture.store = *std::move(store);
    return fixture;
  }
};

void TpmSign(benchmark::State& state) {
  TpmFixture fixture = TpmFixture::Make(state, KeyType::kEcdsaP256);
  if (fixture.store == nullptr) return;
  for (auto _ : state) {
    auto signature = fixture.store->Sign("key", kTpmMessage);
    if (!signature.ok()) {
      state.SkipWithError(std::string(signature.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(signature->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void TpmSeal(benchmark::State& state) {
  TpmFixture fixture = TpmFixture::Make(state, KeyType::kAes128);
  if (fixture.store == nullptr) return;
  for (auto _ : state) {
    auto sealed = fixture.store->Seal("key", kTpmMessage, {});
    if (!sealed.ok()) {
      state.SkipWithError(std::string(sealed.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(sealed->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void TpmDerive(benchmark::State& state) {
  TpmFixture fixture = TpmFixture::Make(state, KeyType::kEcdhP256);
  if (fixture.store == nullptr) return;
  EVP_PKEY* peer = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(peer, &der);
  const std::vector<uint8_t> spki(der, der + std::max(length, 0));
  OPENSSL_free(der);
  EVP_PKEY_free(peer);
  for (auto _ : state) {
    auto key = fixture.store->DeriveSharedKey("key", spki, {}, {}, 32);
    if (!key.ok()) {
      state.SkipWithError(std::string(key.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(key->data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(TpmSign)->Name("sign/tpm/ecdsa-p256")->UseRealTime();
BENCHMARK(TpmSeal)->Name("seal/tpm/aes-128-cfb-hmac-sha256/64B")->UseRealTime();
BENCHMARK(TpmDerive)->Name("derive/tpm/ecdh-p256-hkdf")->UseRealTime();

}  // namespace
