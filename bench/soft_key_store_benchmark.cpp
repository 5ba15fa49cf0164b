// The software key store: key generation in memory (what the 10,000-device
// enrollment benchmark and the simulator do per device), signing, sealing,
// and the cost of opening a folder store (scrypt at the default cost).
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "custos/core/hex.h"
#include "custos/keystore/soft_key_store.h"

namespace {

using custos::keystore::KeyType;

void InMemoryGenerate(benchmark::State& state, KeyType type) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  std::size_t i = 0;
  for (auto _ : state) {
    auto info = store->Generate(type, "k" + std::to_string(i++));
    if (!info.ok()) state.SkipWithError(std::string(info.status().message()).c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void InMemorySign(benchmark::State& state, KeyType type) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  if (!store->Generate(type, "k").ok()) state.SkipWithError("generate failed");
  const std::vector<uint8_t> message(64, 0x5a);
  for (auto _ : state) {
    auto sig = store->Sign("k", message);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void InMemorySeal(benchmark::State& state, KeyType type) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  if (!store->Generate(type, "k").ok()) state.SkipWithError("generate failed");
  const std::vector<uint8_t> message(256, 0x5a);
  for (auto _ : state) {
    auto sealed = store->Seal("k", message, {});
    benchmark::DoNotOptimize(sealed);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Open an existing folder store: one scrypt derivation (default N = 2^15,
// r = 8, p = 1) and the reading of its key files.
void FolderOpen(benchmark::State& state) {
  std::string pattern = (std::filesystem::temp_directory_path() / "custos-bench-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  const custos::SecretBytes pass(custos::AsBytes("bench passphrase"));
  {
    auto store = custos::keystore::OpenSoftKeyStore(dir, pass);
    if (!store.ok() || !(*store)->Generate(KeyType::kEcdsaP256, "device").ok()) {
      state.SkipWithError("setup failed");
    }
  }
  for (auto _ : state) {
    auto store = custos::keystore::OpenSoftKeyStore(dir, pass);
    if (!store.ok()) state.SkipWithError("open failed");
  }
  std::filesystem::remove_all(dir);
}

// Generating a key in a folder store: key generation + seal + atomic write
// with two fsyncs.
void FolderGenerate(benchmark::State& state) {
  std::string pattern = (std::filesystem::temp_directory_path() / "custos-bench-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  custos::keystore::SoftKeyStoreOptions fast;
  fast.scrypt_n = 1 << 10;
  auto store =
      custos::keystore::OpenSoftKeyStore(dir, custos::SecretBytes(custos::AsBytes("p")), fast);
  if (!store.ok()) state.SkipWithError("open failed");
  std::size_t i = 0;
  for (auto _ : state) {
    auto info = (*store)->Generate(KeyType::kEcdsaP256, "k" + std::to_string(i++));
    if (!info.ok()) state.SkipWithError(std::string(info.status().message()).c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  std::filesystem::remove_all(dir);
}

BENCHMARK_CAPTURE(InMemoryGenerate, ecdsa_p256, KeyType::kEcdsaP256)
    ->Name("soft/mem/generate/ecdsa-p256");
BENCHMARK_CAPTURE(InMemoryGenerate, ed25519, KeyType::kEd25519)->Name("soft/mem/generate/ed25519");
BENCHMARK_CAPTURE(InMemorySign, ecdsa_p256, KeyType::kEcdsaP256)->Name("soft/mem/sign/ecdsa-p256");
BENCHMARK_CAPTURE(InMemorySign, ed25519, KeyType::kEd25519)->Name("soft/mem/sign/ed25519");
BENCHMARK_CAPTURE(InMemorySeal, aes128, KeyType::kAes128)->Name("soft/mem/seal256/aes-128-gcm");
BENCHMARK_CAPTURE(InMemorySeal, ascon, KeyType::kAsconAead128)
    ->Name("soft/mem/seal256/ascon-aead128");
BENCHMARK(FolderOpen)->Name("soft/dir/open/scrypt-2^15")->Unit(benchmark::kMillisecond);
BENCHMARK(FolderGenerate)->Name("soft/dir/generate/ecdsa-p256")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
