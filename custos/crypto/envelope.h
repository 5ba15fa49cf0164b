// File: custos/crypto/envelope.h
//
// The high-level AEAD of custos. EnvelopeAead encrypts under the primary key
// of a Keyset with a fresh random nonce and writes a self-describing envelope
// (docs/formats/envelope.md):
//
//   version (1 byte, = 1) | algorithm id (2, big-endian) | key id (4, big-endian)
//   | nonce length N (1) | nonce (N) | ciphertext || tag
//
// The header is authenticated (it is prepended to the associated data), so
// no field can be changed without the message failing to open. Decryption
// picks the key the envelope names, so messages sealed before a rotation
// still open. Plaintext is released only after the tag verifies.
//
// Nonces are random: with a 12-byte nonce (AES-128-GCM, ChaCha20-Poly1305,
// Grain-128AEADv2) rotate before 2^32 messages per key; 16-byte nonces
// (Ascon, GIFT-COFB, PHOTON-Beetle) allow far more.
//
// An EnvelopeAead is immutable and safe to share between threads.
#ifndef CUSTOS_CRYPTO_ENVELOPE_H_
#define CUSTOS_CRYPTO_ENVELOPE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "custos/core/status.h"
#include "custos/crypto/keyset.h"
#include "custos/lwc/aead.h"
#include "custos/lwc/registry.h"

namespace custos::crypto {

inline constexpr uint8_t kEnvelopeVersion = 1;
// Bytes before the nonce: version, algorithm id, key id, nonce length.
inline constexpr std::size_t kEnvelopeFixedHeaderSize = 8;

// The parsed fields of an envelope; spans point into the parsed buffer.
struct EnvelopeView {
  uint8_t version = 0;
  uint16_t algorithm_id = 0;
  uint32_t key_id = 0;
  std::span<const uint8_t> header;  // everything before the ciphertext
  std::span<const uint8_t> nonce;
  std::span<const uint8_t> ciphertext_and_tag;
};

// Splits an envelope into its fields, checking only its structure.
// InvalidArgument names what is wrong (too short, unknown version).
StatusOr<EnvelopeView> ParseEnvelope(std::span<const uint8_t> envelope);

class EnvelopeAead {
 public:
  // Builds the AEAD objects of every enabled key of `keyset`.
  static StatusOr<EnvelopeAead> Create(const Keyset& keyset,
                                       std::shared_ptr<const lwc::AlgorithmRegistry> registry);

  // Seals `plaintext` under the primary key; `associated_data` is
  // authenticated but not stored in the envelope.
  StatusOr<std::vector<uint8_t>> Encrypt(std::span<const uint8_t> plaintext,
                                         std::span<const uint8_t> associated_data) const;

  // Opens an envelope. InvalidArgument for a malformed envelope, NotFound if
  // the keyset has no enabled key with its key id, Unauthenticated
  // ("authentication failed") if it does not verify.
  StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> envelope,
                                         std::span<const uint8_t> associated_data) const;

 private:
  struct KeyEntry {
    uint16_t algorithm_id;
    std::shared_ptr<const lwc::NonceAead> aead;
  };
  EnvelopeAead() = default;

  std::shared_ptr<const lwc::AlgorithmRegistry> registry_;
  uint32_t primary_key_id_ = 0;
  std::map<uint32_t, KeyEntry> keys_;
};

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_ENVELOPE_H_
