#include "custos/keystore/open_key_store.h"

#include <string>

#include "custos/keystore/pkcs11/pkcs11_key_store.h"

namespace custos::keystore {

StatusOr<std::unique_ptr<KeyStore>> OpenKeyStore(std::string_view uri,
                                                 const SoftKeyStoreOptions& soft_options) {
  const std::size_t colon = uri.find(':');
  const std::string_view scheme = uri.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (scheme == "soft") return OpenSoftKeyStoreUri(uri, soft_options);
  if (scheme == "pkcs11") return OpenPkcs11KeyStore(uri);
  if (scheme == "tpm") {
    return UnimplementedError("the TPM 2.0 backend is not built into this custos yet");
  }
  return InvalidArgumentError("unknown key store '" + std::string(uri) +
                              "'; valid forms: " + std::string(kKeyStoreUriForms));
}

}  // namespace custos::keystore
