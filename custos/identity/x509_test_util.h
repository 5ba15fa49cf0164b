// File: custos/identity/x509_test_util.h
//
// Test support for the X.509 tests of custos/identity: a small PKI (root,
// issuing CA, devices) whose keys live in a real KeyStore, a temporary folder,
// and a runner for the openssl command line (the third-party check).
#ifndef CUSTOS_IDENTITY_X509_TEST_UTIL_H_
#define CUSTOS_IDENTITY_X509_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_issue.h"
#include "custos/identity/x509_signing_key.h"
#include "custos/keystore/key_store.h"

namespace custos::identity::testing {

// 2025-06-15T...Z: the "now" of the tests.
inline constexpr int64_t kNow = 1750000000;
inline constexpr int64_t kDay = 24 * 3600;

// A CA: its certificate and its key in a store.
struct TestCa {
  Certificate cert;
  SigningKey key;
};

// Builds certificates with keys generated in `store` under fresh labels.
class TestPki {
 public:
  explicit TestPki(keystore::KeyStore* store) : store_(store) {}

  // A new key of `type` in the store.
  StatusOr<SigningKey> NewKey(keystore::KeyType type);
  // A self-signed root valid kNow - 1 day .. kNow + 3650 days.
  StatusOr<TestCa> Root(std::string_view name,
                        keystore::KeyType type = keystore::KeyType::kEcdsaP256);
  // An issuing CA under `parent`, valid within it.
  StatusOr<TestCa> Intermediate(const TestCa& parent, std::string_view name,
                                keystore::KeyType type = keystore::KeyType::kEcdsaP256,
                                int path_length = 0);
  // A device certificate (client auth) valid `not_before .. not_after`.
  StatusOr<Certificate> Device(const TestCa& issuer, std::string_view device_id,
                               int64_t not_before = kNow - kDay,
                               int64_t not_after = kNow + 30 * kDay,
                               keystore::KeyType type = keystore::KeyType::kEcdsaP256);

 private:
  keystore::KeyStore* store_;
  int next_label_ = 0;
};

// A fresh temporary folder, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

// The result of a command.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs `command` through /bin/sh, capturing its output.
CommandResult RunCommand(const std::string& command);

}  // namespace custos::identity::testing

#endif  // CUSTOS_IDENTITY_X509_TEST_UTIL_H_
