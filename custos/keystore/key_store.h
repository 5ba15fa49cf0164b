// File: custos/keystore/key_store.h
//
// KeyStore: keys held behind handles by a key-storage backend (a PKCS#11
// token, a TPM 2.0, or the software store). Callers refer to a key by its
// label; private and secret keys never leave the store: every operation that
// needs them (sign, ECDH + HKDF derive, AEAD seal/open) runs inside it, and
// exporting one fails with FailedPrecondition.
//
// Each key has exactly one type and that type fixes what the key can do (key
// separation): ECDSA P-256 keys only sign, ECDH P-256 keys only agree, and so
// on. Backends report which types they support.
//
// Thread safety: a KeyStore instance is not thread-safe; use one per thread or
// lock around it.
#ifndef CUSTOS_KEYSTORE_KEY_STORE_H_
#define CUSTOS_KEYSTORE_KEY_STORE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::keystore {

// The kinds of keys a store can create. Names (KeyTypeName) are stable and
// appear in files, URIs and command lines.
enum class KeyType {
  kEd25519,       // "ed25519": Ed25519 signatures
  kEcdsaP256,     // "ecdsa-p256": ECDSA over P-256 with SHA-256
  kEcdhP256,      // "ecdh-p256": ECDH over P-256 (+ HKDF-SHA-256)
  kX25519,        // "x25519": X25519 (+ HKDF-SHA-256)
  kAes128,        // "aes-128": an AES-128 AEAD key (the backend names its mode)
  kAsconAead128,  // "ascon-aead128": an Ascon-AEAD128 key (SP 800-232)
};

// What a key type is for.
enum class KeyPurpose { kSign, kAgree, kEncrypt };

// The stable name of `type`, e.g. "ecdsa-p256".
std::string_view KeyTypeName(KeyType type);
// The type named `name`; InvalidArgument listing the valid names otherwise.
StatusOr<KeyType> KeyTypeFromName(std::string_view name);
// The purpose `type` serves.
KeyPurpose PurposeOf(KeyType type);
// Every key type, in declaration order.
std::span<const KeyType> AllKeyTypes();

// What a store knows about one of its keys.
struct KeyInfo {
  std::string label;  // the handle: unique within the store
  KeyType type = KeyType::kEcdsaP256;
  // For kEncrypt keys: the AEAD the store runs with it, e.g. "aes-128-gcm",
  // "ascon-aead128". Empty for other keys.
  std::string aead_algorithm;
  bool extractable = false;  // always false for keys this project creates
};

// A key-storage backend. See the file comment for the promises every backend
// keeps.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // "pkcs11", "tpm" or "soft".
  virtual std::string_view BackendName() const = 0;
  // False for stores that keep keys in ordinary memory and files (the
  // software store): they offer no hardware protection.
  virtual bool HardwareProtected() const = 0;
  // The key types this backend can generate and use.
  virtual std::vector<KeyType> SupportedKeyTypes() const = 0;

  // Creates a new non-extractable key of `type` under `label`. AlreadyExists
  // if the label is taken; Unimplemented if the backend lacks the type.
  virtual StatusOr<KeyInfo> Generate(KeyType type, std::string_view label) = 0;
  // Every key in the store, sorted by label.
  virtual StatusOr<std::vector<KeyInfo>> List() = 0;
  // The key named `label`; NotFound otherwise.
  virtual StatusOr<KeyInfo> Find(std::string_view label) = 0;
  // Destroys the key named `label` in the backend; NotFound if absent.
  virtual Status Destroy(std::string_view label) = 0;

  // Signs `message` (hashed inside with SHA-256 for ECDSA). Signatures are in
  // raw fixed-size form: r || s (64 bytes) for ECDSA P-256, 64 bytes for
  // Ed25519. FailedPrecondition if the key does not sign.
  virtual StatusOr<std::vector<uint8_t>> Sign(std::string_view label,
                                              std::span<const uint8_t> message) = 0;
  // Verifies a raw signature made by Sign with the key named `label`.
  // Unauthenticated if it does not verify.
  virtual Status Verify(std::string_view label, std::span<const uint8_t> message,
                        std::span<const uint8_t> signature) = 0;

  // The public key of a sign or agree key as DER SubjectPublicKeyInfo.
  // FailedPrecondition ("... is a secret key and cannot be exported") for
  // kEncrypt keys: secrets never leave the store.
  virtual StatusOr<std::vector<uint8_t>> ExportPublicKey(std::string_view label) = 0;

  // Key agreement: ECDH (or X25519) between the key named `label` and the
  // peer's public key (DER SubjectPublicKeyInfo of the same curve), then
  // HKDF-SHA-256(salt, info) to `length` bytes. The raw shared secret never
  // leaves the store when the backend can run HKDF inside; otherwise it is
  // wiped immediately after use.
  virtual StatusOr<SecretBytes> DeriveSharedKey(std::string_view label,
                                                std::span<const uint8_t> peer_public_key,
                                                std::span<const uint8_t> salt,
                                                std::span<const uint8_t> info,
                                                std::size_t length) = 0;

  // Authenticated encryption with a kEncrypt key. The output is
  // nonce || ciphertext || tag, with a fresh random nonce; Open reverses it
  // and returns Unauthenticated when the tag does not verify.
  virtual StatusOr<std::vector<uint8_t>> Seal(std::string_view label,
                                              std::span<const uint8_t> plaintext,
                                              std::span<const uint8_t> associated_data) = 0;
  virtual StatusOr<std::vector<uint8_t>> Open(std::string_view label,
                                              std::span<const uint8_t> sealed,
                                              std::span<const uint8_t> associated_data) = 0;

  // A named monotonic counter (used for anti-rollback). Reading a counter
  // that was never incremented gives 0. Increment returns the new value; a
  // counter never goes down, and ZeroizeKeys leaves counters in place.
  virtual StatusOr<uint64_t> ReadCounter(std::string_view name) = 0;
  virtual StatusOr<uint64_t> IncrementCounter(std::string_view name) = 0;

  // Destroys every key in the store in one call (tamper response). Returns
  // the number of keys destroyed. Afterwards List() is empty.
  virtual StatusOr<std::size_t> ZeroizeKeys() = 0;
};

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_KEY_STORE_H_
