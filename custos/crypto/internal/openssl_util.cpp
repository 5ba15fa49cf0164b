#include "custos/crypto/internal/openssl_util.h"

#include <openssl/err.h>

#include <string>

namespace custos::crypto::internal {

Status OpenSslError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string message = "OpenSSL " + std::string(what) + " failed";
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    message += ": ";
    message += reason;
  }
  return InternalError(message);
}

}  // namespace custos::crypto::internal
