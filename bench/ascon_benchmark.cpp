// Throughput of Ascon (NIST SP 800-232): single-message Ascon-AEAD128 through
// the NonceAead interface (the build AsconAead128Algorithm() selects, and
// each build this CPU runs), the multi-message batch interface, and
// Ascon-Hash256. Bytes/s count plaintext (or hashed) bytes only.
//
// Messages have no associated data unless the name says AD16 (16 bytes of AD).
// Batch cases seal kBatchSize independent messages (own key and nonce each)
// per call.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "custos/lwc/ascon.h"
#include "custos/lwc/ascon_batch.h"
#include "custos/lwc/internal/ascon_avx512.h"
#include "custos/lwc/internal/ascon_permutation.h"

namespace custos::lwc {
namespace {

constexpr std::size_t kBatchSize = 64;

std::vector<uint8_t> Filled(std::size_t n, uint8_t seed) {
  std::vector<uint8_t> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(seed + 31 * i);
  return bytes;
}

void BM_AsconAead128Seal(benchmark::State& state, std::size_t ad_size) {
  const auto length = static_cast<std::size_t>(state.range(0));
  const std::vector<uint8_t> key = Filled(16, 1), nonce = Filled(16, 2), ad = Filled(ad_size, 3);
  const std::vector<uint8_t> plaintext = Filled(length, 4);
  std::vector<uint8_t> out(length + 16);
  std::unique_ptr<NonceAead> aead = *NewAsconAead128(key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(aead->SealInto(nonce, ad, plaintext, out));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * length));
}

// Single-message seal with one build of the raw functions (portable, BMI2 or
// AVX-512VL), whatever AsconAead128Algorithm() would select.
enum class Build { kPortable, kBmi2, kAvx512 };

const RawAeadAlgorithm* BuildAlgorithm(Build build) {
  switch (build) {
    case Build::kPortable:
      return &internal::AsconAead128PortableAlgorithm();
    case Build::kBmi2:
      return internal::AsconAead128Bmi2Algorithm();
    case Build::kAvx512:
      return internal::AsconAead128Avx512Algorithm();
  }
  return nullptr;
}

void BM_AsconAead128SealBuild(benchmark::State& state, Build build) {
  const RawAeadAlgorithm* algorithm = BuildAlgorithm(build);
  if (algorithm == nullptr) {
    state.SkipWithError("build not supported by this CPU");
    return;
  }
  const auto length = static_cast<std::size_t>(state.range(0));
  const std::vector<uint8_t> key = Filled(16, 1), nonce = Filled(16, 2);
  const std::vector<uint8_t> plaintext = Filled(length, 4);
  std::vector<uint8_t> out(length + 16);
  std::unique_ptr<NonceAead> aead = *NewRawAead(*algorithm, key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(aead->SealInto(nonce, {}, plaintext, out));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * length));
}

void BM_AsconAead128Open(benchmark::State& state) {
  const auto length = static_cast<std::size_t>(state.range(0));
  const std::vector<uint8_t> key = Filled(16, 1), nonce = Filled(16, 2);
  std::unique_ptr<NonceAead> aead = *NewAsconAead128(key);
  const std::vector<uint8_t> sealed = *aead->Seal(nonce, {}, Filled(length, 4));
  std::vector<uint8_t> out(length);
  for (auto _ : state) {
    benchmark::DoNotOptimize(aead->OpenInto(nonce, {}, sealed, out));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * length));
}

void BM_AsconAead128SealBatch(benchmark::State& state, AsconBatchBackend backend,
                              std::size_t ad_size) {
  if (!AsconBatchBackendAvailable(backend)) {
    state.SkipWithError("backend not supported by this CPU");
    return;
  }
  const auto length = static_cast<std::size_t>(state.range(0));
  std::vector<std::vector<uint8_t>> keys, nonces, ads, plaintexts, outs;
  for (std::size_t i = 0; i < kBatchSize; ++i) {
    const auto seed = static_cast<uint8_t>(i);
    keys.push_back(Filled(16, seed));
    nonces.push_back(Filled(16, seed + 1));
    ads.push_back(Filled(ad_size, seed + 2));
    plaintexts.push_back(Filled(length, seed + 3));
    outs.emplace_back(length + 16);
  }
  std::vector<AsconSealRequest> requests;
  for (std::size_t i = 0; i < kBatchSize; ++i) {
    requests.push_back({keys[i], nonces[i], ads[i], plaintexts[i], outs[i]});
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(AsconAead128SealBatch(requests, backend));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatchSize * length));
}

void BM_AsconHash256(benchmark::State& state) {
  const auto length = static_cast<std::size_t>(state.range(0));
  const std::vector<uint8_t> message = Filled(length, 5);
  std::unique_ptr<Hash> hash = NewAsconHash256();
  std::vector<uint8_t> digest(32);
  for (auto _ : state) {
    hash->Update(message);
    benchmark::DoNotOptimize(hash->FinalInto(digest));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * length));
}

BENCHMARK_CAPTURE(BM_AsconAead128Seal, NoAd, 0)->Arg(64)->Arg(1536)->Arg(16384);
BENCHMARK_CAPTURE(BM_AsconAead128Seal, AD16, 16)->Arg(64);
BENCHMARK_CAPTURE(BM_AsconAead128SealBuild, Portable, Build::kPortable)->Arg(64)->Arg(16384);
BENCHMARK_CAPTURE(BM_AsconAead128SealBuild, Bmi2, Build::kBmi2)->Arg(64)->Arg(16384);
BENCHMARK_CAPTURE(BM_AsconAead128SealBuild, Avx512, Build::kAvx512)->Arg(64)->Arg(16384);
BENCHMARK(BM_AsconAead128Open)->Arg(64)->Arg(16384);
BENCHMARK_CAPTURE(BM_AsconAead128SealBatch, Auto, AsconBatchBackend::kAuto, 0)->Arg(64)->Arg(1536);
BENCHMARK_CAPTURE(BM_AsconAead128SealBatch, Avx512, AsconBatchBackend::kAvx512, 0)->Arg(64);
BENCHMARK_CAPTURE(BM_AsconAead128SealBatch, Avx2, AsconBatchBackend::kAvx2, 0)->Arg(64);
BENCHMARK_CAPTURE(BM_AsconAead128SealBatch, Portable, AsconBatchBackend::kPortable, 0)->Arg(64);
BENCHMARK_CAPTURE(BM_AsconAead128SealBatch, AutoAD16, AsconBatchBackend::kAuto, 16)->Arg(64);
BENCHMARK(BM_AsconHash256)->Arg(64)->Arg(16384);

}  // namespace
}  // namespace custos::lwc

BENCHMARK_MAIN();
