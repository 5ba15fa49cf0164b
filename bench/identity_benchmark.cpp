// Certificates issued per second by a CA whose key is in a SoftHSM2 token
// (PKCS#11), in the software key store, and with raw OpenSSL X509_sign on an
// in-memory key, in the same run; plus CSR creation/verification, chain
// validation, and one whole enrollment (device key in a software store, CSR,
// CSR check, issuance by the SoftHSM2 CA):
//   build/release/bench/identity_benchmark
// Each IssueCertificate also re-parses the result and verifies its signature
// with OpenSSL, and looks the CA key up in its store; the raw OpenSSL line
// does neither, so the difference is the price of keeping the key in a store
// plus those checks.
#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "custos/identity/chain.h"
#include "custos/identity/csr.h"
#include "custos/identity/x509_issue.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"

namespace {

using custos::identity::Certificate;
using custos::identity::CertificateTemplate;
using custos::identity::SigningKey;
using custos::keystore::KeyStore;
using custos::keystore::KeyType;

constexpr int64_t kNow = 1750000000;
constexpr int64_t kDay = 24 * 3600;

// A root CA on `store` (key "ca", type `type`).
std::optional<Certificate> MakeRoot(KeyStore* store, KeyType type) {
  if (!store->Generate(type, "ca").ok()) return std::nullopt;
  CertificateTemplate tmpl;
  tmpl.common_name = "Bench Root";
  tmpl.organization = "bench";
  auto spki = store->ExportPublicKey("ca");
  if (!spki.ok()) return std::nullopt;
  tmpl.subject_public_key = *spki;
  tmpl.not_before = kNow - kDay;
  tmpl.not_after = kNow + 3650 * kDay;
  tmpl.is_ca = true;
  auto cert = custos::identity::IssueCertificate(tmpl, nullptr, {store, "ca"});
  if (!cert.ok()) return std::nullopt;
  return *std::move(cert);
}

// The public key of a fresh device key.
std::vector<uint8_t> DevicePublicKey() {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  if (!store->Generate(KeyType::kEcdsaP256, "device").ok()) return {};
  return store->ExportPublicKey("device").value_or(std::vector<uint8_t>{});
}

CertificateTemplate DeviceTemplate(std::vector<uint8_t> public_key) {
  CertificateTemplate tmpl;
  tmpl.device_id = "dev-000001";
  tmpl.organization = "bench";
  tmpl.subject_public_key = std::move(public_key);
  tmpl.not_before = kNow;
  tmpl.not_after = kNow + 30 * kDay;
  return tmpl;
}

void Issue(benchmark::State& state, KeyStore* store, KeyType type) {
  const std::optional<Certificate> root = MakeRoot(store, type);
  if (!root.has_value()) {
    state.SkipWithError("cannot make the CA");
    return;
  }
  const CertificateTemplate tmpl = DeviceTemplate(DevicePublicKey());
  const SigningKey key{store, "ca"};
  for (auto _ : state) {
    auto cert = custos::identity::IssueCertificate(tmpl, &*root, key);
    if (!cert.ok()) {
      state.SkipWithError(std::string(cert.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(cert->der().data());
  }
  state.SetItemsProcessed(state.iterations());
}

void IssueSoftHsm(benchmark::State& state, KeyType type) {
  auto token = custos::keystore::SoftHsmTestToken::Create("bench-ca");
  if (!token.ok()) {
    state.SkipWithError(std::string(token.status().message()).c_str());
    return;
  }
  auto store = custos::keystore::OpenPkcs11KeyStore(token->uri());
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  Issue(state, store->get(), type);
}

void IssueSoftStore(benchmark::State& state, KeyType type) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  Issue(state, store.get(), type);
}

// The same profile built and signed by OpenSSL alone (X509_sign with an
// EVP_PKEY in memory): the baseline.
void IssueRawOpenSsl(benchmark::State& state, KeyType type) {
  EVP_PKEY* ca_key = type == KeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  const std::vector<uint8_t> device_spki = DevicePublicKey();
  const unsigned char* in = device_spki.data();
  EVP_PKEY* device_key = d2i_PUBKEY(nullptr, &in, static_cast<long>(device_spki.size()));
  X509_NAME* issuer = X509_NAME_new();
  X509_NAME_add_entry_by_txt(issuer, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("bench"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Bench Root"), -1, -1, 0);
  const EVP_MD* md = type == KeyType::kEd25519 ? nullptr : EVP_sha256();
  for (auto _ : state) {
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    unsigned char serial_bytes[16];
    RAND_bytes(serial_bytes, sizeof(serial_bytes));
    serial_bytes[0] &= 0x7f;
    BIGNUM* serial_bn = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
    BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(x));
    BN_free(serial_bn);
    X509_NAME* subject = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("bench"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("dev-000001"), -1, -1, 0);
    X509_set_issuer_name(x, issuer);
    ASN1_TIME_set(X509_getm_notBefore(x), kNow);
    ASN1_TIME_set(X509_getm_notAfter(x), kNow + 30 * kDay);
    X509_set_pubkey(x, device_key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, nullptr, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
          std::pair{NID_key_usage, "critical,digitalSignature"},
          std::pair{NID_ext_key_usage, "clientAuth"},
          std::pair{NID_subject_alt_name, "URI:urn:custos:device:dev-000001"},
          std::pair{NID_subject_key_identifier, "hash"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    if (X509_sign(x, ca_key, md) <= 0) {
      state.SkipWithError("X509_sign failed");
      X509_free(x);
      break;
    }
    unsigned char* der = nullptr;
    const int length = i2d_X509(x, &der);
    benchmark::DoNotOptimize(length);
    OPENSSL_free(der);
    X509_free(x);
  }
  state.SetItemsProcessed(state.iterations());
  X509_NAME_free(issuer);
  EVP_PKEY_free(device_key);
  EVP_PKEY_free(ca_key);
}

void CreateCsrSoftStore(benchmark::State& state) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  if (!store->Generate(KeyType::kEcdsaP256, "device").ok()) {
    state.SkipWithError("keygen failed");
    return;
  }
  for (auto _ : state) {
    auto csr =
        custos::identity::CreateCsr({"dev-000001", "bench", {}, {}}, {store.get(), "device"});
    benchmark::DoNotOptimize(csr->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void ParseAndVerifyCsrBench(benchmark::State& state) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  if (!store->Generate(KeyType::kEcdsaP256, "device").ok()) {
    state.SkipWithError("keygen failed");
    return;
  }
  auto csr = custos::identity::CreateCsr({"dev-000001", "bench", {}, {}}, {store.get(), "device"});
  if (!csr.ok()) {
    state.SkipWithError("CreateCsr failed");
    return;
  }
  for (auto _ : state) {
    auto request = custos::identity::ParseAndVerifyCsr(*csr);
    benchmark::DoNotOptimize(request->public_key.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void VerifyChainBench(benchmark::State& state) {
  auto store = custos::keystore::NewInMemorySoftKeyStore();
  const std::optional<Certificate> root = MakeRoot(store.get(), KeyType::kEcdsaP256);
  if (!root.has_value()) {
    state.SkipWithError("cannot make the CA");
    return;
  }
  auto leaf = custos::identity::IssueCertificate(DeviceTemplate(DevicePublicKey()), &*root,
                                                 {store.get(), "ca"});
  if (!leaf.ok()) {
    state.SkipWithError("issue failed");
    return;
  }
  const std::vector<Certificate> anchors = {*root};
  for (auto _ : state) {
    const custos::Status status =
        custos::identity::VerifyCertificateChain(*leaf, {}, anchors, {}, kNow);
    benchmark::DoNotOptimize(status.ok());
  }
  state.SetItemsProcessed(state.iterations());
}

// One device enrollment: key generation in a software store, CSR, the CA's
// CSR check, and issuance by a CA whose key is on a SoftHSM2 token.
void EnrollDeviceSoftHsmCa(benchmark::State& state) {
  auto token = custos::keystore::SoftHsmTestToken::Create("bench-enroll");
  if (!token.ok()) {
    state.SkipWithError(std::string(token.status().message()).c_str());
    return;
  }
  auto ca_store = custos::keystore::OpenPkcs11KeyStore(token->uri());
  if (!ca_store.ok()) {
    state.SkipWithError(std::string(ca_store.status().message()).c_str());
    return;
  }
  const std::optional<Certificate> root = MakeRoot(ca_store->get(), KeyType::kEcdsaP256);
  if (!root.has_value()) {
    state.SkipWithError("cannot make the CA");
    return;
  }
  const SigningKey ca_key{ca_store->get(), "ca"};
  int64_t n = 0;
  for (auto _ : state) {
    auto device_store = custos::keystore::NewInMemorySoftKeyStore();
    const std::string id = "dev-" + std::to_string(n++);
    if (!device_store->Generate(KeyType::kEcdsaP256, "device").ok()) break;
    auto csr = custos::identity::CreateCsr({id, "bench", {}, {}}, {device_store.get(), "device"});
    auto request = custos::identity::ParseAndVerifyCsr(*csr);
    CertificateTemplate tmpl = DeviceTemplate(request->public_key);
    tmpl.device_id = request->device_id;
    auto cert = custos::identity::IssueCertificate(tmpl, &*root, ca_key);
    if (!cert.ok()) {
      state.SkipWithError(std::string(cert.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(cert->der().data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(IssueSoftHsm, ecdsa_p256, KeyType::kEcdsaP256)->Name("issue/softhsm/ecdsa-p256");
BENCHMARK_CAPTURE(IssueSoftHsm, ed25519, KeyType::kEd25519)->Name("issue/softhsm/ed25519");
BENCHMARK_CAPTURE(IssueSoftStore, ecdsa_p256, KeyType::kEcdsaP256)
    ->Name("issue/soft-store/ecdsa-p256");
BENCHMARK_CAPTURE(IssueSoftStore, ed25519, KeyType::kEd25519)->Name("issue/soft-store/ed25519");
BENCHMARK_CAPTURE(IssueRawOpenSsl, ecdsa_p256, KeyType::kEcdsaP256)
    ->Name("issue/raw-openssl/ecdsa-p256");
BENCHMARK_CAPTURE(IssueRawOpenSsl, ed25519, KeyType::kEd25519)->Name("issue/raw-openssl/ed25519");
BENCHMARK(CreateCsrSoftStore)->Name("csr/create/soft-store/ecdsa-p256");
BENCHMARK(ParseAndVerifyCsrBench)->Name("csr/parse-and-verify/ecdsa-p256");
BENCHMARK(VerifyChainBench)->Name("chain/verify/ecdsa-p256");
BENCHMARK(EnrollDeviceSoftHsmCa)->Name("enroll/soft-store-device/softhsm-ca");

}  // namespace

BENCHMARK_MAIN();
