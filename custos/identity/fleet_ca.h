// File: custos/identity/fleet_ca.h
//
// FleetCa: the certificate authority of a fleet (or of a manufacturer). It
// has a root CA and an issuing CA whose private keys live in a KeyStore
// (PKCS#11 by default), issues short-lived device certificates after
// enrollment (a one-time token or a manufacturer birth certificate, with a
// CSR as proof of possession), re-certifies devices that rotate their key,
// revokes certificates and produces CRLs on demand, and re-keys itself.
//
// State: the CA's configuration and certificates are one document
// ("ca.json") of its DeviceRegistry, replaced atomically; tokens, issued
// certificates, revocations and the CRL number are registry records, each
// change applied atomically. An operation that fails leaves the state as it
// was; keys generated for a failed CA creation or re-keying are destroyed.
//
// Crypto agility: every stored object names its algorithm (the CA keys'
// types in ca.json, the certified key's and the issuer key's types in each
// record, the hash of each token, the key types in every message). The CA
// certifies ECDSA P-256 and Ed25519 device keys alike, and `RotateIssuingCa`
// / `RotateRootCa` may move the CA itself to another key type.
//
// CA re-keying: the new CA certificate is also signed by the old CA key (a
// cross-certificate), and responses carry the cross-certificates, so a
// device that trusts only the old root accepts certificates from the new CA.
//
// Times are unix seconds passed in by the caller (no wall clock inside), so
// expiry is testable. Not thread-safe; processes may share a registry folder.
#ifndef CUSTOS_IDENTITY_FLEET_CA_H_
#define CUSTOS_IDENTITY_FLEET_CA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/crl.h"
#include "custos/identity/csr.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_issue.h"
#include "custos/keystore/key_store.h"

namespace custos::identity {

// The document of the registry that holds the CA's configuration.
inline constexpr std::string_view kCaDocument = "ca.json";
// How far a rotation proof's time may be from the CA's clock.
inline constexpr int64_t kRotationTimeWindowSeconds = 300;

// How to create a CA.
struct CaOptions {
  // The CA's name: the O of every certificate it issues and the start of its
  // own CNs ("<name> Root CA G1", "<name> Issuing CA G1"). 1 to 64 characters.
  std::string name;
  // The type of the CA keys: ecdsa-p256 or ed25519.
  keystore::KeyType key_type = keystore::KeyType::kEcdsaP256;
  // The URI of the key store (recorded so that the CA can be reopened).
  std::string store_uri;
  int64_t root_validity_seconds = kDefaultRootCaValiditySeconds;
  int64_t issuing_validity_seconds = kDefaultIssuingCaValiditySeconds;
  int64_t device_validity_seconds = kDefaultDeviceValiditySeconds;
  // After a device rotates, its old certificate stays valid this long.
  int64_t rotation_grace_seconds = 24 * 3600;
  // nextUpdate - thisUpdate of the CRLs.
  int64_t crl_validity_seconds = 7 * 24 * 3600;
};

// A device as the CA knows it.
struct DeviceStatus {
  std::string device_id;
  // Every certificate issued to the device, oldest first.
  std::vector<IssuedCertificateRecord> certificates;
  // The serial of the newest certificate that is neither expired nor
  // revoked at the time asked, or "" if none.
  std::string active_serial;
};

class FleetCa {
 public:
  // Creates a new CA: generates the root and issuing keys in `store`, issues
  // the root (self-signed) and issuing certificates, and writes ca.json.
  // AlreadyExists if the registry already holds a CA; InvalidArgument for bad
  // options; the store's error (wrong PIN, missing token, ...). On error, keys
  // already generated are destroyed and nothing is written.
  static StatusOr<std::unique_ptr<FleetCa>> Create(std::unique_ptr<DeviceRegistry> registry,
                                                   std::unique_ptr<keystore::KeyStore> store,
                                                   const CaOptions& options, int64_t now);
  // Opens the CA held in `registry`, its keys in `store`. NotFound if there
  // is no CA; DataLoss if ca.json is corrupt; NotFound if a CA key is
  // missing from the store.
  static StatusOr<std::unique_ptr<FleetCa>> Open(std::unique_ptr<DeviceRegistry> registry,
                                                 std::unique_ptr<keystore::KeyStore> store);
  // The store URI recorded in the registry's ca.json (to open the store
  // before Open).
  static StatusOr<std::string> StoreUriOf(DeviceRegistry& registry);

  ~FleetCa();
  FleetCa(const FleetCa&) = delete;
  FleetCa& operator=(const FleetCa&) = delete;

  // The CA's name.
  const std::string& name() const;
  // The current CA key type (the issuing CA's).
  keystore::KeyType key_type() const;
  // The current root and issuing CA certificates.
  const Certificate& root() const;
  const Certificate& issuing() const;
  // Every root certificate generation still recorded (oldest first): what
  // devices and servers should trust.
  std::vector<Certificate> Roots() const;
  // The current issuing certificate followed by every cross-certificate
  // from re-keying (newest first): the intermediates a device presents.
  std::vector<Certificate> Chain() const;
  // The manufacturer roots trusted for zero-touch enrollment.
  std::vector<Certificate> ManufacturerRoots() const;
  // The registry (for listing tokens and records).
  DeviceRegistry& registry();

  // Makes a certificate from `root` (a CA certificate) acceptable as the
  // anchor of birth certificate chains. InvalidArgument if not a CA.
  Status TrustManufacturerRoot(const Certificate& root);

  // Issues `count` (1 to 10000) one-time tokens valid for `lifetime_seconds`
  // from `now`, bound to `device_id` if not empty. Only their hashes are
  // stored; the texts are returned once.
  StatusOr<std::vector<SecretBytes>> IssueTokens(std::size_t count, std::string_view device_id,
                                                 int64_t lifetime_seconds, int64_t now);

  // Enrolls a device: verifies the CSR (Unauthenticated if its signature is
  // wrong), that it names request.device_id and a key of request.key_type,
  // then the token (Unauthenticated unknown; PermissionDenied reused,
  // expired, bound to another device) or the birth chain (Unauthenticated
  // unless it chains to a trusted manufacturer root at `now` and certifies
  // the CSR's key for the same device id). Issues the certificate and
  // records it, consuming the token, in one atomic step.
  StatusOr<EnrollmentResponse> Enroll(const EnrollmentRequest& request, int64_t now);

  // Re-certifies a device under a new key: the old certificate must be one
  // this CA issued, unexpired and unrevoked (Unauthenticated / PermissionDenied
  // otherwise), the proof time within kRotationTimeWindowSeconds of `now`,
  // the old key's signature over RotationTranscript valid, and the CSR valid
  // for the same device with a different key of new_key_type. Records the new
  // certificate and the old one's revocation (superseded, effective after
  // the grace period) in one atomic step.
  StatusOr<EnrollmentResponse> Rotate(const RotationRequest& request, int64_t now);

  // Dispatches a request document (enrollment or rotation) and returns the
  // response document.
  StatusOr<std::string> HandleMessage(std::string_view json, int64_t now);

  // Issues a certificate for a verified CSR without a token (the CA operator
  // is the authority, as in manufacturing) and records it with `method`.
  StatusOr<Certificate> IssueForCsr(std::span<const uint8_t> csr_der, std::string_view method,
                                    int64_t now);

  // Issues an end-entity certificate for a service of the fleet (the
  // control plane's HTTPS server, its MQTT broker, its privileged MQTT
  // client) from the current issuing CA: subject CN `common_name` (which is
  // not a device id, so no device SAN), SAN DNS names `dns_names`, the
  // purposes asked for, valid from `now` for `validity_seconds` (cut at the
  // issuing CA's end). Not recorded in the registry: services get a fresh
  // certificate at every start. InvalidArgument for an empty name, no
  // purpose, a bad key or validity; the store's errors.
  StatusOr<Certificate> IssueServiceCertificate(std::string_view common_name,
                                                const std::vector<std::string>& dns_names,
                                                std::span<const uint8_t> public_key_spki,
                                                bool server_auth, bool client_auth,
                                                int64_t validity_seconds, int64_t now);

  // Revokes every unrevoked certificate of `device_id`, effective at `now`.
  // Returns how many; NotFound if the CA never issued to the device.
  StatusOr<std::size_t> RevokeDevice(std::string_view device_id, RevocationReason reason,
                                     int64_t now);

  // What the CA knows about `device_id`; NotFound if it never issued to it.
  StatusOr<DeviceStatus> ShowDevice(std::string_view device_id, int64_t now);

  // One CRL per issuing CA generation whose certificate is still valid at
  // `now`, each listing the certificates it issued whose revocation is
  // effective at `now`; each gets the next CRL number.
  StatusOr<std::vector<Crl>> IssueCrls(int64_t now);

  // Checks a device certificate as every relying party should: it chains to
  // one of Roots() through `intermediates` (may be Chain()) at `now`, is
  // recorded by this CA, and its revocation is not yet effective.
  Status VerifyDeviceCertificate(const Certificate& certificate,
                                 std::span<const Certificate> intermediates, int64_t now);

  // Re-keys the issuing CA (new key of `key_type`, or the current type):
  // a new issuing certificate from the current root, and a cross-certificate
  // of it signed by the old issuing key.
  Status RotateIssuingCa(int64_t now, std::optional<keystore::KeyType> key_type = std::nullopt);
  // Re-keys the root: a new self-signed root, its cross-certificate signed by
  // the old root key, and a new issuing CA under the new root.
  Status RotateRootCa(int64_t now, std::optional<keystore::KeyType> key_type = std::nullopt);

 private:
  struct State;
  FleetCa(std::unique_ptr<DeviceRegistry> registry, std::unique_ptr<keystore::KeyStore> store,
          std::unique_ptr<State> state);
  Status Save();
  StatusOr<Certificate> IssueDevice(const CertificateRequest& csr, int64_t now);
  IssuedCertificateRecord RecordFor(const Certificate& cert, std::string_view method,
                                    int64_t now) const;
  EnrollmentResponse ResponseFor(const Certificate& cert) const;

  std::unique_ptr<DeviceRegistry> registry_;
  std::unique_ptr<keystore::KeyStore> store_;
  std::unique_ptr<State> state_;
};

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_FLEET_CA_H_
