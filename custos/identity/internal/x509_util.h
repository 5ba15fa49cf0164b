// File: custos/identity/internal/x509_util.h
//
// What the X.509 files of custos/identity share: owning pointers for OpenSSL
// objects, OpenSSL errors as Status, signing a to-be-signed DER through a
// KeyStore (with the ECDSA raw -> DER conversion), names, times, serials,
// SAN lists and PEM blocks.
//
// Private to custos/identity.
#ifndef CUSTOS_IDENTITY_INTERNAL_X509_UTIL_H_
#define CUSTOS_IDENTITY_INTERNAL_X509_UTIL_H_

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/x509_signing_key.h"
#include "custos/keystore/key_store.h"

namespace custos::identity::internal {

// A deleter calling the OpenSSL free function `Free`.
template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, OpenSslDeleter<X509_ALGOR_free>>;
using X509RevokedPtr = std::unique_ptr<X509_REVOKED, OpenSslDeleter<X509_REVOKED_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpenSslDeleter<ASN1_TIME_free>>;
using Asn1OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, OpenSslDeleter<ASN1_OCTET_STRING_free>>;
using Asn1BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, OpenSslDeleter<ASN1_BIT_STRING_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;

// Internal "OpenSSL <what> failed[: reason]"; clears the error queue.
Status OpenSslFailure(std::string_view what);
// OpenSSL's reason for the oldest queued error ("" if none); clears the queue.
std::string TakeOpenSslReason();

// How a SigningKey signs X.509 objects.
struct X509SignatureScheme {
  keystore::KeyType key_type = keystore::KeyType::kEcdsaP256;
  int signature_nid = NID_undef;  // NID_ecdsa_with_SHA256 or NID_ED25519
};

// The scheme for `key`: looks the key up in its store. InvalidArgument for a
// null store or empty label; the store's error (NotFound) for a missing key;
// FailedPrecondition for a key type that cannot sign X.509 objects.
StatusOr<X509SignatureScheme> SchemeOf(const SigningKey& key);

// The scheme matching the public key `pkey` (EC P-256 or Ed25519);
// InvalidArgument naming the key type otherwise.
StatusOr<X509SignatureScheme> SchemeOfPublicKey(const EVP_PKEY* pkey);

// Signs `tbs` with `key` through its store and returns the signature as X.509
// carries it: DER ECDSA-Sig-Value for ECDSA, the raw 64 bytes for Ed25519.
StatusOr<std::vector<uint8_t>> SignTbs(const SigningKey& key, const X509SignatureScheme& scheme,
                                       std::span<const uint8_t> tbs);

// Sets `algorithm` to the AlgorithmIdentifier of `signature_nid` (parameters
// absent, as RFC 5758 and RFC 8410 require).
Status SetSignatureAlgorithm(X509_ALGOR* algorithm, int signature_nid);

// Stores `signature` in a BIT STRING with no unused bits.
Status SetSignatureBits(ASN1_BIT_STRING* bits, std::span<const uint8_t> signature);

// Parses a DER SubjectPublicKeyInfo (no trailing bytes; P-256 and Ed25519
// without OpenSSL's decoders, see crypto/spki.h); InvalidArgument naming
// `what` otherwise.
StatusOr<EvpPkeyPtr> ParsePublicKey(std::span<const uint8_t> spki, std::string_view what);
// The DER SubjectPublicKeyInfo of `pkey` (crypto::SpkiOf).
StatusOr<std::vector<uint8_t>> PublicKeyDer(const EVP_PKEY* pkey);

// Sets `target`, the X509_PUBKEY of a certificate or CSR being built, to the
// DER SubjectPublicKeyInfo `spki` (algorithm and key bits, as given) without
// OpenSSL's encoders, and returns true, when `spki` is the DER of a P-256
// point or an Ed25519 key (crypto::SplitSpki). Returns false and leaves
// `target` alone for any other form; callers then use X509_set_pubkey or
// X509_REQ_set_pubkey. The EVP_PKEY cached in `target` stays unset, so
// X509_get0_pubkey of the object being built returns null: callers keep
// their own parsed key. Does not check the key (parse it with
// ParsePublicKey first).
StatusOr<bool> SetPublicKeyDirect(X509_PUBKEY* target, std::span<const uint8_t> spki);

// Checks that `signature`, as X.509 carries it (DER ECDSA-Sig-Value or raw
// Ed25519), is `key`'s signature over `tbs` under `scheme`: Unauthenticated
// "signature does not verify" if not.
Status VerifyTbsSignature(EVP_PKEY* key, const X509SignatureScheme& scheme,
                          std::span<const uint8_t> tbs, std::span<const uint8_t> signature);
// "ecdsa-p256", "ed25519", or OpenSSL's type name (e.g. "RSA", "EC").
std::string KeyAlgorithmName(const EVP_PKEY* pkey);
// OpenSSL's short name of a signature algorithm NID ("ecdsa-with-SHA256").
std::string SignatureAlgorithmName(int nid);

// `name` as an RFC 2253 string ("CN=x,O=y").
std::string NameToString(const X509_NAME* name);
// The UTF-8 text of the only entry `nid` of `name`: "" if absent,
// InvalidArgument if repeated, not decodable, longer than `max_length`, or
// containing a control character.
StatusOr<std::string> NameEntryText(const X509_NAME* name, int nid, std::string_view what,
                                    std::size_t max_length);
// Builds a subject name [O=`organization`,] CN=`common_name`.
StatusOr<X509NamePtr> BuildName(std::string_view common_name, std::string_view organization);

// Unix seconds of an ASN1_TIME; InvalidArgument if malformed.
StatusOr<int64_t> TimeToUnix(const ASN1_TIME* time);
// An ASN1_TIME (UTCTime until 2049, GeneralizedTime after) for unix seconds.
StatusOr<Asn1TimePtr> UnixToTime(int64_t unix_seconds);
// "2025-01-31T00:00:00Z".
std::string FormatUnixTime(int64_t unix_seconds);

// Lowercase hex of an INTEGER's magnitude, no leading zeros ("0" for 0);
// "-" in front for a negative one.
std::string SerialToHex(const ASN1_INTEGER* serial);
// The INTEGER for normalized serial hex (NormalizeSerialHex).
StatusOr<Asn1IntegerPtr> HexToSerial(std::string_view normalized_hex);

// The URI and DNS entries of a SAN.
struct SanEntries {
  std::vector<std::string> uris;
  std::vector<std::string> dns_names;
  std::size_t other_entries = 0;  // entries of other kinds (email, IP, ...)
};
// Reads `names`; InvalidArgument if an entry is not decodable text, longer
// than `max_length`, or holds a control character.
StatusOr<SanEntries> ReadGeneralNames(const GENERAL_NAMES* names, std::size_t max_length);
// Builds GENERAL_NAMES from URIs and DNS names.
StatusOr<GeneralNamesPtr> BuildGeneralNames(std::span<const std::string> uris,
                                            std::span<const std::string> dns_names);

// The device id named by `uris` after checking it against the subject CN:
// "" if no URI starts with kDeviceUriPrefix; InvalidArgument if several do, or
// the id differs from `common_name`, or is not a valid device id.
StatusOr<std::string> DeviceIdFromSan(std::span<const std::string> uris,
                                      std::string_view common_name);

// Checks the SAN lists of a template or CSR: at most `max_entries` entries,
// each non-empty, printable ASCII and at most `max_length` long.
Status ValidateSanStrings(std::span<const std::string> uris, std::span<const std::string> dns_names,
                          std::size_t max_entries, std::size_t max_length);

// True if `data` starts, after ASCII whitespace, with "-----BEGIN".
bool LooksLikePem(std::span<const uint8_t> data);
// The DER inside the single PEM block with `label` in `pem` (other text is
// ignored). InvalidArgument if there is none, it is malformed, there is a
// second one, or its DER exceeds `max_der_bytes`. When `rest` is not null,
// a second block is allowed and *rest receives the text after the first.
StatusOr<std::vector<uint8_t>> PemBlockToDer(std::string_view pem, std::string_view label,
                                             std::size_t max_der_bytes,
                                             std::string_view* rest = nullptr);
// A PEM block of `der` with `label`, 64 base64 characters a line.
std::string DerToPem(std::span<const uint8_t> der, std::string_view label);

// `result`, with `context + ": "` put in front of its error message.
template <typename T>
StatusOr<T> AnnotateOr(StatusOr<T> result, std::string_view context) {
  if (!result.ok()) return Annotate(result.status(), context);
  return result;
}

// Encodes `object` with the i2d function `encode` into a vector.
template <typename T>
StatusOr<std::vector<uint8_t>> EncodeDer(T* object, int (*encode)(T*, unsigned char**),
                                         std::string_view what) {
  const int length = encode(object, nullptr);
  if (length <= 0) return OpenSslFailure(what);
  std::vector<uint8_t> der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  if (encode(object, &out) != length) return OpenSslFailure(what);
  return der;
}

// The same for i2d functions taking a const object.
template <typename T>
StatusOr<std::vector<uint8_t>> EncodeDer(const T* object, int (*encode)(const T*, unsigned char**),
                                         std::string_view what) {
  const int length = encode(object, nullptr);
  if (length <= 0) return OpenSslFailure(what);
  std::vector<uint8_t> der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  if (encode(object, &out) != length) return OpenSslFailure(what);
  return der;
}

}  // namespace custos::identity::internal

#endif  // CUSTOS_IDENTITY_INTERNAL_X509_UTIL_H_
