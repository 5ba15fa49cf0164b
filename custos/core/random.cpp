#include "custos/core/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace custos {

Status FillRandom(std::span<uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError(std::string("getrandom failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return OkStatus();
}

StatusOr<SecretBytes> RandomSecret(std::size_t size) {
  SecretBytes secret(size);
  CUSTOS_RETURN_IF_ERROR(FillRandom(secret.mutable_span()));
  return secret;
}

}  // namespace custos
