// File: custos/keystore/pkcs11/internal/pkcs11_module.h
//
// Loading PKCS#11 modules, and turning CK_RV codes into Status.
//
// PKCS#11 is a process-wide library: a module keeps one global state that
// C_Initialize creates and C_Finalize destroys, and login state is shared by
// every session of the process. This file therefore keeps the one piece of
// process-wide state of the backend: a registry (guarded by a mutex) that
// dlopens each module path once, calls C_Initialize when the first
// Pkcs11Module for that path is acquired and C_Finalize when the last one is
// released. Modules are never dlclosed (some, SoftHSM2 among them, leave
// OpenSSL and atexit hooks behind that would crash after an unload).
//
// SoftHSM2 reads its configuration file from the environment variable
// SOFTHSM2_CONF during C_Initialize. When a caller asks for a configuration,
// the registry sets SOFTHSM2_CONF for the duration of C_Initialize and then
// restores the previous value; setenv is not thread-safe against concurrent
// getenv in other threads, which is why this happens under the registry lock
// and only at initialisation. While a module is initialised with one
// configuration, a request for a different one fails with FailedPrecondition.
//
// Private to custos/keystore/pkcs11 and its tests.
#ifndef CUSTOS_KEYSTORE_PKCS11_INTERNAL_PKCS11_MODULE_H_
#define CUSTOS_KEYSTORE_PKCS11_INTERNAL_PKCS11_MODULE_H_

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::keystore::internal {

// The name of a CK_RV, e.g. "CKR_PIN_INCORRECT"; "CKR_0x..." for unknown
// values.
std::string CkRvName(CK_RV rv);

// A Status for a failed call: `what` + " failed (" + CkRvName(rv) + ")" with
// a code chosen from rv (device errors -> Unavailable, unsupported mechanism
// -> Unimplemented, memory -> ResourceExhausted, bad arguments and templates
// -> InvalidArgument, otherwise Internal). OK for CKR_OK.
Status CkError(CK_RV rv, std::string_view what);

// Copies a blank-padded fixed-size PKCS#11 text field and strips the padding.
std::string TrimPadded(std::span<const unsigned char> field);

// One acquired reference to an initialised module. Destroying it releases the
// reference; the last release calls C_Finalize. Thread-safe to acquire and
// release from several threads; the function list is the module's own
// (whose thread safety the module defines; C_Initialize asks for
// CKF_OS_LOCKING_OK).
class Pkcs11Module {
 public:
  // Loads `module_path` (once per process) and initialises it. If
  // `softhsm_conf` is not empty, SOFTHSM2_CONF is set to it during
  // C_Initialize (see the file comment). Errors: NotFound when the file does
  // not exist, InvalidArgument when it is not a PKCS#11 module,
  // FailedPrecondition when the module is already initialised with a
  // different SOFTHSM2_CONF, the mapped CK_RV when C_Initialize fails.
  static StatusOr<std::unique_ptr<Pkcs11Module>> Acquire(const std::string& module_path,
                                                         const std::string& softhsm_conf);
  ~Pkcs11Module();
  Pkcs11Module(const Pkcs11Module&) = delete;
  Pkcs11Module& operator=(const Pkcs11Module&) = delete;

  // The module's function list; valid while this object lives.
  CK_FUNCTION_LIST* functions() const { return functions_; }
  const std::string& path() const { return path_; }

  // Every mechanism slot `slot` offers.
  StatusOr<std::vector<CK_MECHANISM_TYPE>> Mechanisms(CK_SLOT_ID slot) const;

 private:
  Pkcs11Module(std::string path, CK_FUNCTION_LIST* functions)
      : path_(std::move(path)), functions_(functions) {}

  std::string path_;
  CK_FUNCTION_LIST* functions_;
};

// What FindSlot matches a token on; empty fields match anything.
struct TokenQuery {
  std::string label;
  std::string serial;
  std::string manufacturer;
  std::string model;
  bool has_slot_id = false;
  CK_SLOT_ID slot_id = 0;
};

// The slot of the first initialised token matching `query`. NotFound "no
// token 'label' in module PATH" (naming the serial or slot if that was the
// criterion) when none matches.
StatusOr<CK_SLOT_ID> FindSlot(const Pkcs11Module& module, const TokenQuery& query);

// Logs `session` (on `slot`) in as `user_type` with `pin` and maps the
// outcome: CKR_PIN_INCORRECT -> Unauthenticated "wrong PIN for token 'x'",
// CKR_PIN_LOCKED / CKR_PIN_EXPIRED / CKR_USER_PIN_NOT_INITIALIZED ->
// FailedPrecondition naming the state.
//
// PKCS#11 login state is per process and token, so when another store of this
// process is already logged in, the module answers CKR_USER_ALREADY_LOGGED_IN
// without checking the PIN. To keep "wrong PIN" an error in that case too,
// the registry remembers a SHA-256 digest of the user PIN that last logged in
// to each slot (until C_Finalize) and compares it in constant time.
Status Login(const Pkcs11Module& module, CK_SLOT_ID slot, CK_SESSION_HANDLE session,
             CK_USER_TYPE user_type, const SecretBytes& pin, std::string_view token_label);

// A session that closes itself.
class Session {
 public:
  // Opens a read-write session on `slot`.
  static StatusOr<Session> Open(const Pkcs11Module& module, CK_SLOT_ID slot);
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  CK_SESSION_HANDLE handle() const { return handle_; }

 private:
  Session(CK_FUNCTION_LIST* functions, CK_SESSION_HANDLE handle)
      : functions_(functions), handle_(handle) {}
  CK_FUNCTION_LIST* functions_ = nullptr;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
};

}  // namespace custos::keystore::internal

#endif  // CUSTOS_KEYSTORE_PKCS11_INTERNAL_PKCS11_MODULE_H_
