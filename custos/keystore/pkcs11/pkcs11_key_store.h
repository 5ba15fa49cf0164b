// File: custos/keystore/pkcs11/pkcs11_key_store.h
//
// The PKCS#11 key store: keys are token objects of a PKCS#11 token (SoftHSM2
// by default; any HSM, secure element or smart card with a PKCS#11 module
// works by pointing the URI's module-path at it).
//
// Every key is created on the token with CKA_TOKEN, CKA_PRIVATE and
// CKA_SENSITIVE true and CKA_EXTRACTABLE false, CKA_LABEL = the key's label
// and a random 16-byte CKA_ID shared by the private and public halves. The
// key type follows from the objects: ecdsa-p256 and ecdh-p256 are CKK_EC
// P-256 keys allowed to sign or to derive respectively; ed25519 is a
// CKK_EC_EDWARDS key; aes-128 a CKK_AES key of 16 bytes used with AES-GCM
// (12-byte random nonce, 16-byte tag; aead_algorithm "aes-128-gcm").
// ascon-aead128 has no PKCS#11 mechanism: Unimplemented.
//
// ECDH + HKDF: few modules (SoftHSM2 among them) implement CKM_HKDF_DERIVE,
// so DeriveSharedKey runs CKM_ECDH1_DERIVE inside the token into a session
// (never stored) generic-secret object, reads that shared secret out, destroys
// the object, runs HKDF-SHA-256 on the host and wipes the shared secret.
//
// Counters are token CKO_DATA objects (CKA_APPLICATION "custos-counter",
// CKA_LABEL = name, CKA_VALUE = 8-byte big-endian value). SoftHSM2 keeps them
// in its token files: a host with write access to those files could roll a
// counter back by restoring an old copy. Real HSMs offer hardware monotonic
// counters; a backend for them would use those instead.
//
// Thread safety: like every KeyStore, not thread-safe; each store holds one
// read-write session. Several stores may open the same token in one process
// (PKCS#11 login state is shared per process and token).
#ifndef CUSTOS_KEYSTORE_PKCS11_PKCS11_KEY_STORE_H_
#define CUSTOS_KEYSTORE_PKCS11_PKCS11_KEY_STORE_H_

#include <memory>
#include <string_view>

#include "custos/core/status.h"
#include "custos/keystore/key_store.h"

namespace custos::keystore {

// Opens the token that the PKCS#11 URI `uri` names (see pkcs11_uri.h): loads
// the module (module-path, module-name or SoftHSM2), sets SOFTHSM2_CONF from
// the vendor attribute x-softhsm2-conf (process-wide; see
// internal/pkcs11_module.h), finds the token by token= label, serial=,
// manufacturer=, model= and slot-id=, and logs in as the user with the PIN
// from pin-source or pin-value.
//
// Errors: InvalidArgument for a malformed URI; NotFound "no token 'x' in
// module PATH" or a missing module or PIN file; Unauthenticated "wrong PIN for
// token 'x' (CKR_PIN_INCORRECT)"; FailedPrecondition for a locked or expired
// PIN or a conflicting x-softhsm2-conf; other CK_RV failures name their
// CKR_ code.
StatusOr<std::unique_ptr<KeyStore>> OpenPkcs11KeyStore(std::string_view uri);

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_PKCS11_PKCS11_KEY_STORE_H_
