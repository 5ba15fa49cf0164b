// Fuzzes certificate parsing and chain validation against a fixed trust
// anchor (fuzz/cert_chain_anchor.h). Input:
//   options (1 byte: bit 0 require a CRL for each CA, bits 1-2 purpose)
//   | leaf length (2, big-endian) | leaf DER
//   | intermediate length (2, big-endian) | intermediate DER (may be empty)
//   | CRL DER (the rest, may be empty)
// The chain is checked at the leaf's notBefore + 60 s, so seeds made at any
// time are valid at their own time.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "custos/identity/chain.h"
#include "custos/identity/crl.h"
#include "custos/identity/x509_certificate.h"
#include "fuzz/cert_chain_anchor.h"

namespace {

// Takes a 2-byte length and that many bytes off the front of `input`.
bool TakeChunk(std::span<const uint8_t>& input, std::span<const uint8_t>& chunk) {
  if (input.size() < 2) return false;
  const std::size_t length = (std::size_t{input[0]} << 8) | input[1];
  input = input.subspan(2);
  if (input.size() < length) return false;
  chunk = input.first(length);
  input = input.subspan(length);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using custos::identity::Certificate;
  static const std::vector<Certificate> kAnchors = {*Certificate::FromPem(kCertChainAnchorPem)};

  std::span<const uint8_t> input(data, size);
  if (input.empty()) return 0;
  custos::identity::ChainOptions options;
  options.require_crl_for_each_ca = (input[0] & 1) != 0;
  options.purpose = static_cast<custos::identity::CertificatePurpose>((input[0] >> 1) % 3);
  input = input.subspan(1);

  std::span<const uint8_t> leaf_der;
  std::span<const uint8_t> intermediate_der;
  if (!TakeChunk(input, leaf_der) || !TakeChunk(input, intermediate_der)) return 0;
  auto leaf = Certificate::FromDer(leaf_der);
  if (!leaf.ok()) return 0;
  (void)leaf->ToPem();

  std::vector<Certificate> intermediates;
  if (!intermediate_der.empty()) {
    auto intermediate = Certificate::FromDer(intermediate_der);
    if (intermediate.ok()) intermediates.push_back(*std::move(intermediate));
  }
  std::vector<custos::identity::Crl> crls;
  if (!input.empty()) {
    auto crl = custos::identity::Crl::FromDer(input);
    if (crl.ok()) {
      (void)crl->IsRevoked(*leaf);
      (void)crl->VerifySignature(kAnchors[0]);
      crls.push_back(*std::move(crl));
    }
  }
  (void)custos::identity::VerifyCertificateChain(*leaf, intermediates, kAnchors, crls,
                                                 leaf->not_before() + 60, options);
  return 0;
}
