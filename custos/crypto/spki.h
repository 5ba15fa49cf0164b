// File: custos/crypto/spki.h
//
// SubjectPublicKeyInfo (RFC 5280 4.1.2.7) for the public keys custos uses —
// ECDSA/ECDH P-256 (RFC 5480, named curve, uncompressed point), Ed25519 and
// X25519 (RFC 8410) — encoded and decoded directly, without OpenSSL 3.0's
// encoder/decoder framework. For these algorithms DER allows exactly one
// encoding, a fixed prefix followed by the raw key, and building an EVP_PKEY
// from the raw key (EVP_PKEY_fromdata, EVP_PKEY_new_raw_public_key) costs a
// small fraction of d2i_PUBKEY / i2d_PUBKEY, each of which sets up a decoder
// or encoder context. Other keys (RSA, other curves, compressed points)
// still go through d2i_PUBKEY / i2d_PUBKEY, so the functions accept what
// OpenSSL accepts.
//
// The functions hold no state and are safe to call from any thread.
#ifndef CUSTOS_CRYPTO_SPKI_H_
#define CUSTOS_CRYPTO_SPKI_H_

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "custos/core/status.h"

namespace custos::crypto {

// The algorithms whose SubjectPublicKeyInfo is encoded directly.
enum class SpkiAlgorithm {
  kEcP256,   // id-ecPublicKey, namedCurve prime256v1; 65-byte 0x04 || X || Y
  kEd25519,  // id-Ed25519; 32-byte key
  kX25519,   // id-X25519; 32-byte key
};

// A public key as it sits in a SubjectPublicKeyInfo. `key` points into the
// SubjectPublicKeyInfo it was split from.
struct RawPublicKey {
  SpkiAlgorithm algorithm = SpkiAlgorithm::kEcP256;
  std::span<const uint8_t> key;
};

// Frees an EVP_PKEY.
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
// An owned EVP_PKEY.
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// The DER SubjectPublicKeyInfo of `raw_key`, an uncompressed P-256 point
// (65 bytes starting 0x04) or a 32-byte Ed25519/X25519 key. InvalidArgument
// for another size or form. Does not check that a P-256 point is on the
// curve (ParseSpki does).
StatusOr<std::vector<uint8_t>> EncodeSpki(SpkiAlgorithm algorithm,
                                          std::span<const uint8_t> raw_key);

// Splits `spki` if it is, byte for byte, the DER SubjectPublicKeyInfo of an
// uncompressed P-256 point or of an Ed25519/X25519 key (nothing trailing);
// nullopt otherwise (another algorithm or form, or not DER at all). Checks
// only the encoding, not the key (ParseSpki does).
std::optional<RawPublicKey> SplitSpki(std::span<const uint8_t> spki);

// Parses a DER SubjectPublicKeyInfo (no trailing bytes) into a public key.
// The forms SplitSpki recognises are built from the raw key; OpenSSL checks
// that a P-256 point is on the curve. Anything else goes through d2i_PUBKEY.
// InvalidArgument "not a DER SubjectPublicKeyInfo[: reason]", "trailing
// bytes after the DER SubjectPublicKeyInfo", or "P-256 public key is not a
// point on the curve". Clears OpenSSL's error queue.
StatusOr<EvpPkeyPtr> ParseSpki(std::span<const uint8_t> spki);

// The DER SubjectPublicKeyInfo of `key`: encoded directly for a P-256 key
// (named curve; its point uncompressed unless the key asks for another
// form), Ed25519 and X25519; through i2d_PUBKEY for other keys. Internal if
// OpenSSL cannot encode the key. Clears OpenSSL's error queue on failure.
StatusOr<std::vector<uint8_t>> SpkiOf(const EVP_PKEY* key);

}  // namespace custos::crypto

#endif  // CUSTOS_CRYPTO_SPKI_H_
