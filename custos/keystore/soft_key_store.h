// File: custos/keystore/soft_key_store.h
//
// The software key store ("soft" backend): keys held by OpenSSL 3 and the
// custos AEADs in ordinary process memory, and optionally sealed at rest in a
// folder. It OFFERS NO HARDWARE PROTECTION: anyone who can read the process
// memory, or the folder together with its passphrase, has the keys.
// HardwareProtected() is false. Use it for development and for simulated
// devices only; real devices use the PKCS#11 or TPM backends.
//
// All six key types are supported: Ed25519, ECDSA P-256 (SHA-256), ECDH
// P-256 and X25519 (each + HKDF-SHA-256 through EVP_KDF), AES-128 keys (run
// as "aes-128-gcm": 12-byte nonce, 16-byte tag) and Ascon-AEAD128 keys
// ("ascon-aead128": 16-byte nonce, 16-byte tag).
//
// On disk (docs/formats/soft-key-store.md): a header `store.json` with the
// scrypt parameters and salt, one AEAD-sealed file per key under `keys/`
// (label and type bound as associated data) and a sealed `counters` file.
// The sealing key is derived from the passphrase with scrypt once per open.
// Every write is atomic (temporary file, fsync, rename, fsync of the folder).
// A folder must not be opened by two processes at once.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto store, OpenSoftKeyStoreUri("soft:/var/lib/dev/keys"));
//   CUSTOS_RETURN_IF_ERROR(store->Generate(KeyType::kEcdsaP256, "device").status());
//   CUSTOS_ASSIGN_OR_RETURN(auto sig, store->Sign("device", message));
#ifndef CUSTOS_KEYSTORE_SOFT_KEY_STORE_H_
#define CUSTOS_KEYSTORE_SOFT_KEY_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/keystore/key_store.h"

namespace custos::keystore {

// Cost of the scrypt derivation of a NEW store (an existing store keeps the
// parameters recorded in its header). The default (N = 2^15, r = 8, p = 1)
// uses 32 MiB and about 0.1 s per open; tests may lower it.
struct SoftKeyStoreOptions {
  uint64_t scrypt_n = uint64_t{1} << 15;  // a power of two, 2^1 .. 2^24
  uint32_t scrypt_r = 8;                  // 1 .. 32
  uint32_t scrypt_p = 1;                  // 1 .. 16
};

// Longest label the software store accepts, in bytes. Labels are 1 to
// kMaxSoftLabelBytes printable ASCII characters (0x20..0x7e).
inline constexpr std::size_t kMaxSoftLabelBytes = 100;

// A software store that keeps everything in memory and writes nothing (keys
// and counters vanish with the object). For simulated devices, tests and
// benchmarks; key generation costs only the OpenSSL key generation.
std::unique_ptr<KeyStore> NewInMemorySoftKeyStore();

// Opens the store in folder `dir`, creating the folder and its header when
// the folder holds no store yet (with `options` as the scrypt cost). The
// passphrase may be any non-empty byte string.
// Errors: Unauthenticated "wrong passphrase for software key store at DIR";
// DataLoss naming the file if a header, key or counter file is corrupt or
// was tampered with; InvalidArgument for an empty passphrase or bad options;
// Unavailable on I/O errors.
StatusOr<std::unique_ptr<KeyStore>> OpenSoftKeyStore(std::string_view dir,
                                                     const SecretBytes& passphrase,
                                                     const SoftKeyStoreOptions& options = {});

// Opens a store named by a URI:
//   soft:mem                                   NewInMemorySoftKeyStore()
//   soft:DIR                                   passphrase from DIR/store.key
//   soft:DIR?passphrase-source=file:PATH       passphrase = content of PATH
//   soft:DIR?passphrase-source=env:NAME        passphrase = $NAME
// DIR and PATH are percent-decoded (RFC 3986); a trailing newline of a
// passphrase file is dropped. Without a passphrase-source the store uses a
// random 32-byte key file DIR/store.key (mode 0600), created on first use:
// the keys are then as safe as that file, i.e. sealing only stops someone
// who copies keys/ without store.key. (For a folder literally named "mem",
// write soft:./mem.)
// InvalidArgument for a malformed URI or unknown attribute, NotFound for a
// missing passphrase file or variable; otherwise as OpenSoftKeyStore.
StatusOr<std::unique_ptr<KeyStore>> OpenSoftKeyStoreUri(std::string_view uri,
                                                        const SoftKeyStoreOptions& options = {});

// Tamper response for a folder store that cannot be opened (a damaged or
// tampered key file, a lost passphrase or store.key): overwrites and unlinks
// every key file of the store named by `uri` (soft:DIR[?...]) without
// unsealing anything, so zeroization never depends on the passphrase.
// Returns the number of key files destroyed (0 if the folder holds none).
// InvalidArgument for soft:mem or a malformed URI.
StatusOr<std::size_t> DestroySoftKeyStoreFiles(std::string_view uri);

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_SOFT_KEY_STORE_H_
