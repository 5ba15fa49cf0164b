#include "custos/crypto/throughput.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "custos/core/random.h"
#include "custos/lwc/ascon.h"
#include "custos/lwc/ascon_batch.h"

namespace custos::crypto {
namespace {

using Clock = std::chrono::steady_clock;

// Runs `body` (one message) often enough to last min_time_ms; returns the
// best ns per message over the repetitions.
double BestNsPerCall(const std::function<void()>& body, const ThroughputOptions& options) {
  for (int i = 0; i < 8; ++i) body();  // warm caches and branch predictors
  // Calibrate the iteration count.
  std::size_t iterations = 1;
  while (true) {
    auto start = Clock::now();
    for (std::size_t i = 0; i < iterations; ++i) body();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (ms >= options.min_time_ms / 4 || iterations > (std::size_t{1} << 30)) break;
    iterations *= 2;
  }
  iterations *= 4;
  double best = 1e300;
  for (int r = 0; r < std::max(1, options.repetitions); ++r) {
    auto start = Clock::now();
    for (std::size_t i = 0; i < iterations; ++i) body();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    best = std::min(best, ns / static_cast<double>(iterations));
  }
  return best;
}

ThroughputResult Result(std::string name, std::size_t bytes, double ns_per_message) {
  ThroughputResult result;
  result.algorithm = std::move(name);
  result.bytes = bytes;
  result.ns_per_byte = ns_per_message / static_cast<double>(bytes);
  result.mb_per_s = 1000.0 / result.ns_per_byte;
  return result;
}

// Seals one message of each size with `info`'s AEAD.
Status MeasureAead(const lwc::AlgorithmRegistry& registry, const lwc::AlgorithmInfo& info,
                   const ThroughputOptions& options, std::vector<ThroughputResult>& results) {
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes key, RandomSecret(info.key_size));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::NonceAead> aead,
                          registry.NewAead(info.name, key.span()));
  const std::vector<uint8_t> nonce(info.nonce_size, 0x24);
  for (std::size_t size : options.sizes) {
    const std::vector<uint8_t> message(size, 0x5a);
    std::vector<uint8_t> out(size + info.tag_size);
    Status status = OkStatus();
    double ns =
        BestNsPerCall([&] { status.Update(aead->SealInto(nonce, {}, message, out)); }, options);
    CUSTOS_RETURN_IF_ERROR(status);
    results.push_back(Result(info.name, size, ns));
  }
  return OkStatus();
}

// The Ascon batch interface: many independent messages (own key each)
// sealed together with SIMD across messages; reported per message.
Status MeasureAsconBatch(const ThroughputOptions& options, std::vector<ThroughputResult>& results) {
  constexpr std::size_t kBatch = 64;
  std::vector<SecretBytes> keys;
  for (std::size_t i = 0; i < kBatch; ++i) {
    CUSTOS_ASSIGN_OR_RETURN(SecretBytes key, RandomSecret(lwc::kAsconAead128KeySize));
    keys.push_back(std::move(key));
  }
  const std::vector<uint8_t> nonce(lwc::kAsconAead128NonceSize, 0x24);
  for (std::size_t size : options.sizes) {
    const std::vector<uint8_t> message(size, 0x5a);
    std::vector<std::vector<uint8_t>> outs(kBatch,
                                           std::vector<uint8_t>(size + lwc::kAsconAead128TagSize));
    std::vector<lwc::AsconSealRequest> requests(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      requests[i] = {keys[i].span(), nonce, {}, message, outs[i]};
    }
    Status status = OkStatus();
    double ns =
        BestNsPerCall([&] { status.Update(lwc::AsconAead128SealBatch(requests)); }, options);
    CUSTOS_RETURN_IF_ERROR(status);
    results.push_back(Result("ascon-aead128-batch", size, ns / kBatch));
  }
  return OkStatus();
}

// Hashes one message of each size with `info`'s hash.
Status MeasureHash(const lwc::AlgorithmRegistry& registry, const lwc::AlgorithmInfo& info,
                   const ThroughputOptions& options, std::vector<ThroughputResult>& results) {
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::Hash> hash, registry.NewHash(info.name));
  std::vector<uint8_t> digest(info.output_size);
  for (std::size_t size : options.sizes) {
    const std::vector<uint8_t> message(size, 0x5a);
    Status status = OkStatus();
    double ns = BestNsPerCall(
        [&] {
          hash->Update(message);
          status.Update(hash->FinalInto(digest));
        },
        options);
    CUSTOS_RETURN_IF_ERROR(status);
    results.push_back(Result(info.name, size, ns));
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::vector<ThroughputResult>> MeasureThroughput(const lwc::AlgorithmRegistry& registry,
                                                          const ThroughputOptions& options) {
  std::vector<ThroughputResult> results;
  for (const lwc::AlgorithmInfo& info : registry.List()) {
    if (!options.filter.empty() && info.name.find(options.filter) == std::string::npos) continue;
    if (info.kind == lwc::AlgorithmKind::kAead) {
      CUSTOS_RETURN_IF_ERROR(MeasureAead(registry, info, options, results));
      if (info.name == "ascon-aead128") {
        CUSTOS_RETURN_IF_ERROR(MeasureAsconBatch(options, results));
      }
    } else if (info.kind == lwc::AlgorithmKind::kHash) {
      CUSTOS_RETURN_IF_ERROR(MeasureHash(registry, info, options, results));
    }
  }
  return results;
}

}  // namespace custos::crypto
