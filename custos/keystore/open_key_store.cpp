#include "custos/keystore/open_key_store.h"

#include <string>

#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/tpm/tpm_key_store.h"

namespace custos::keystore {

StatusOr<std::unique_ptr<KeyStore>> OpenKeyStore(std::string_view uri,
                                                 const SoftKeyStoreOptions& soft_options) {
  const std::size_t colon = uri.find(':');
  const std::string_view scheme = uri.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (scheme == "soft") return OpenSoftKeyStoreUri(uri, soft_options);
  if (scheme == "pkcs11") return OpenPkcs11KeyStore(uri);
  if (scheme == "tpm") {
    const std::string_view tcti = uri.substr(colon + 1);
    if (tcti.empty()) {
      return InvalidArgumentError("tpm: needs a TCTI, e.g. tpm:swtpm:host=127.0.0.1,port=2321");
    }
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<TpmKeyStore> store, OpenTpmKeyStore(tcti));
    return std::unique_ptr<KeyStore>(std::move(store));
  }
  return InvalidArgumentError("unknown key store '" + std::string(uri) +
                              "'; valid forms: " + std::string(kKeyStoreUriForms));
}

}  // namespace custos::keystore
