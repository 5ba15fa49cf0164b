// File: custos/crypto/throughput.h
//
// Throughput measurement behind `custos crypto bench`: every AEAD (seal) and
// every hash of a registry at several message sizes, all in one run, so that
// ratios between algorithms (e.g. Ascon-AEAD128 against OpenSSL's
// ChaCha20-Poly1305) are measured under the same conditions. For careful
// comparisons use the Google Benchmark programs in bench/.
#ifndef CUSTOS_CRYPTO_THROUGHPUT_H_
#define CUSTOS_CRYPTO_THROUGHPUT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "custos/core/status.h"
#include "custos/lwc/registry.h"

namespace custos::crypto {

// One measurement.
struct ThroughputResult {
  std::string algorithm;  // registry name; "ascon-aead128-batch" for the batch interface
  std::size_t bytes = 0;  // message size
  double ns_per_byte = 0;
  double mb_per_s = 0;  // 10^6 bytes per second
};

struct ThroughputOptions {
  std::vector<std::size_t> sizes = {64, 1536, 16384};
  // Each measurement runs at least this long; the best of `repetitions`
  // such runs is reported.
  double min_time_ms = 60;
  int repetitions = 3;
  // Only algorithms whose name contains this text (empty = all).
  std::string filter;
};

// Measures every AEAD and hash of `registry`. Not thread-safe with respect to
// other CPU-heavy work (it measures wall-clock time).
StatusOr<std::vector<ThroughputResult>> MeasureThroughput(const lwc::AlgorithmRegistry& registry,
                                                          const ThroughputOptions& options);

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_THROUGHPUT_H_
