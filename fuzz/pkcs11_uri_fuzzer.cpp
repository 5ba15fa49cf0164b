// Fuzzes the RFC 7512 PKCS#11 URI parser: the input is the URI text. A URI
// that parses must survive re-escaping its token label and parsing again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "custos/keystore/pkcs11/pkcs11_uri.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto uri = custos::keystore::ParsePkcs11Uri(text);
  if (!uri.ok()) return 0;
  if (uri->token.has_value()) {
    auto again = custos::keystore::ParsePkcs11Uri(
        "pkcs11:token=" + custos::keystore::Pkcs11UriEscape(*uri->token));
    if (!again.ok() || again->token != uri->token) std::abort();
  }
  (void)custos::keystore::ResolvePkcs11ModulePath(*uri);
  return 0;
}
