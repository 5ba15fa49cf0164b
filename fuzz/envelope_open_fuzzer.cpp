// Fuzzes envelope parsing and opening: any byte string must give a clean
// Status, never a crash, and nothing that does not verify may open.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "custos/core/hex.h"
#include "custos/crypto/envelope.h"
#include "custos/crypto/registry.h"
#include "fuzz/fuzz_keyset.h"

namespace {

const custos::crypto::EnvelopeAead& Envelope() {
  // Built once per process: fuzzers run millions of inputs.
  static const custos::crypto::EnvelopeAead* envelope = [] {
    auto registry = custos::crypto::NewDefaultRegistry();
    if (!registry.ok()) std::abort();
    auto keyset = custos::crypto::Keyset::FromJson(custos::fuzz::kFuzzKeysetJson, **registry);
    if (!keyset.ok()) std::abort();
    auto aead = custos::crypto::EnvelopeAead::Create(*keyset, *registry);
    if (!aead.ok()) std::abort();
    return new custos::crypto::EnvelopeAead(*std::move(aead));
  }();
  return *envelope;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  (void)custos::crypto::ParseEnvelope(input);
  auto opened = Envelope().Decrypt(input, {});
  if (opened.ok()) {
    // Whatever opened must re-seal and open to the same plaintext.
    auto sealed = Envelope().Encrypt(*opened, {});
    if (!sealed.ok()) std::abort();
    auto again = Envelope().Decrypt(*sealed, {});
    if (!again.ok() || *again != *opened) std::abort();
  }
  return 0;
}
