// File: custos/crypto/keyset.h
//
// A Keyset is a set of AEAD keys, each with a 32-bit key id, an algorithm
// name and a status, one of them primary. The envelope (envelope.h) encrypts
// with the primary key and decrypts with whichever key a message names, so a
// keyset can be rotated (Rotate adds a new primary) without breaking old
// messages. Its JSON form is documented in docs/formats/keyset.md; it holds
// key material in clear and must be stored like a private key.
//
// Keys live in SecretBytes (wiped on free). A Keyset is a value; it is not
// synchronised.
#ifndef CUSTOS_CRYPTO_KEYSET_H_
#define CUSTOS_CRYPTO_KEYSET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/lwc/registry.h"

namespace custos::crypto {

// Whether a key may still be used. Disabled keys decrypt nothing.
enum class KeyStatus { kEnabled, kDisabled };

// One key of a keyset.
struct KeysetKey {
  uint32_t key_id = 0;
  std::string algorithm;  // a registry name of kind AEAD
  KeyStatus status = KeyStatus::kEnabled;
  SecretBytes key;
};

class Keyset {
 public:
  // Largest JSON keyset accepted, and largest number of keys.
  static constexpr std::size_t kMaxJsonBytes = 1 << 20;
  static constexpr std::size_t kMaxKeys = 1024;

  // A keyset with one fresh random key of `algorithm` (an AEAD of
  // `registry`) under a random key id. InvalidArgument/NotFound on a bad name.
  static StatusOr<Keyset> Generate(std::string_view algorithm,
                                   const lwc::AlgorithmRegistry& registry);

  // A keyset of one given key with key id 0 (for bare hex key files).
  static StatusOr<Keyset> FromRawKey(std::string_view algorithm, std::span<const uint8_t> key,
                                     const lwc::AlgorithmRegistry& registry);

  // Parses the JSON form. InvalidArgument names the offending field:
  // unknown algorithm, wrong key size, duplicate key id, a primary that is
  // missing or disabled, malformed JSON.
  static StatusOr<Keyset> FromJson(std::string_view json, const lwc::AlgorithmRegistry& registry);

  // The JSON form (includes key material).
  std::string ToJson() const;

  // Adds a fresh random key of `algorithm` and makes it the primary; the old
  // keys stay enabled for decryption.
  Status Rotate(std::string_view algorithm, const lwc::AlgorithmRegistry& registry);

  // Disables a non-primary key. NotFound / FailedPrecondition otherwise.
  Status Disable(uint32_t key_id);

  uint32_t primary_key_id() const { return primary_key_id_; }
  const std::vector<KeysetKey>& keys() const { return keys_; }
  // The key with `key_id`, or nullptr.
  const KeysetKey* Find(uint32_t key_id) const;

 private:
  Keyset() = default;

  uint32_t primary_key_id_ = 0;
  std::vector<KeysetKey> keys_;
};

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_KEYSET_H_
