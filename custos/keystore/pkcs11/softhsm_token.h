// File: custos/keystore/pkcs11/softhsm_token.h
//
// Creating a SoftHSM2 token in a folder of the caller's choosing, never in the
// system-wide token directory: the folder gets its own softhsm2.conf and
// tokens/ directory, and the returned PKCS#11 URI carries
// x-softhsm2-conf=DIR/softhsm2.conf so that OpenPkcs11KeyStore points
// SoftHSM2 at it (see custos/keystore/pkcs11/internal/pkcs11_module.h for the
// process-wide effect of SOFTHSM2_CONF).
#ifndef CUSTOS_KEYSTORE_PKCS11_SOFTHSM_TOKEN_H_
#define CUSTOS_KEYSTORE_PKCS11_SOFTHSM_TOKEN_H_

#include <string>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/keystore/pkcs11/pkcs11_uri.h"

namespace custos::keystore {

// What CreateSoftHsmToken makes.
struct SoftHsmTokenOptions {
  // The folder for softhsm2.conf, tokens/ and the PIN files; created (0700)
  // if missing. Must be an absolute path.
  std::string dir;
  // The token label (1 to 32 bytes).
  std::string label = "custos";
  // The user PIN (4 to 255 bytes); a random 32-character one if empty.
  SecretBytes user_pin;
  // The security officer PIN (4 to 255 bytes); a random one if empty.
  SecretBytes so_pin;
  // The SoftHSM2 module.
  std::string module_path = std::string(kDefaultPkcs11Module);
};

// Creates and initialises a token (C_InitToken, then C_InitPIN as the
// security officer) and returns its URI:
//   pkcs11:token=LABEL?module-path=MODULE&pin-source=file:DIR/user.pin
//       &x-softhsm2-conf=DIR/softhsm2.conf
// Writes DIR/softhsm2.conf (tokendir DIR/tokens, file object store, log level
// ERROR) and the PINs to DIR/user.pin and DIR/so.pin (mode 0600, created
// exclusively). Errors: InvalidArgument for a bad label, PIN or relative dir;
// AlreadyExists if DIR already holds PIN files or a token with this label;
// FailedPrecondition if SoftHSM2 is in use in this process with another
// configuration; Unavailable for file-system failures. On failure after the
// token was created, the token stays in DIR/tokens (DIR is the caller's to
// remove).
StatusOr<std::string> CreateSoftHsmToken(const SoftHsmTokenOptions& options);

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_PKCS11_SOFTHSM_TOKEN_H_
