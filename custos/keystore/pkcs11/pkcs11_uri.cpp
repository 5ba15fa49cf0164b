#include "custos/keystore/pkcs11/pkcs11_uri.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "custos/core/hex.h"

namespace custos::keystore {
namespace {

constexpr std::string_view kScheme = "pkcs11:";
// A PIN file longer than this is not a PIN file.
constexpr std::size_t kMaxPinFileSize = 1024;

Status UriError(std::string_view what) {
  return InvalidArgumentError("PKCS#11 URI: " + std::string(what));
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// p11-res-avail of RFC 7512.
bool IsResAvail(char c) {
  return std::string_view(":[]@!$'()*+,=").find(c) != std::string_view::npos;
}

// Characters allowed unescaped in a path value (p11-pchar plus '&') or a query
// value (p11-qchar: plus '/', '?', '|'; ';' is allowed inside query values by
// many tools and by RFC 7512's examples of module paths).
bool AllowedInValue(char c, bool query) {
  if (IsUnreserved(c) || IsResAvail(c)) return true;
  if (query) return c == '/' || c == '?' || c == '|' || c == ';';
  return c == '&';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `raw`, the value of attribute `name`.
StatusOr<std::string> Decode(std::string_view name, std::string_view raw, bool query) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) {
        return UriError("attribute '" + std::string(name) +
                        "': truncated percent escape at offset " + std::to_string(i));
      }
      const int hi = HexValue(raw[i + 1]);
      const int lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) {
        return UriError("attribute '" + std::string(name) + "': bad percent escape '" +
                        std::string(raw.substr(i, 3)) + "'");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      continue;
    }
    if (!AllowedInValue(c, query)) {
      const auto byte = static_cast<unsigned char>(c);
      const std::string shown = (byte >= 0x21 && byte < 0x7f)
                                    ? std::string(1, c)
                                    : "0x" + HexEncode(std::span<const uint8_t>(&byte, 1));
      return UriError("attribute '" + std::string(name) + "': character '" + shown +
                      "' must be percent-encoded");
    }
    out.push_back(c);
  }
  return out;
}

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// Text attribute values end up in C strings and fixed-size PKCS#11 fields:
// an embedded NUL would silently cut them.
Status CheckNoNul(std::string_view name, const std::string& value) {
  if (value.find('\0') != std::string::npos) {
    return UriError("attribute '" + std::string(name) + "' contains a NUL byte");
  }
  return OkStatus();
}

Status SetOnce(std::string_view name, std::optional<std::string>& field, std::string value) {
  if (field.has_value()) return UriError("attribute '" + std::string(name) + "' appears twice");
  CUSTOS_RETURN_IF_ERROR(CheckNoNul(name, value));
  field = std::move(value);
  return OkStatus();
}

StatusOr<uint64_t> ParseDecimal(std::string_view name, std::string_view text) {
  if (text.empty() || text.size() > 20) {
    return UriError("attribute '" + std::string(name) + "': '" + std::string(text) +
                    "' is not a decimal number");
  }
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return UriError("attribute '" + std::string(name) + "': '" + std::string(text) +
                      "' is not a decimal number");
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return UriError("attribute '" + std::string(name) + "': '" + std::string(text) +
                      "' is out of range");
    }
    value = value * 10 + digit;
  }
  return value;
}

Status CheckLibraryVersion(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::string_view major = text.substr(0, dot);
  CUSTOS_RETURN_IF_ERROR(ParseDecimal("library-version", major).status());
  if (dot != std::string_view::npos) {
    CUSTOS_RETURN_IF_ERROR(ParseDecimal("library-version", text.substr(dot + 1)).status());
  }
  return OkStatus();
}

Status SetPathAttribute(Pkcs11Uri& uri, std::string_view name, std::string value) {
  if (name == "token") return SetOnce(name, uri.token, std::move(value));
  if (name == "manufacturer") return SetOnce(name, uri.manufacturer, std::move(value));
  if (name == "serial") return SetOnce(name, uri.serial, std::move(value));
  if (name == "model") return SetOnce(name, uri.model, std::move(value));
  if (name == "library-manufacturer") {
    return SetOnce(name, uri.library_manufacturer, std::move(value));
  }
  if (name == "library-description") {
    return SetOnce(name, uri.library_description, std::move(value));
  }
  if (name == "library-version") {
    CUSTOS_RETURN_IF_ERROR(CheckLibraryVersion(value));
    return SetOnce(name, uri.library_version, std::move(value));
  }
  if (name == "object") return SetOnce(name, uri.object, std::move(value));
  if (name == "type") {
    constexpr std::array<std::string_view, 5> kTypes = {"public", "private", "cert", "secret-key",
                                                        "data"};
    bool known = false;
    for (const std::string_view type : kTypes) known = known || type == value;
    if (!known) {
      return UriError("attribute 'type': '" + value +
                      "' is not one of public, private, cert, secret-key, data");
    }
    return SetOnce(name, uri.type, std::move(value));
  }
  if (name == "id") {
    if (uri.id.has_value()) return UriError("attribute 'id' appears twice");
    uri.id = std::vector<uint8_t>(value.begin(), value.end());
    return OkStatus();
  }
  if (name == "slot-description") return SetOnce(name, uri.slot_description, std::move(value));
  if (name == "slot-manufacturer") return SetOnce(name, uri.slot_manufacturer, std::move(value));
  if (name == "slot-id") {
    if (uri.slot_id.has_value()) return UriError("attribute 'slot-id' appears twice");
    CUSTOS_ASSIGN_OR_RETURN(uri.slot_id, ParseDecimal(name, value));
    return OkStatus();
  }
  if (name.starts_with("x-")) {
    CUSTOS_RETURN_IF_ERROR(CheckNoNul(name, value));
    if (!uri.vendor_path.emplace(std::string(name), std::move(value)).second) {
      return UriError("attribute '" + std::string(name) + "' appears twice");
    }
    return OkStatus();
  }
  return UriError("unknown path attribute '" + std::string(name) + "'");
}

Status SetQueryAttribute(Pkcs11Uri& uri, std::string_view name, std::string value) {
  if (name == "module-path") {
    if (value.empty()) return UriError("attribute 'module-path' is empty");
    return SetOnce(name, uri.module_path, std::move(value));
  }
  if (name == "module-name") {
    if (value.empty() || value.find('/') != std::string::npos) {
      return UriError("attribute 'module-name' must be a non-empty name without '/'");
    }
    return SetOnce(name, uri.module_name, std::move(value));
  }
  if (name == "pin-source") {
    if (uri.pin_value.has_value()) return UriError("pin-source and pin-value cannot both be given");
    if (value.empty()) return UriError("attribute 'pin-source' is empty");
    return SetOnce(name, uri.pin_source, std::move(value));
  }
  if (name == "pin-value") {
    if (uri.pin_source.has_value())
      return UriError("pin-source and pin-value cannot both be given");
    if (uri.pin_value.has_value()) return UriError("attribute 'pin-value' appears twice");
    uri.pin_value = SecretBytes(AsBytes(value));
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(value.data()), value.size()));
    return OkStatus();
  }
  if (name.starts_with("x-")) {
    CUSTOS_RETURN_IF_ERROR(CheckNoNul(name, value));
    if (!uri.vendor_query.emplace(std::string(name), std::move(value)).second) {
      return UriError("attribute '" + std::string(name) + "' appears twice");
    }
    return OkStatus();
  }
  return UriError("unknown query attribute '" + std::string(name) + "'");
}

// Parses "name=value" pairs separated by `separator`.
Status ParseAttributes(Pkcs11Uri& uri, std::string_view part, char separator, bool query) {
  std::size_t start = 0;
  while (start <= part.size()) {
    std::size_t end = part.find(separator, start);
    if (end == std::string_view::npos) end = part.size();
    const std::string_view attribute = part.substr(start, end - start);
    const std::string_view where = query ? "query" : "path";
    if (attribute.empty()) {
      return UriError("empty " + std::string(where) + " attribute at offset " +
                      std::to_string(start));
    }
    const std::size_t eq = attribute.find('=');
    if (eq == std::string_view::npos) {
      return UriError(std::string(where) + " attribute '" + std::string(attribute) +
                      "' has no '='");
    }
    const std::string_view name = attribute.substr(0, eq);
    if (name.empty()) {
      return UriError(std::string(where) + " attribute '" + std::string(attribute) +
                      "' has no name");
    }
    for (const char c : name) {
      if (!IsNameChar(c)) {
        return UriError("bad character in " + std::string(where) + " attribute name '" +
                        std::string(name) + "'");
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string value, Decode(name, attribute.substr(eq + 1), query));
    CUSTOS_RETURN_IF_ERROR(query ? SetQueryAttribute(uri, name, std::move(value))
                                 : SetPathAttribute(uri, name, std::move(value)));
    start = end + 1;
  }
  return OkStatus();
}

bool IsRegularFile(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

}  // namespace

StatusOr<Pkcs11Uri> ParsePkcs11Uri(std::string_view uri) {
  if (uri.size() > kMaxPkcs11UriLength) {
    return UriError("longer than " + std::to_string(kMaxPkcs11UriLength) + " bytes");
  }
  if (uri.size() < kScheme.size() || uri.substr(0, kScheme.size()) != kScheme) {
    return UriError("does not start with 'pkcs11:'");
  }
  uri.remove_prefix(kScheme.size());
  if (const std::size_t hash = uri.find('#'); hash != std::string_view::npos) {
    return UriError("fragments ('#' at offset " + std::to_string(hash + kScheme.size()) +
                    ") are not allowed");
  }
  Pkcs11Uri parsed;
  const std::size_t question = uri.find('?');
  const std::string_view path = uri.substr(0, question);
  if (!path.empty()) CUSTOS_RETURN_IF_ERROR(ParseAttributes(parsed, path, ';', false));
  if (question != std::string_view::npos) {
    const std::string_view query = uri.substr(question + 1);
    if (query.empty()) return UriError("empty query after '?'");
    CUSTOS_RETURN_IF_ERROR(ParseAttributes(parsed, query, '&', true));
  }
  return parsed;
}

StatusOr<std::string> ResolvePkcs11ModulePath(const Pkcs11Uri& uri) {
  if (uri.module_path.has_value()) return *uri.module_path;
  if (!uri.module_name.has_value()) return std::string(kDefaultPkcs11Module);
  const std::string& name = *uri.module_name;
  const std::array<std::string, 4> candidates = {
      "/usr/lib/x86_64-linux-gnu/pkcs11/" + name + ".so",
      "/usr/lib/aarch64-linux-gnu/pkcs11/" + name + ".so",
      "/usr/lib/pkcs11/" + name + ".so",
      "/usr/lib/softhsm/" + (name.starts_with("lib") ? name : "lib" + name) + ".so",
  };
  for (const std::string& candidate : candidates) {
    if (IsRegularFile(candidate)) return candidate;
  }
  return NotFoundError("PKCS#11 module-name '" + name + "' matches no module (looked in " +
                       candidates[0] + ", /usr/lib/pkcs11/ and /usr/lib/softhsm/)");
}

StatusOr<SecretBytes> ReadPkcs11Pin(const Pkcs11Uri& uri) {
  if (uri.pin_value.has_value()) {
    if (uri.pin_value->empty()) return InvalidArgumentError("PKCS#11 URI: pin-value is empty");
    return *uri.pin_value;
  }
  if (!uri.pin_source.has_value()) {
    return NotFoundError("PKCS#11 URI carries no PIN (give pin-source=file:PATH or pin-value)");
  }
  std::string_view source = *uri.pin_source;
  if (source.starts_with("file://")) {
    source.remove_prefix(7);
  } else if (source.starts_with("file:")) {
    source.remove_prefix(5);
  } else if (!source.starts_with("/")) {
    return InvalidArgumentError("PKCS#11 URI: pin-source '" + std::string(source) +
                                "' is not file:PATH");
  }
  const std::string path(source);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string message =
        "cannot open PIN file " + path + ": " + std::string(std::strerror(error));
    return error == ENOENT ? NotFoundError(message) : UnavailableError(message);
  }
  SecretBytes pin(kMaxPinFileSize + 1);
  std::size_t used = 0;
  while (used < pin.size()) {
    const ssize_t got = ::read(fd, pin.data() + used, pin.size() - used);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      ::close(fd);
      return UnavailableError("cannot read PIN file " + path + ": " + std::strerror(error));
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  if (used > kMaxPinFileSize) {
    return InvalidArgumentError("PIN file " + path + " is longer than " +
                                std::to_string(kMaxPinFileSize) + " bytes");
  }
  if (used > 0 && pin[used - 1] == '\n') --used;
  if (used > 0 && pin[used - 1] == '\r') --used;
  if (used == 0) return InvalidArgumentError("PIN file " + path + " is empty");
  pin.resize(used);
  return pin;
}

std::string Pkcs11UriEscape(std::string_view value, bool keep_slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (IsUnreserved(c) || (keep_slashes && c == '/')) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace custos::keystore
