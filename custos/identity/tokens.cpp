#include "custos/identity/tokens.h"

#include <openssl/evp.h>

#include <array>

#include "custos/core/hex.h"
#include "custos/core/random.h"

namespace custos::identity {

StatusOr<SecretBytes> GenerateTokenText() {
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes random, RandomSecret(kTokenRandomBytes));
  static constexpr char kDigits[] = "0123456789abcdef";
  SecretBytes text(kTokenTextLength);
  std::size_t at = 0;
  for (char c : kTokenPrefix) text[at++] = static_cast<uint8_t>(c);
  for (std::size_t i = 0; i < random.size(); ++i) {
    // Table look-up by secret nibble: a cache-timing leak of a token is not a
    // practical threat on a CA host, and the digits table is one cache line.
    text[at++] = static_cast<uint8_t>(kDigits[random[i] >> 4]);
    text[at++] = static_cast<uint8_t>(kDigits[random[i] & 0x0f]);
  }
  return text;
}

Status CheckTokenSyntax(std::span<const uint8_t> text) {
  if (text.size() != kTokenTextLength) {
    return InvalidArgumentError("an enrollment token has " + std::to_string(kTokenTextLength) +
                                " characters, got " + std::to_string(text.size()));
  }
  for (std::size_t i = 0; i < kTokenPrefix.size(); ++i) {
    if (text[i] != static_cast<uint8_t>(kTokenPrefix[i])) {
      return InvalidArgumentError("an enrollment token starts with '" + std::string(kTokenPrefix) +
                                  "'");
    }
  }
  bool ok = true;
  for (std::size_t i = kTokenPrefix.size(); i < text.size(); ++i) {
    const uint8_t c = text[i];
    ok &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!ok) return InvalidArgumentError("an enrollment token ends in lower-case hex digits");
  return OkStatus();
}

std::string HashToken(std::span<const uint8_t> text) {
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  // EVP_Digest with SHA-256 fails only on allocation failure; an all-zero
  // digest then matches no stored token.
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    digest.fill(0);
  }
  return HexEncode(digest);
}

}  // namespace custos::identity
