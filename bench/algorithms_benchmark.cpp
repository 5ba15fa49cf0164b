// Google Benchmark over every AEAD (seal and open) and hash of the default
// registry at 64 B, 1536 B and 16 KiB, OpenSSL's algorithms included, so
// that ratios come from one run:
//   build/release/bench/algorithms_benchmark --benchmark_filter='aead_seal/(ascon|chacha)'
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "custos/crypto/registry.h"

namespace {

using custos::lwc::AlgorithmInfo;
using custos::lwc::AlgorithmKind;
using custos::lwc::AlgorithmRegistry;

void SealBenchmark(benchmark::State& state, const AlgorithmRegistry* registry, AlgorithmInfo info) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  std::vector<uint8_t> key(info.key_size, 0x11), nonce(info.nonce_size, 0x22);
  auto aead = registry->NewAead(info.name, key);
  if (!aead.ok()) {
    state.SkipWithError(std::string(aead.status().message()).c_str());
    return;
  }
  std::vector<uint8_t> message(size, 0x5a), out(size + info.tag_size);
  for (auto _ : state) {
    benchmark::DoNotOptimize((*aead)->SealInto(nonce, {}, message, out));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void OpenBenchmark(benchmark::State& state, const AlgorithmRegistry* registry, AlgorithmInfo info) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  std::vector<uint8_t> key(info.key_size, 0x11), nonce(info.nonce_size, 0x22);
  auto aead = registry->NewAead(info.name, key);
  if (!aead.ok()) {
    state.SkipWithError(std::string(aead.status().message()).c_str());
    return;
  }
  std::vector<uint8_t> message(size, 0x5a);
  auto sealed = (*aead)->Seal(nonce, {}, message);
  std::vector<uint8_t> out(size);
  for (auto _ : state) {
    benchmark::DoNotOptimize((*aead)->OpenInto(nonce, {}, *sealed, out));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void HashBenchmark(benchmark::State& state, const AlgorithmRegistry* registry, AlgorithmInfo info) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  auto hash = registry->NewHash(info.name);
  std::vector<uint8_t> message(size, 0x5a), digest(info.output_size);
  for (auto _ : state) {
    (*hash)->Update(message);
    benchmark::DoNotOptimize((*hash)->FinalInto(digest));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

}  // namespace

int main(int argc, char** argv) {
  auto registry = custos::crypto::NewDefaultRegistry();
  if (!registry.ok()) return 1;
  const AlgorithmRegistry* r = registry->get();
  for (const AlgorithmInfo& info : r->List()) {
    if (info.kind == AlgorithmKind::kAead) {
      benchmark::RegisterBenchmark(("aead_seal/" + info.name).c_str(), SealBenchmark, r, info)
          ->Arg(64)->Arg(1536)->Arg(16384);
      benchmark::RegisterBenchmark(("aead_open/" + info.name).c_str(), OpenBenchmark, r, info)
          ->Arg(64)->Arg(1536)->Arg(16384);
    } else if (info.kind == AlgorithmKind::kHash) {
      benchmark::RegisterBenchmark(("hash/" + info.name).c_str(), HashBenchmark, r, info)
          ->Arg(64)->Arg(1536)->Arg(16384);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
