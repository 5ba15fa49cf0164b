#include "custos/crypto/registry.h"

#include <utility>

#include "custos/crypto/aes.h"
#include "custos/crypto/openssl_aead.h"
#include "custos/crypto/openssl_hash.h"
#include "custos/lwc/cmac.h"
#include "custos/lwc/hmac.h"

namespace custos::crypto {

using lwc::AlgorithmInfo;
using lwc::AlgorithmKind;

Status RegisterStandardAlgorithms(lwc::AlgorithmRegistry& r) {
  CUSTOS_RETURN_IF_ERROR(r.AddAead(
      {"aes128-gcm", 0x0101, AlgorithmKind::kAead, 16, 12, 16, 0, "NIST SP 800-38D (OpenSSL)"},
      NewAes128Gcm));
  CUSTOS_RETURN_IF_ERROR(r.AddAead(
      {"chacha20-poly1305", 0x0102, AlgorithmKind::kAead, 32, 12, 16, 0, "RFC 8439 (OpenSSL)"},
      NewChaCha20Poly1305));
  CUSTOS_RETURN_IF_ERROR(r.AddHash(
      {"sha256", 0x0301, AlgorithmKind::kHash, 0, 0, 0, 32, "FIPS 180-4 (OpenSSL)"}, NewSha256));
  CUSTOS_RETURN_IF_ERROR(r.AddHash(
      {"sha3-256", 0x0302, AlgorithmKind::kHash, 0, 0, 0, 32, "FIPS 202 (OpenSSL)"}, NewSha3_256));
  CUSTOS_RETURN_IF_ERROR(
      r.AddMac({"aes128-cmac", 0x0501, AlgorithmKind::kMac, 16, 0, 16, 0, "NIST SP 800-38B"},
               [](std::span<const uint8_t> key) -> StatusOr<std::unique_ptr<lwc::Mac>> {
                 CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::BlockCipher> aes, NewAes(key));
                 return lwc::NewCmac(std::move(aes));
               }));
  CUSTOS_RETURN_IF_ERROR(
      r.AddMac({"hmac-sha256", 0x0502, AlgorithmKind::kMac, 0, 0, 32, 0, "RFC 2104, FIPS 198-1"},
               [](std::span<const uint8_t> key) { return lwc::NewHmac(NewSha256(), key); }));
  CUSTOS_RETURN_IF_ERROR(r.AddBlockCipher(
      {"aes128", 0x0631, AlgorithmKind::kBlockCipher, 16, 0, 0, 16, "FIPS 197 (OpenSSL)"}, NewAes));
  return OkStatus();
}

StatusOr<std::shared_ptr<const lwc::AlgorithmRegistry>> NewDefaultRegistry() {
  auto registry = std::make_shared<lwc::AlgorithmRegistry>();
  // The built-in names and ids are fixed at compile time; a clash is a bug
  // (Internal) that the registry tests catch.
  Status status = lwc::RegisterLightweightAlgorithms(*registry);
  if (status.ok()) status = RegisterStandardAlgorithms(*registry);
  if (!status.ok()) return InternalError("building the algorithm registry: " + status.ToString());
  return std::shared_ptr<const lwc::AlgorithmRegistry>(std::move(registry));
}

}  // namespace custos::crypto
