// File: custos/net/broker_policy.cpp
#include "custos/net/broker_policy.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace custos::net {
namespace {

constexpr std::size_t kMaxDeviceIdLength = 64;
constexpr std::size_t kMaxRevocationFileBytes = 1024 * 1024;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CrlFree {
  void operator()(X509_CRL* crl) const { X509_CRL_free(crl); }
};

bool IsDeviceIdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string NameKey(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  std::size_t der_size = 0;
  if (X509_NAME_get0_der(name, &der, &der_size) != 1) return {};
  return Hex(der, der_size);
}

std::string SerialKey(const ASN1_INTEGER* serial) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  BN_free(bn);
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> ReadSmallFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open '" + path + "'";
    return std::nullopt;
  }
  std::string data;
  data.resize(kMaxRevocationFileBytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > kMaxRevocationFileBytes) {
    *error = "'" + path + "' is larger than 1 MiB";
    return std::nullopt;
  }
  return data;
}

}  // namespace

std::string DeviceTelemetryTopic(std::string_view device_id) {
  return std::string(kDeviceTopicRoot) + "/" + std::string(device_id) + "/telemetry";
}

std::string DeviceCommandsTopic(std::string_view device_id) {
  return std::string(kDeviceTopicRoot) + "/" + std::string(device_id) + "/commands";
}

bool IsDeviceIdentity(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceIdLength) return false;
  if (name.front() == '.' || name.front() == '-') return false;
  for (char c : name) {
    if (!IsDeviceIdCharacter(c)) return false;
  }
  return true;
}

bool DeviceMayAccess(std::string_view device_id, std::string_view topic, TopicAccess access) {
  if (!IsDeviceIdentity(device_id)) return false;
  switch (access) {
    case TopicAccess::kWrite:
      return topic == DeviceTelemetryTopic(device_id);
    case TopicAccess::kRead:
    case TopicAccess::kSubscribe:
      return topic == DeviceCommandsTopic(device_id);
    case TopicAccess::kUnsubscribe:
      return true;
  }
  return false;
}

std::string RevocationKey(X509* cert) {
  return NameKey(X509_get_issuer_name(cert)) + ":" + SerialKey(X509_get0_serialNumber(cert));
}

std::optional<RevocationList> RevocationList::Load(const std::string& crl_path,
                                                   const std::string& ca_path, std::string* error) {
  std::optional<std::string> ca_pem = ReadSmallFile(ca_path, error);
  if (!ca_pem) return std::nullopt;
  std::vector<std::unique_ptr<X509, X509Free>> cas;
  {
    std::unique_ptr<BIO, BioFree> bio(
        BIO_new_mem_buf(ca_pem->data(), static_cast<int>(ca_pem->size())));
    while (true) {
      X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (cert == nullptr) break;
      cas.emplace_back(cert);
    }
    ERR_clear_error();
  }
  if (cas.empty()) {
    *error = "no CA certificate in '" + ca_path + "'";
    return std::nullopt;
  }

  std::optional<std::string> crl_pem = ReadSmallFile(crl_path, error);
  if (!crl_pem) return std::nullopt;
  RevocationList list;
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(crl_pem->data(), static_cast<int>(crl_pem->size())));
  int crl_count = 0;
  while (true) {
    std::unique_ptr<X509_CRL, CrlFree> crl(
        PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (crl == nullptr) break;
    ++crl_count;
    const X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
    bool verified = false;
    for (const auto& ca : cas) {
      if (X509_NAME_cmp(X509_get_subject_name(ca.get()), issuer) != 0) continue;
      EVP_PKEY* key = X509_get0_pubkey(ca.get());
      if (key != nullptr && X509_CRL_verify(crl.get(), key) == 1) {
        verified = true;
        break;
      }
    }
    if (!verified) {
      ERR_clear_error();
      *error = "CRL " + std::to_string(crl_count) + " in '" + crl_path +
               "' is not signed by a CA of '" + ca_path + "'";
      return std::nullopt;
    }
    const std::string issuer_key = NameKey(issuer);
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
      const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, i);
      list.revoked_.insert(issuer_key + ":" + SerialKey(X509_REVOKED_get0_serialNumber(entry)));
    }
  }
  // PEM_read_bio_X509_CRL ends with "no start line" at the end of the data;
  // any other error means a malformed block.
  unsigned long last = ERR_peek_last_error();
  ERR_clear_error();
  if (last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    *error = "malformed CRL in '" + crl_path + "'";
    return std::nullopt;
  }
  if (crl_count == 0) {
    *error = "no CRL in '" + crl_path + "'";
    return std::nullopt;
  }
  return list;
}

bool RevocationList::IsRevoked(X509* cert) const { return revoked_.count(RevocationKey(cert)) > 0; }

}  // namespace custos::net
