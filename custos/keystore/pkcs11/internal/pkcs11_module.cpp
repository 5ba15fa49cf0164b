#include "custos/keystore/pkcs11/internal/pkcs11_module.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "custos/core/ct.h"

namespace custos::keystore::internal {
namespace {

struct RvName {
  CK_RV rv;
  std::string_view name;
};

constexpr RvName kRvNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_NO_EVENT, "CKR_NO_EVENT"},
    {CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS"},
    {CKR_CANT_LOCK, "CKR_CANT_LOCK"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
    {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
    {CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED"},
    {CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED"},
    {CKR_KEY_CHANGED, "CKR_KEY_CHANGED"},
    {CKR_KEY_NEEDED, "CKR_KEY_NEEDED"},
    {CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS"},
    {CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS"},
    {CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE"},
    {CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
    {CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES"},
    {CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID"},
    {CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE"},
    {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
    {CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE"},
    {CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_RANDOM_SEED_NOT_SUPPORTED, "CKR_RANDOM_SEED_NOT_SUPPORTED"},
    {CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_SAVED_STATE_INVALID, "CKR_SAVED_STATE_INVALID"},
    {CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE"},
    {CKR_STATE_UNSAVEABLE, "CKR_STATE_UNSAVEABLE"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_MUTEX_BAD, "CKR_MUTEX_BAD"},
    {CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED"},
    {CKR_NEW_PIN_MODE, "CKR_NEW_PIN_MODE"},
    {CKR_NEXT_OTP, "CKR_NEXT_OTP"},
    {CKR_EXCEEDED_MAX_ITERATIONS, "CKR_EXCEEDED_MAX_ITERATIONS"},
    {CKR_FIPS_SELF_TEST_FAILED, "CKR_FIPS_SELF_TEST_FAILED"},
    {CKR_LIBRARY_LOAD_FAILED, "CKR_LIBRARY_LOAD_FAILED"},
    {CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK"},
    {CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID"},
    {CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED"},
};

// One loaded module. `handle` stays open for the life of the process.
struct ModuleEntry {
  void* handle = nullptr;
  CK_FUNCTION_LIST* functions = nullptr;
  int references = 0;
  // The SOFTHSM2_CONF the module was initialised with ("" = inherited).
  std::string softhsm_conf;
  // True when someone else in the process had initialised the module before
  // us: then we must not finalise it.
  bool foreign_initialised = false;
  // SHA-256 of the user PIN that logged in to each slot (see Login).
  std::map<CK_SLOT_ID, std::array<uint8_t, 32>> user_pin_digests;
};

// The process-wide registry (see the header's file comment for why it
// exists). A function-local static: constructed on first use, never
// destroyed, so that stores released during static destruction still find it.
struct Registry {
  std::mutex mutex;
  std::map<std::string, ModuleEntry> modules;
};

Registry& GetRegistry() {
  static auto* registry = new Registry();
  return *registry;
}

// Sets SOFTHSM2_CONF for the lifetime of the object and restores the
// previous value (or its absence) afterwards.
class ScopedSoftHsmConf {
 public:
  explicit ScopedSoftHsmConf(const std::string& conf) : active_(!conf.empty()) {
    if (!active_) return;
    if (const char* old = std::getenv("SOFTHSM2_CONF"); old != nullptr) previous_ = old;
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  }
  ~ScopedSoftHsmConf() {
    if (!active_) return;
    if (previous_.has_value()) {
      ::setenv("SOFTHSM2_CONF", previous_->c_str(), 1);
    } else {
      ::unsetenv("SOFTHSM2_CONF");
    }
  }
  ScopedSoftHsmConf(const ScopedSoftHsmConf&) = delete;
  ScopedSoftHsmConf& operator=(const ScopedSoftHsmConf&) = delete;

 private:
  bool active_;
  std::optional<std::string> previous_;
};

Status LoadModule(const std::string& path, ModuleEntry& entry) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return NotFoundError("PKCS#11 module " + path + " does not exist");
  }
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return InvalidArgumentError("cannot load PKCS#11 module " + path + ": " +
                                (why != nullptr ? why : "unknown dlopen error"));
  }
  auto* get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get_function_list == nullptr) {
    ::dlclose(handle);
    return InvalidArgumentError(path + " is not a PKCS#11 module (no C_GetFunctionList)");
  }
  CK_FUNCTION_LIST* functions = nullptr;
  const CK_RV rv = get_function_list(&functions);
  if (rv != CKR_OK || functions == nullptr) {
    ::dlclose(handle);
    return Annotate(CkError(rv == CKR_OK ? CKR_GENERAL_ERROR : rv, "C_GetFunctionList"),
                    "PKCS#11 module " + path);
  }
  entry.handle = handle;
  entry.functions = functions;
  return OkStatus();
}

}  // namespace

std::string CkRvName(CK_RV rv) {
  for (const RvName& entry : kRvNames) {
    if (entry.rv == rv) return std::string(entry.name);
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "CKR_0x%lX", static_cast<unsigned long>(rv));
  return buffer;
}

Status CkError(CK_RV rv, std::string_view what) {
  if (rv == CKR_OK) return OkStatus();
  const std::string message = std::string(what) + " failed (" + CkRvName(rv) + ")";
  switch (rv) {
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_FUNCTION_CANCELED:
      return UnavailableError(message);
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_MEMORY:
    case CKR_SESSION_COUNT:
      return ResourceExhaustedError(message);
    case CKR_MECHANISM_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_CURVE_NOT_SUPPORTED:
      return UnimplementedError(message);
    case CKR_ARGUMENTS_BAD:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_PUBLIC_KEY_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
      return InvalidArgumentError(message);
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_TYPE_INCONSISTENT:
      return FailedPreconditionError(message);
    case CKR_PIN_INCORRECT:
    case CKR_SIGNATURE_INVALID:
    case CKR_SIGNATURE_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
      return UnauthenticatedError(message);
    default:
      return InternalError(message);
  }
}

std::string TrimPadded(std::span<const unsigned char> field) {
  std::size_t size = field.size();
  while (size > 0 && (field[size - 1] == ' ' || field[size - 1] == '\0')) --size;
  return std::string(reinterpret_cast<const char*>(field.data()), size);
}

StatusOr<std::unique_ptr<Pkcs11Module>> Pkcs11Module::Acquire(const std::string& module_path,
                                                              const std::string& softhsm_conf) {
  Registry& registry = GetRegistry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  ModuleEntry& entry = registry.modules[module_path];
  if (entry.functions == nullptr) {
    if (Status loaded = LoadModule(module_path, entry); !loaded.ok()) {
      registry.modules.erase(module_path);
      return loaded;
    }
  }
  if (entry.references > 0) {
    if (!softhsm_conf.empty() && softhsm_conf != entry.softhsm_conf) {
      return FailedPreconditionError(
          "PKCS#11 module " + module_path + " is already initialised in this process with " +
          (entry.softhsm_conf.empty() ? std::string("the inherited SOFTHSM2_CONF")
                                      : "SOFTHSM2_CONF=" + entry.softhsm_conf) +
          "; it cannot switch to " + softhsm_conf + " until every store using it is closed");
    }
  } else {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = CKR_OK;
    {
      const ScopedSoftHsmConf conf(softhsm_conf);
      rv = entry.functions->C_Initialize(&args);
    }
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      return Annotate(CkError(rv, "C_Initialize"), "PKCS#11 module " + module_path);
    }
    entry.foreign_initialised = rv == CKR_CRYPTOKI_ALREADY_INITIALIZED;
    entry.softhsm_conf = softhsm_conf;
  }
  ++entry.references;
  return std::unique_ptr<Pkcs11Module>(new Pkcs11Module(module_path, entry.functions));
}

Pkcs11Module::~Pkcs11Module() {
  Registry& registry = GetRegistry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.modules.find(path_);
  if (it == registry.modules.end()) return;
  ModuleEntry& entry = it->second;
  if (--entry.references == 0 && !entry.foreign_initialised) {
    // Nothing useful can be done if finalising fails in a destructor.
    (void)entry.functions->C_Finalize(nullptr);
  }
  if (entry.references == 0) entry.user_pin_digests.clear();
}

StatusOr<std::vector<CK_MECHANISM_TYPE>> Pkcs11Module::Mechanisms(CK_SLOT_ID slot) const {
  CK_ULONG count = 0;
  CUSTOS_RETURN_IF_ERROR(
      CkError(functions_->C_GetMechanismList(slot, nullptr, &count), "C_GetMechanismList"));
  std::vector<CK_MECHANISM_TYPE> mechanisms(count);
  CUSTOS_RETURN_IF_ERROR(CkError(functions_->C_GetMechanismList(slot, mechanisms.data(), &count),
                                 "C_GetMechanismList"));
  mechanisms.resize(count);
  return mechanisms;
}

StatusOr<CK_SLOT_ID> FindSlot(const Pkcs11Module& module, const TokenQuery& query) {
  CK_FUNCTION_LIST* f = module.functions();
  CK_ULONG count = 0;
  CUSTOS_RETURN_IF_ERROR(CkError(f->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList"));
  std::vector<CK_SLOT_ID> slots(count);
  CUSTOS_RETURN_IF_ERROR(CkError(f->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList"));
  slots.resize(count);
  for (const CK_SLOT_ID slot : slots) {
    if (query.has_slot_id && slot != query.slot_id) continue;
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    if (!query.label.empty() && TrimPadded(info.label) != query.label) continue;
    if (!query.serial.empty() && TrimPadded(info.serialNumber) != query.serial) continue;
    if (!query.manufacturer.empty() && TrimPadded(info.manufacturerID) != query.manufacturer) {
      continue;
    }
    if (!query.model.empty() && TrimPadded(info.model) != query.model) continue;
    return slot;
  }
  std::string what;
  if (!query.label.empty()) {
    what = "token '" + query.label + "'";
  } else if (!query.serial.empty()) {
    what = "token with serial '" + query.serial + "'";
  } else {
    what = "initialised token";
  }
  if (query.has_slot_id) what += " in slot " + std::to_string(query.slot_id);
  return NotFoundError("no " + what + " in module " + module.path());
}

Status Login(const Pkcs11Module& module, CK_SLOT_ID slot, CK_SESSION_HANDLE session,
             CK_USER_TYPE user_type, const SecretBytes& pin, std::string_view token_label) {
  std::array<uint8_t, 32> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(pin.data(), pin.size(), digest.data(), &digest_size, EVP_sha256(), nullptr) != 1) {
    return InternalError("OpenSSL SHA-256 failed");
  }
  // C_Login takes a non-const pointer but does not write through it.
  const CK_RV rv = module.functions()->C_Login(session, user_type,
                                               const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  const std::string token = "token '" + std::string(token_label) + "'";
  switch (rv) {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN: {
      if (user_type != CKU_USER) return OkStatus();
      Registry& registry = GetRegistry();
      const std::lock_guard<std::mutex> lock(registry.mutex);
      ModuleEntry& entry = registry.modules[module.path()];
      auto known = entry.user_pin_digests.find(slot);
      if (rv == CKR_USER_ALREADY_LOGGED_IN && known != entry.user_pin_digests.end() &&
          !CtEqual(known->second, digest)) {
        return UnauthenticatedError("wrong PIN for " + token +
                                    " (the token is already logged in with another PIN)");
      }
      if (rv == CKR_OK) entry.user_pin_digests[slot] = digest;
      return OkStatus();
    }
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return UnauthenticatedError("wrong PIN for " + token + " (" + CkRvName(rv) + ")");
    case CKR_PIN_LOCKED:
      return FailedPreconditionError("the PIN of " + token +
                                     " is locked after too many wrong PINs (CKR_PIN_LOCKED); the "
                                     "security officer must reset it");
    case CKR_PIN_EXPIRED:
      return FailedPreconditionError("the PIN of " + token + " has expired (CKR_PIN_EXPIRED)");
    case CKR_USER_PIN_NOT_INITIALIZED:
      return FailedPreconditionError("the user PIN of " + token +
                                     " was never set (CKR_USER_PIN_NOT_INITIALIZED)");
    default:
      return Annotate(CkError(rv, "C_Login"), token);
  }
}

StatusOr<Session> Session::Open(const Pkcs11Module& module, CK_SLOT_ID slot) {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CUSTOS_RETURN_IF_ERROR(
      CkError(module.functions()->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                                nullptr, &handle),
              "C_OpenSession"));
  return Session(module.functions(), handle);
}

Session::Session(Session&& other) noexcept
    : functions_(other.functions_), handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    if (handle_ != CK_INVALID_HANDLE) (void)functions_->C_CloseSession(handle_);
    functions_ = other.functions_;
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
  }
  return *this;
}

Session::~Session() {
  if (handle_ != CK_INVALID_HANDLE) (void)functions_->C_CloseSession(handle_);
}

}  // namespace custos::keystore::internal
