// File: custos/net/tls_test_util.cpp
#include "custos/net/tls_test_util.h"

#include <ctime>

#include "custos/identity/x509_issue.h"

namespace custos::net::testing {
namespace {

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

StatusOr<TestPki> TestPki::Create(keystore::KeyStore& ca_store, std::string_view name) {
  const std::string label = std::string(name) + "-root";
  CUSTOS_RETURN_IF_ERROR(ca_store.Generate(keystore::KeyType::kEcdsaP256, label).status());
  identity::SigningKey key{&ca_store, label};
  identity::CertificateTemplate tmpl;
  tmpl.common_name = std::string(name) + " Root CA";
  tmpl.organization = std::string(name);
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, ca_store.ExportPublicKey(label));
  tmpl.not_before = Now() - 3600;
  tmpl.not_after = Now() + 365 * 24 * 3600;
  tmpl.is_ca = true;
  CUSTOS_ASSIGN_OR_RETURN(identity::Certificate root,
                          identity::IssueCertificate(tmpl, nullptr, key));
  return TestPki(std::move(root), std::move(key));
}

StatusOr<identity::Certificate> TestPki::Issue(keystore::KeyStore& store, std::string_view label,
                                               keystore::KeyType type, std::string_view device_id,
                                               std::string_view dns_name) const {
  CUSTOS_RETURN_IF_ERROR(store.Generate(type, label).status());
  identity::CertificateTemplate tmpl;
  tmpl.organization = root_.subject_organization();
  if (!device_id.empty()) {
    tmpl.device_id = std::string(device_id);
    tmpl.client_auth = true;
  } else {
    tmpl.common_name = std::string(dns_name);
    tmpl.san_dns_names.emplace_back(dns_name);
    tmpl.client_auth = false;
    tmpl.server_auth = true;
  }
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, store.ExportPublicKey(label));
  tmpl.not_before = Now() - 600;
  tmpl.not_after = Now() + 30 * 24 * 3600;
  return identity::IssueCertificate(tmpl, &root_, key_);
}

StatusOr<identity::Certificate> TestPki::IssueServer(keystore::KeyStore& store,
                                                     std::string_view label,
                                                     std::string_view dns_name,
                                                     keystore::KeyType type) const {
  return Issue(store, label, type, "", dns_name);
}

StatusOr<identity::Certificate> TestPki::IssueDevice(keystore::KeyStore& store,
                                                     std::string_view label,
                                                     std::string_view device_id,
                                                     keystore::KeyType type) const {
  return Issue(store, label, type, device_id, "");
}

StatusOr<identity::Crl> TestPki::IssueCrl(const std::vector<identity::Certificate>& revoked,
                                          uint64_t number) const {
  std::vector<identity::RevokedEntry> entries;
  for (const identity::Certificate& cert : revoked) {
    entries.push_back({cert.serial_hex(), Now() - 10, identity::RevocationReason::kKeyCompromise});
  }
  return identity::IssueCrl(root_, key_, entries, Now() - 60, Now() + 24 * 3600, number);
}

}  // namespace custos::net::testing
