// File: custos/net/mqtt_test_util.cpp
#include "custos/net/mqtt_test_util.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>

#include "custos/identity/crl.h"
#include "custos/identity/x509_issue.h"
#include "custos/keystore/soft_key_store.h"

namespace custos::net::testing {
namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return InternalError("EVP_EC_gen failed");
  return key;
}

StatusOr<std::vector<uint8_t>> Spki(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return InternalError("i2d_PUBKEY failed");
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace

void SslCtxFree::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
void PkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

SecretBytes Credential::KeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  SecretBytes out(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data),
                                           static_cast<std::size_t>(len)));
  BIO_free(bio);
  return out;
}

StatusOr<std::unique_ptr<TestFleetPki>> TestFleetPki::Create(std::string_view ca_name) {
  std::unique_ptr<TestFleetPki> pki(new TestFleetPki);
  pki->store_ = keystore::NewInMemorySoftKeyStore();
  CUSTOS_RETURN_IF_ERROR(pki->store_->Generate(keystore::KeyType::kEcdsaP256, "ca").status());
  pki->ca_key_ = identity::SigningKey{pki->store_.get(), "ca"};
  identity::CertificateTemplate tmpl;
  tmpl.common_name = std::string(ca_name);
  tmpl.organization = "custos tests";
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, pki->store_->ExportPublicKey("ca"));
  tmpl.not_before = Now() - 3600;
  tmpl.not_after = Now() + 30 * 24 * 3600;
  tmpl.is_ca = true;
  tmpl.path_length = 0;
  CUSTOS_ASSIGN_OR_RETURN(pki->ca_, identity::IssueCertificate(tmpl, nullptr, pki->ca_key_));
  return pki;
}

StatusOr<Credential> TestFleetPki::Issue(std::string_view device_id, std::string_view common_name,
                                         bool server) {
  CUSTOS_ASSIGN_OR_RETURN(PkeyPtr key, NewP256Key());
  identity::CertificateTemplate tmpl;
  tmpl.device_id = std::string(device_id);
  tmpl.common_name = std::string(common_name);
  tmpl.organization = "custos tests";
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, Spki(key.get()));
  tmpl.not_before = Now() - 3600;
  tmpl.not_after = Now() + 24 * 3600;
  if (server) {
    tmpl.client_auth = false;
    tmpl.server_auth = true;
    tmpl.san_dns_names = {"localhost", "127.0.0.1"};
  }
  CUSTOS_ASSIGN_OR_RETURN(identity::Certificate cert,
                          identity::IssueCertificate(tmpl, &*ca_, ca_key_));
  return Credential{std::move(cert), std::move(key)};
}

StatusOr<Credential> TestFleetPki::Device(std::string_view device_id) {
  return Issue(device_id, "", false);
}
StatusOr<Credential> TestFleetPki::Client(std::string_view common_name) {
  return Issue("", common_name, false);
}
StatusOr<Credential> TestFleetPki::Server() { return Issue("", "custos broker", true); }

StatusOr<std::string> TestFleetPki::CrlPem(
    const std::vector<const identity::Certificate*>& revoked) {
  std::vector<identity::RevokedEntry> entries;
  for (const identity::Certificate* cert : revoked) {
    entries.push_back({cert->serial_hex(), Now() - 1, identity::RevocationReason::kKeyCompromise});
  }
  CUSTOS_ASSIGN_OR_RETURN(identity::Crl crl, identity::IssueCrl(*ca_, ca_key_, entries, Now() - 60,
                                                                Now() + 24 * 3600, ++crl_number_));
  return crl.ToPem();
}

StatusOr<SslCtxPtr> ClientSslCtx(const identity::Certificate& ca, const Credential* credential) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return InternalError("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.native()) != 1) {
    return InternalError("cannot add the CA to the client trust store");
  }
  if (credential != nullptr) {
    if (SSL_CTX_use_certificate(ctx.get(), credential->cert.native()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx.get(), credential->key.get()) != 1) {
      return InternalError("cannot set the client certificate or key");
    }
  }
  return ctx;
}

TempFolder::TempFolder() {
  std::string templ = (std::filesystem::temp_directory_path() / "custos-mqtt-XXXXXX").string();
  if (mkdtemp(templ.data()) != nullptr) path_ = templ;
}

TempFolder::~TempFolder() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

StatusOr<std::unique_ptr<MosquittoBroker>> StartTestBroker(TestFleetPki& pki,
                                                           const std::string& dir,
                                                           bool with_plugin) {
  CUSTOS_ASSIGN_OR_RETURN(Credential server, pki.Server());
  MosquittoBrokerConfig config;
  config.dir = dir + "/broker";
  config.ca_pem = pki.ca().ToPem();
  config.server_cert_pem = server.cert.ToPem();
  config.server_key_pem = server.KeyPem();
  CUSTOS_ASSIGN_OR_RETURN(config.crl_pem, pki.CrlPem({}));
  config.privileged_identities = {std::string(kPrivilegedIdentity)};
  if (!with_plugin) config.plugin_path.clear();
  return MosquittoBroker::Start(std::move(config));
}

}  // namespace custos::net::testing
