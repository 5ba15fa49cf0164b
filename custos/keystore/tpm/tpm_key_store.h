// File: custos/keystore/tpm/tpm_key_store.h
//
// TpmKeyStore: the KeyStore of a TPM 2.0, through the tpm2-tss ESAPI and any
// TCTI (a TCP-attached swtpm in tests, "device:/dev/tpmrm0" on a device).
//
// Keys live in the TPM's storage (owner) hierarchy. Each is created with
// TPM2_Create under a storage primary key (the ECC P-256 SRK template of the
// TCG provisioning guidance: deterministic, so it is re-derived on demand and
// never stored) with fixedTPM | fixedParent | sensitiveDataOrigin: the TPM
// generated the private part and refuses to duplicate it. Each key is then
// made persistent (TPM2_EvictControl) in the custos persistent-handle range,
// and a small NV index in the custos NV range records its label, its type and
// the TPM Name of its object(s), so keys survive process and TPM restarts and
// are found by label. Before every use the object at the handle is checked
// against the recorded Name. Layout and record format:
// docs/formats/tpm-key-store.md.
//
// Key types: ecdsa-p256 (TPM2_Sign over the host-computed SHA-256 digest,
// signatures r || s), ecdh-p256 (TPM2_ECDH_ZGen; the shared x-coordinate Z
// comes back to the host, goes through HKDF-SHA-256 there and is wiped at
// once — a TPM has no HKDF), aes-128 as the AEAD "aes-128-cfb-hmac-sha256"
// run inside the TPM (see Seal). Ed25519, X25519 and Ascon-AEAD128 are not
// TPM 2.0 algorithms: Generate returns Unimplemented and
// SupportedKeyTypes leaves them out.
//
// Counters are TPM NV counter indices (TPM_NT_COUNTER), one per name, in a
// separate custos NV range that ZeroizeKeys does not touch. A TPM counter
// starts, on its first increment, at the highest value any counter of this
// TPM ever had, so values never go down even if the index is deleted and
// defined again; the first IncrementCounter therefore returns a value >= 1,
// not necessarily 1.
//
// Authorisation: objects and indices use empty authorisation values through
// password sessions, and owner authorisation is assumed empty (as on a
// freshly provisioned or simulated TPM). Whoever can send commands to the TPM
// can use (never read) the keys; access control is the TCTI's (e.g. the
// permissions of /dev/tpmrm0). Commands travel unencrypted on the TCTI.
//
// Attestation: the design leaves room for an attestation key (a restricted
// signing key under the endorsement or owner hierarchy) and TPM2_Quote over
// the PCRs this class extends and reads.
//
// Process-wide effects: tpm2-tss logs to stderr unless TSS2_LOG says
// otherwise; OpenTpmKeyStore sets TSS2_LOG=all+NONE when it is unset, so that
// the library stays silent (set TSS2_LOG yourself to see its log).
//
// Thread safety: not thread-safe (one ESAPI context). swtpm serves one
// connection at a time: close a store before opening another on the same
// swtpm.
#ifndef CUSTOS_KEYSTORE_TPM_TPM_KEY_STORE_H_
#define CUSTOS_KEYSTORE_TPM_TPM_KEY_STORE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/keystore/key_store.h"

namespace custos::keystore {

namespace internal {
struct TpmKeyRecord;   // a key's NV record (tpm_key_store.cpp)
struct TpmConnection;  // the ESAPI context and TCTI (tpm_key_store.cpp)
}  // namespace internal

// The AEAD of aes-128 keys in the TPM store.
inline constexpr std::string_view kTpmAeadAlgorithm = "aes-128-cfb-hmac-sha256";

// A SHA-256 PCR value or extend digest.
using PcrDigest = std::array<uint8_t, 32>;

// The KeyStore of one TPM 2.0. See the file comment.
class TpmKeyStore final : public KeyStore {
 public:
  TpmKeyStore(const TpmKeyStore&) = delete;
  TpmKeyStore& operator=(const TpmKeyStore&) = delete;
  // Closes the ESAPI context and the TCTI connection; keys stay in the TPM.
  ~TpmKeyStore() override;

  // "tpm".
  std::string_view BackendName() const override { return "tpm"; }
  // True: private and secret keys never leave the TPM.
  bool HardwareProtected() const override { return true; }
  // ecdsa-p256, ecdh-p256 and aes-128.
  std::vector<KeyType> SupportedKeyTypes() const override;

  // Creates the key (for aes-128: an AES-128 key and an HMAC-SHA-256 key) in
  // the TPM, makes it persistent and records its label. Labels are 1 to 128
  // bytes. AlreadyExists if the label is taken; Unimplemented for types the
  // TPM lacks; ResourceExhausted when the custos handle range or the TPM's
  // NV memory is full. A failure leaves no partial key behind.
  StatusOr<KeyInfo> Generate(KeyType type, std::string_view label) override;
  // Every recorded key, sorted by label. DataLoss if a record is corrupt.
  StatusOr<std::vector<KeyInfo>> List() override;
  // The key named `label`; NotFound otherwise.
  StatusOr<KeyInfo> Find(std::string_view label) override;
  // Evicts the key's persistent object(s) and deletes its record.
  Status Destroy(std::string_view label) override;

  // ECDSA P-256 signature (r || s, 64 bytes) by TPM2_Sign over
  // SHA-256(message). FailedPrecondition for keys of another type.
  StatusOr<std::vector<uint8_t>> Sign(std::string_view label,
                                      std::span<const uint8_t> message) override;
  // Verifies on the host with the key's public part; Unauthenticated if the
  // signature does not verify (or is not 64 bytes).
  Status Verify(std::string_view label, std::span<const uint8_t> message,
                std::span<const uint8_t> signature) override;
  // DER SubjectPublicKeyInfo of an ecdsa-p256 or ecdh-p256 key;
  // FailedPrecondition for aes-128 keys (secret keys are never exported).
  StatusOr<std::vector<uint8_t>> ExportPublicKey(std::string_view label) override;
  // TPM2_ECDH_ZGen with the peer's P-256 public key (DER SPKI; InvalidArgument
  // if it is not a valid P-256 point), then HKDF-SHA-256 on the host; the
  // shared secret Z is held in a wiped buffer and wiped after the HKDF.
  // `length` is 1 to 8160 bytes.
  StatusOr<SecretBytes> DeriveSharedKey(std::string_view label,
                                        std::span<const uint8_t> peer_public_key,
                                        std::span<const uint8_t> salt,
                                        std::span<const uint8_t> info, std::size_t length) override;
  // aes-128-cfb-hmac-sha256, encrypt-then-MAC, both inside the TPM: a fresh
  // random 16-byte IV; ciphertext = AES-128-CFB (TPM2_EncryptDecrypt2);
  // tag = HMAC-SHA-256 (TPM HMAC sequence) over
  // u64be(len(ad)) || ad || iv || ciphertext. Output iv || ciphertext || tag
  // (32 bytes). Open checks the tag (constant-time compare) before it
  // decrypts anything; Unauthenticated when it does not match.
  StatusOr<std::vector<uint8_t>> Seal(std::string_view label, std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> associated_data) override;
  StatusOr<std::vector<uint8_t>> Open(std::string_view label, std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data) override;

  // TPM NV counters; see the file comment. Names are 1 to 128 bytes.
  StatusOr<uint64_t> ReadCounter(std::string_view name) override;
  StatusOr<uint64_t> IncrementCounter(std::string_view name) override;

  // Evicts every persistent object in the custos handle range and deletes
  // every key record (also orphans left by an interrupted Generate). Counters
  // stay. Returns the number of recorded keys destroyed.
  StatusOr<std::size_t> ZeroizeKeys() override;

  // Extends SHA-256 PCR `index` (0-23; the TPM refuses PCRs the current
  // locality may not extend) with `digest`: pcr = SHA-256(pcr || digest).
  Status ExtendPcr(int index, const PcrDigest& digest);
  // The current value of SHA-256 PCR `index` (0-23).
  StatusOr<PcrDigest> ReadPcr(int index);

  // The persistent TPM handles in the custos range that hold objects (for
  // tests and diagnostics; TPM2_GetCapability over the persistent handles).
  StatusOr<std::vector<uint32_t>> CustosPersistentHandles();

 private:
  using KeyRecord = internal::TpmKeyRecord;
  using Connection = internal::TpmConnection;

  explicit TpmKeyStore(std::unique_ptr<Connection> connection);
  friend StatusOr<std::unique_ptr<TpmKeyStore>> OpenTpmKeyStore(std::string_view tcti);

  StatusOr<std::vector<KeyRecord>> ReadRecords();
  StatusOr<KeyRecord> FindRecord(std::string_view label);
  StatusOr<KeyRecord> FindRecordOfType(std::string_view label, KeyType type,
                                       std::string_view operation);
  StatusOr<std::vector<uint8_t>> PublicPoint(const KeyRecord& record);

  std::unique_ptr<Connection> connection_;
};

// Connects to the TPM named by `tcti` (a tpm2-tss TCTI configuration such as
// "swtpm:host=127.0.0.1,port=2321" or "device:/dev/tpmrm0") and checks that it
// answers. Unavailable "TPM not reachable at TCTI '...': <decoded tpm2-tss
// error>" when it cannot.
StatusOr<std::unique_ptr<TpmKeyStore>> OpenTpmKeyStore(std::string_view tcti);

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_TPM_TPM_KEY_STORE_H_
