#include "custos/keystore/pkcs11/softhsm_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/keystore/pkcs11/internal/pkcs11_module.h"

namespace custos::keystore {
namespace {

using internal::CkError;
using internal::Pkcs11Module;
using internal::Session;

constexpr std::size_t kMaxLabel = 32;
constexpr std::size_t kMinPin = 4;
constexpr std::size_t kMaxPin = 255;

Status ErrnoError(const std::string& what) {
  return UnavailableError(what + ": " + std::strerror(errno));
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return OkStatus();
    return FailedPreconditionError(path + " exists and is not a folder");
  }
  return ErrnoError("cannot create folder " + path);
}

// Writes `bytes` to a new file `path` with `mode`; AlreadyExists if present.
Status WriteNewFile(const std::string& path, std::span<const uint8_t> bytes, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExistsError(path + " already exists");
    return ErrnoError("cannot create " + path);
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) {
      Status status = ErrnoError("cannot write " + path);
      ::close(fd);
      return status;
    }
    done += static_cast<std::size_t>(wrote);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return ErrnoError("cannot write " + path);
  return OkStatus();
}

// Writes softhsm2.conf unless an identical one is there already (several
// tokens may share one token folder).
Status WriteConf(const std::string& path, const std::string& text) {
  Status written = WriteNewFile(path, AsBytes(text), 0600);
  if (written.code() != StatusCode::kAlreadyExists) return written;
  std::string existing(text.size() + 1, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot read " + path);
  const ssize_t got = ::read(fd, existing.data(), existing.size());
  ::close(fd);
  if (got != static_cast<ssize_t>(text.size()) || existing.compare(0, text.size(), text) != 0) {
    return AlreadyExistsError(path + " exists with different settings");
  }
  return OkStatus();
}

StatusOr<SecretBytes> PinOrRandom(const SecretBytes& pin, std::string_view which) {
  if (!pin.empty()) {
    if (pin.size() < kMinPin || pin.size() > kMaxPin) {
      return InvalidArgumentError(std::string(which) + " must be 4 to 255 bytes long");
    }
    return pin;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes random, RandomSecret(16));
  SecretBytes text(32);
  for (std::size_t i = 0; i < random.size(); ++i) {
    text[2 * i] = static_cast<uint8_t>(kHex[random[i] >> 4]);
    text[2 * i + 1] = static_cast<uint8_t>(kHex[random[i] & 0xf]);
  }
  return text;
}

Status InitToken(const Pkcs11Module& module, const std::string& label, const SecretBytes& so_pin,
                 const SecretBytes& user_pin) {
  CK_FUNCTION_LIST* f = module.functions();
  internal::TokenQuery by_label;
  by_label.label = label;
  if (internal::FindSlot(module, by_label).ok()) {
    return AlreadyExistsError("a token '" + label + "' already exists in this token folder");
  }
  // SoftHSM2 always offers one slot with an uninitialised token.
  CK_ULONG count = 0;
  CUSTOS_RETURN_IF_ERROR(CkError(f->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList"));
  std::vector<CK_SLOT_ID> slots(count);
  CUSTOS_RETURN_IF_ERROR(CkError(f->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList"));
  slots.resize(count);
  std::optional<CK_SLOT_ID> free_slot;
  for (const CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) == CKR_OK && (info.flags & CKF_TOKEN_INITIALIZED) == 0) {
      free_slot = slot;
      break;
    }
  }
  if (!free_slot.has_value()) {
    return FailedPreconditionError("module " + module.path() + " offers no uninitialised token");
  }
  std::array<CK_UTF8CHAR, kMaxLabel> padded;
  padded.fill(' ');
  std::memcpy(padded.data(), label.data(), label.size());
  CUSTOS_RETURN_IF_ERROR(CkError(f->C_InitToken(*free_slot, const_cast<CK_UTF8CHAR*>(so_pin.data()),
                                                so_pin.size(), padded.data()),
                                 "C_InitToken for token '" + label + "'"));
  // The initialised token may move to another slot id: look it up again.
  CUSTOS_ASSIGN_OR_RETURN(const CK_SLOT_ID slot, internal::FindSlot(module, by_label));
  CUSTOS_ASSIGN_OR_RETURN(Session session, Session::Open(module, slot));
  CUSTOS_RETURN_IF_ERROR(internal::Login(module, slot, session.handle(), CKU_SO, so_pin, label));
  const CK_RV init_pin =
      f->C_InitPIN(session.handle(), const_cast<CK_UTF8CHAR*>(user_pin.data()), user_pin.size());
  (void)f->C_Logout(session.handle());
  return CkError(init_pin, "C_InitPIN for token '" + label + "'");
}

}  // namespace

StatusOr<std::string> CreateSoftHsmToken(const SoftHsmTokenOptions& options) {
  if (options.dir.empty() || options.dir.front() != '/') {
    return InvalidArgumentError("SoftHSM2 token folder '" + options.dir +
                                "' must be an absolute path");
  }
  if (options.label.empty() || options.label.size() > kMaxLabel) {
    return InvalidArgumentError("token label '" + options.label + "' must be 1 to 32 bytes long");
  }
  if (options.label.find('\0') != std::string::npos) {
    return InvalidArgumentError("token label contains a NUL byte");
  }
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes user_pin, PinOrRandom(options.user_pin, "user PIN"));
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes so_pin, PinOrRandom(options.so_pin, "SO PIN"));

  std::string dir = options.dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string token_dir = dir + "/tokens";
  const std::string conf_path = dir + "/softhsm2.conf";
  const std::string user_pin_path = dir + "/user.pin";
  const std::string so_pin_path = dir + "/so.pin";
  CUSTOS_RETURN_IF_ERROR(MakeDir(dir));
  CUSTOS_RETURN_IF_ERROR(MakeDir(token_dir));
  CUSTOS_RETURN_IF_ERROR(WriteConf(conf_path,
                                   "# Written by custos: a SoftHSM2 token folder.\n"
                                   "directories.tokendir = " +
                                       token_dir +
                                       "\n"
                                       "objectstore.backend = file\n"
                                       "log.level = ERROR\n"
                                       "slots.removable = false\n"));
  CUSTOS_RETURN_IF_ERROR(WriteNewFile(user_pin_path, user_pin.span(), 0600));
  if (Status so = WriteNewFile(so_pin_path, so_pin.span(), 0600); !so.ok()) {
    ::unlink(user_pin_path.c_str());
    return so;
  }
  Status created = [&]() -> Status {
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Module> module,
                            Pkcs11Module::Acquire(options.module_path, conf_path));
    return InitToken(*module, options.label, so_pin, user_pin);
  }();
  if (!created.ok()) {
    ::unlink(user_pin_path.c_str());
    ::unlink(so_pin_path.c_str());
    return created;
  }
  return "pkcs11:token=" + Pkcs11UriEscape(options.label) +
         "?module-path=" + Pkcs11UriEscape(options.module_path, true) +
         "&pin-source=file:" + Pkcs11UriEscape(user_pin_path, true) +
         "&x-softhsm2-conf=" + Pkcs11UriEscape(conf_path, true);
}

}  // namespace custos::keystore
