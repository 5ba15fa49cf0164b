#include "custos/core/secret_bytes.h"

#include <string.h>  // explicit_bzero

namespace custos {

void SecureWipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) explicit_bzero(bytes.data(), bytes.size());
}

void SecretBytes::resize(std::size_t size) {
  if (size < bytes_.size()) {
    SecureWipe(std::span<uint8_t>(bytes_.data() + size, bytes_.size() - size));
  }
  bytes_.resize(size);
}

void SecretBytes::clear() {
  SecureWipe(mutable_span());
  bytes_.clear();
}

}  // namespace custos
