// Fuzzes PKCS#10 CSR parsing and proof-of-possession checking (DER or PEM
// input, default limits), then reads every field of an accepted request.
#include <cstddef>
#include <cstdint>
#include <span>

#include "custos/identity/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto request = custos::identity::ParseAndVerifyCsr(std::span<const uint8_t>(data, size));
  if (!request.ok()) return 0;
  // An accepted request names a valid device and a supported key.
  if (request->device_id.empty() || request->public_key.empty()) __builtin_trap();
  (void)custos::identity::CsrDerToPem(request->der);
  return 0;
}
