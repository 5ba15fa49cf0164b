// File: custos/lwc/aead.h
//
// NonceAead: an authenticated cipher with caller-chosen nonces, exactly as the
// algorithm's specification and its KAT files define it. Most callers want
// the envelope of custos/crypto/envelope.h instead, which picks its own nonce
// and names the algorithm and key in the message.
//
// Security: a (key, nonce) pair must never be used for two messages. Open
// releases plaintext only after the tag has been verified in constant time;
// on failure the output buffer is wiped and Unauthenticated is returned with
// no detail. Objects are immutable after creation and safe to share between
// threads.
#ifndef CUSTOS_LWC_AEAD_H_
#define CUSTOS_LWC_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::lwc {

class NonceAead {
 public:
  virtual ~NonceAead() = default;

  virtual std::size_t key_size() const = 0;
  virtual std::size_t nonce_size() const = 0;
  virtual std::size_t tag_size() const = 0;

  // Encrypts `plaintext` and writes ciphertext||tag to `out`, which must be
  // exactly plaintext.size() + tag_size() bytes. `out` may start at
  // plaintext.data() (in-place). InvalidArgument on a wrong nonce or buffer
  // size.
  virtual Status SealInto(std::span<const uint8_t> nonce, std::span<const uint8_t> associated_data,
                          std::span<const uint8_t> plaintext, std::span<uint8_t> out) const = 0;

  // Verifies ciphertext||tag and writes the plaintext to `out`, which must be
  // exactly ciphertext_and_tag.size() - tag_size() bytes and may start at
  // ciphertext_and_tag.data(). Unauthenticated if the tag does not verify;
  // `out` is then wiped.
  virtual Status OpenInto(std::span<const uint8_t> nonce, std::span<const uint8_t> associated_data,
                          std::span<const uint8_t> ciphertext_and_tag,
                          std::span<uint8_t> out) const = 0;

  // Allocating forms of SealInto and OpenInto.
  StatusOr<std::vector<uint8_t>> Seal(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> associated_data,
                                      std::span<const uint8_t> plaintext) const;
  StatusOr<std::vector<uint8_t>> Open(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> associated_data,
                                      std::span<const uint8_t> ciphertext_and_tag) const;
};

// Inputs and outputs of a raw AEAD function (custos/lwc/internal). All sizes
// have been checked by the caller: key, nonce and tag have the algorithm's
// sizes and out.size() == in.size(). `out` may equal `in` (same pointer).
struct AeadIo {
  std::span<const uint8_t> key;
  std::span<const uint8_t> nonce;
  std::span<const uint8_t> ad;
  std::span<const uint8_t> in;
  std::span<uint8_t> out;
  std::span<uint8_t> tag;
};

// A raw AEAD function. Encrypt: out = ciphertext, tag = the tag. Decrypt:
// out = plaintext, tag = the tag the algorithm computes (the caller compares
// it with the received one in constant time). Never branches on or indexes
// memory with secret data.
using RawAeadFunction = void (*)(const AeadIo& io);

// Describes a raw AEAD algorithm.
struct RawAeadAlgorithm {
  std::size_t key_size;
  std::size_t nonce_size;
  std::size_t tag_size;
  RawAeadFunction encrypt;
  RawAeadFunction decrypt;
};

// Longest tag a raw algorithm may have.
inline constexpr std::size_t kMaxRawAeadTagSize = 64;

// Returns a NonceAead over `algorithm` with a copy of `key`. InvalidArgument
// if the key size is wrong; Internal if the tag is longer than
// kMaxRawAeadTagSize.
StatusOr<std::unique_ptr<NonceAead>> NewRawAead(const RawAeadAlgorithm& algorithm,
                                                std::span<const uint8_t> key);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_AEAD_H_
