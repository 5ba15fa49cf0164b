// File: custos/identity/tokens.h
//
// One-time enrollment tokens. A token is a random secret (160 bits) that an
// operator hands to a device (`custos device add` / `custos device tokens`);
// the device presents it once, with its CSR, to get its first operational
// certificate. The CA never stores a token: it stores the SHA-256 hash of the
// token text, an expiry time and, optionally, the one device id the token is
// bound to. A token is consumed atomically with the issuance it pays for (see
// device_registry.h), so it can be used once only.
//
// Token text: "cet1-" followed by 40 lower-case hex digits (20 random bytes).
// The prefix names the token format version, so a later format can coexist.
#ifndef CUSTOS_IDENTITY_TOKENS_H_
#define CUSTOS_IDENTITY_TOKENS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::identity {

// Random bytes in a token (160 bits, above the 128-bit floor).
inline constexpr std::size_t kTokenRandomBytes = 20;
// The token format prefix.
inline constexpr std::string_view kTokenPrefix = "cet1-";
// Length of a token's text.
inline constexpr std::size_t kTokenTextLength = kTokenPrefix.size() + 2 * kTokenRandomBytes;
// The algorithm that hashes tokens, named in every stored token record.
inline constexpr std::string_view kTokenHashAlgorithm = "sha-256";
// Default lifetime of a token: 24 hours.
inline constexpr int64_t kDefaultTokenLifetimeSeconds = 24 * 3600;

// A new token's text, from the operating system's random source, in memory
// that is wiped on free. Unavailable if the kernel refuses randomness.
StatusOr<SecretBytes> GenerateTokenText();

// OK if `text` has the token syntax; InvalidArgument saying what is wrong
// otherwise (the message never repeats the text).
Status CheckTokenSyntax(std::span<const uint8_t> text);

// The lower-case hex SHA-256 of the token text: the only form the CA keeps.
std::string HashToken(std::span<const uint8_t> text);

// What the CA stores about one token.
struct TokenRecord {
  std::string hash;                                 // HashToken(text)
  std::string hash_algorithm{kTokenHashAlgorithm};  // names the hash
  std::string device_id;   // the only device that may use it; empty: any device
  int64_t created_at = 0;  // unix seconds
  int64_t expires_at = 0;  // unix seconds; the token is refused from then on
  bool consumed = false;
  int64_t consumed_at = 0;  // unix seconds, when consumed
  std::string consumed_by;  // device id that used it
};

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_TOKENS_H_
