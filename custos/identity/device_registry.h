// File: custos/identity/device_registry.h
//
// DeviceRegistry: the durable state of a CA apart from its keys — the
// enrollment tokens (hashed), every certificate it issued, revocations, the
// CRL number, and a few named documents (the CA's configuration and
// certificates). It is an interface so that the `store` module of a later
// issue (SQLite, PostgreSQL) can implement it; identity ships two
// implementations: a file one and an in-memory one for tests.
//
// Every change goes through Apply(RegistryUpdate), which validates the whole
// update against the current state and then applies all of it or none of it:
// a token is consumed in the same atomic step as the certificate it paid for
// is recorded, so a token can never be used twice, and a failed issuance
// consumes nothing.
//
// The file registry (OpenFileDeviceRegistry) keeps records in DIR/registry.jsonl,
// a journal of JSON lines, one per update, each prefixed by a checksum; an
// update is appended with one write and fsync'd before Apply returns, under
// an exclusive flock(2), so several processes may share one directory. A
// torn last line (crash mid-write) is ignored and cut off by the next
// writer; a checksum mismatch on a complete line is DataLoss. Documents are
// files replaced atomically (temporary file, fsync, rename, fsync of the
// folder). See docs/formats/enrollment.md.
//
// Thread safety: an instance is not thread-safe; processes may share a
// folder.
#ifndef CUSTOS_IDENTITY_DEVICE_REGISTRY_H_
#define CUSTOS_IDENTITY_DEVICE_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/tokens.h"

namespace custos::identity {

// How a certificate came to be issued.
inline constexpr std::string_view kIssuedByToken = "token";
inline constexpr std::string_view kIssuedByBirthCertificate = "birth-certificate";
inline constexpr std::string_view kIssuedByRotation = "rotation";
inline constexpr std::string_view kIssuedByManufacture = "manufacture";

// One certificate the CA issued, and its revocation if any.
struct IssuedCertificateRecord {
  std::string serial;  // lower-case hex
  std::string device_id;
  std::string key_type;         // algorithm of the certified key, e.g. "ed25519"
  std::string issuer_key_type;  // algorithm of the CA key that signed it
  int issuer_generation = 0;    // which issuing CA generation signed it
  std::string fingerprint;      // SHA-256 of the DER, hex
  int64_t issued_at = 0;        // unix seconds
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string method;    // kIssuedBy...
  std::string replaces;  // serial this one replaces (rotation), or empty
  std::string certificate_der_base64;
  // Revocation: `revoked` once recorded; it takes effect (appears in CRLs,
  // is refused) from `revocation_effective_at`, which may be later than
  // `revoked_at` (the grace period after a rotation).
  bool revoked = false;
  int64_t revoked_at = 0;
  int64_t revocation_effective_at = 0;
  std::string revocation_reason;  // "key-compromise", "superseded", "unspecified", ...
};

// Recording a revocation.
struct Revocation {
  std::string serial;
  int64_t recorded_at = 0;
  int64_t effective_at = 0;
  std::string reason;
};

// Consuming a token at time `at` for `device_id`.
struct TokenUse {
  std::string hash;
  std::string device_id;
  int64_t at = 0;
};

// One atomic change. Apply checks, in this order: new token hashes are
// unused (AlreadyExists); the consumed token exists (Unauthenticated
// "enrollment token not recognised"), is unused, unexpired at `at` and bound
// to no other device (PermissionDenied naming which); the issued serial is
// new (AlreadyExists); each revoked serial exists (NotFound); the CRL number
// is above the last one (FailedPrecondition).
struct RegistryUpdate {
  std::vector<TokenRecord> new_tokens;
  std::optional<TokenUse> consume_token;
  std::optional<IssuedCertificateRecord> issued;
  std::vector<Revocation> revocations;
  std::optional<uint64_t> crl_number;
};

class DeviceRegistry {
 public:
  virtual ~DeviceRegistry() = default;

  // Validates and applies `update` atomically and durably (see the file
  // comment). On error nothing changed.
  virtual Status Apply(const RegistryUpdate& update) = 0;

  // The token whose hash is `hash`, or nullopt.
  virtual StatusOr<std::optional<TokenRecord>> FindToken(std::string_view hash) = 0;
  // The certificate with serial `serial` (lower-case hex), or nullopt.
  virtual StatusOr<std::optional<IssuedCertificateRecord>> FindCertificate(
      std::string_view serial) = 0;
  // Every certificate issued to `device_id`, oldest first.
  virtual StatusOr<std::vector<IssuedCertificateRecord>> CertificatesOf(
      std::string_view device_id) = 0;
  // Every certificate with a recorded revocation, by serial.
  virtual StatusOr<std::vector<IssuedCertificateRecord>> RevokedCertificates() = 0;
  // Every token record, by hash.
  virtual StatusOr<std::vector<TokenRecord>> Tokens() = 0;
  // The last CRL number recorded; 0 before the first CRL.
  virtual StatusOr<uint64_t> LastCrlNumber() = 0;

  // A named document ([a-z0-9._-]{1,64}), or nullopt if never written.
  virtual StatusOr<std::optional<std::string>> ReadDocument(std::string_view name) = 0;
  // Replaces the document `name` atomically: readers see the old or the new
  // content, never a mix, also after a crash.
  virtual Status WriteDocument(std::string_view name, std::string_view content) = 0;
};

// For DeviceRegistry implementations: whether `token` (the stored record
// of the hash `use` names) may be consumed by `use` — OK, or the error Apply
// returns: already used, expired at `use.at`, or bound to another device.
Status CheckTokenUse(const TokenRecord& token, const TokenUse& use);

// Opens (creating if needed) the file registry in the existing folder `dir`.
// Unavailable if the folder cannot be used; DataLoss if the journal is
// corrupt.
StatusOr<std::unique_ptr<DeviceRegistry>> OpenFileDeviceRegistry(const std::string& dir);

// A registry in memory only, with the same validation (for tests and
// simulations).
std::unique_ptr<DeviceRegistry> NewInMemoryDeviceRegistry();

// Writes `content` to `path` atomically: a temporary file in the same folder
// with `mode`, fsync, rename over `path`, fsync of the folder. On error the
// old file (if any) is untouched and the temporary file removed.
Status WriteFileAtomically(const std::string& path, std::string_view content, unsigned mode);

// Reads a whole file of at most `max_bytes`. NotFound if absent.
StatusOr<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_DEVICE_REGISTRY_H_
