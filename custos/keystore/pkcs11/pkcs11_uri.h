// File: custos/keystore/pkcs11/pkcs11_uri.h
//
// PKCS#11 URIs (RFC 7512), the way a key store names a token, e.g.
//
//   pkcs11:token=custos;serial=1a2b?module-path=/usr/lib/softhsm/libsofthsm2.so
//       &pin-source=file:/var/lib/custos/user.pin&x-softhsm2-conf=/var/lib/custos/softhsm2.conf
//
// The parser accepts every path attribute of RFC 7512 (token, manufacturer,
// serial, model, library-manufacturer, library-description, library-version,
// object, type, id, slot-description, slot-manufacturer, slot-id), the query
// attributes module-path, module-name, pin-source and pin-value, and vendor
// attributes "x-..." in both parts. Values are percent-decoded. It never
// trusts its input: sizes are bounded, every character is checked against the
// RFC's grammar, and each error names the part that was wrong.
#ifndef CUSTOS_KEYSTORE_PKCS11_PKCS11_URI_H_
#define CUSTOS_KEYSTORE_PKCS11_PKCS11_URI_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::keystore {

// The module a URI without module-path and module-name loads: Debian's
// SoftHSM2.
inline constexpr std::string_view kDefaultPkcs11Module = "/usr/lib/softhsm/libsofthsm2.so";

// The longest URI ParsePkcs11Uri accepts, in bytes.
inline constexpr std::size_t kMaxPkcs11UriLength = 8192;

// A parsed PKCS#11 URI. Absent attributes are std::nullopt; present ones
// hold their percent-decoded values.
struct Pkcs11Uri {
  // Path attributes (which token, slot, library or object).
  std::optional<std::string> token;  // CK_TOKEN_INFO label
  std::optional<std::string> manufacturer;
  std::optional<std::string> serial;
  std::optional<std::string> model;
  std::optional<std::string> library_manufacturer;
  std::optional<std::string> library_description;
  std::optional<std::string> library_version;  // "M" or "M.N"
  std::optional<std::string> object;           // CKA_LABEL
  // One of "public", "private", "cert", "secret-key", "data".
  std::optional<std::string> type;
  std::optional<std::vector<uint8_t>> id;  // CKA_ID, raw bytes
  std::optional<std::string> slot_description;
  std::optional<std::string> slot_manufacturer;
  std::optional<uint64_t> slot_id;

  // Query attributes (how to reach and log in to the token).
  std::optional<std::string> module_path;
  std::optional<std::string> module_name;
  // The pin-source value as written, e.g. "file:/path/user.pin".
  std::optional<std::string> pin_source;
  // The pin-value; wiped when the Pkcs11Uri is destroyed.
  std::optional<SecretBytes> pin_value;

  // Vendor attributes ("x-..."), name -> decoded value, from the path and the
  // query part respectively.
  std::map<std::string, std::string> vendor_path;
  std::map<std::string, std::string> vendor_query;
};

// Parses `uri`. InvalidArgument naming the bad part ("PKCS#11 URI attribute
// 'slot-id': '12a' is not a decimal number", "... unknown path attribute
// 'tokn'") when the scheme is not "pkcs11:", an attribute is unknown, repeated
// or has no '=', a character is not allowed by RFC 7512, a percent escape is
// malformed, a value is invalid for its attribute, both pin-source and
// pin-value are given, or the URI is longer than kMaxPkcs11UriLength.
StatusOr<Pkcs11Uri> ParsePkcs11Uri(std::string_view uri);

// The module file `uri` names: module-path if given; else module-name looked
// up in the p11-kit module folder (/usr/lib/<multiarch>/pkcs11/NAME.so) and
// beside SoftHSM; else kDefaultPkcs11Module. NotFound if a module-name
// resolves to no file.
StatusOr<std::string> ResolvePkcs11ModulePath(const Pkcs11Uri& uri);

// The PIN `uri` carries: pin-value, or the contents of the pin-source file
// ("file:PATH", "file://PATH" or a plain absolute path) with one trailing
// newline removed. NotFound if the URI carries no PIN; NotFound/Unavailable
// if the file cannot be read; InvalidArgument for an unsupported pin-source
// scheme or an empty PIN.
StatusOr<SecretBytes> ReadPkcs11Pin(const Pkcs11Uri& uri);

// Percent-encodes `value` for use as a URI attribute value: unreserved
// characters stay, and with `keep_slashes` (for file paths in the query part)
// '/' stays too; everything else becomes %XX. Used to build URIs.
std::string Pkcs11UriEscape(std::string_view value, bool keep_slashes = false);

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_PKCS11_PKCS11_URI_H_
