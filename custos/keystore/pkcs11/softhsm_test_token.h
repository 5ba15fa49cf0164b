// File: custos/keystore/pkcs11/softhsm_test_token.h
//
// For tests: a fresh SoftHSM2 token in its own temporary folder (under
// $TMPDIR or /tmp), removed with everything in it when the object is
// destroyed. Never touches the system-wide token directory.
//
//   auto token = SoftHsmTestToken::Create();
//   ASSERT_THAT(token, IsOk());
//   auto store = OpenPkcs11KeyStore(token->uri());
#ifndef CUSTOS_KEYSTORE_PKCS11_SOFTHSM_TEST_TOKEN_H_
#define CUSTOS_KEYSTORE_PKCS11_SOFTHSM_TEST_TOKEN_H_

#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::keystore {

// Owns a temporary token folder. Movable, not copyable.
class SoftHsmTestToken {
 public:
  // Creates a folder and a token labelled `label` in it with random PINs
  // (see CreateSoftHsmToken). Fails like CreateSoftHsmToken.
  static StatusOr<SoftHsmTestToken> Create(std::string_view label = "custos-test");

  SoftHsmTestToken(SoftHsmTestToken&& other) noexcept;
  SoftHsmTestToken& operator=(SoftHsmTestToken&& other) noexcept;
  SoftHsmTestToken(const SoftHsmTestToken&) = delete;
  SoftHsmTestToken& operator=(const SoftHsmTestToken&) = delete;
  // Removes the folder (best effort). Close every store on the token first.
  ~SoftHsmTestToken();

  // The token's PKCS#11 URI, for OpenPkcs11KeyStore.
  const std::string& uri() const { return uri_; }
  // The folder that holds softhsm2.conf, tokens/ and the PIN files.
  const std::string& dir() const { return dir_; }
  const std::string& label() const { return label_; }

 private:
  SoftHsmTestToken(std::string dir, std::string label, std::string uri)
      : dir_(std::move(dir)), label_(std::move(label)), uri_(std::move(uri)) {}
  std::string dir_;
  std::string label_;
  std::string uri_;
};

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_PKCS11_SOFTHSM_TEST_TOKEN_H_
