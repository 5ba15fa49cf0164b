#include "custos/identity/device_registry.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "custos/core/hex.h"

namespace custos::identity {
namespace {

using Json = nlohmann::json;

constexpr char kJournalName[] = "registry.jsonl";
constexpr std::size_t kMaxDocumentBytes = 4 * 1024 * 1024;
constexpr std::size_t kChecksumHexChars = 16;

std::string ErrnoText() { return std::strerror(errno); }

std::string Checksum(std::string_view text) {
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return HexEncode(std::span<const uint8_t>(digest.data(), kChecksumHexChars / 2));
}

// --- JSON forms of the records (the journal's contents) ---------------------

Json TokenToJson(const TokenRecord& t) {
  return Json{{"hash", t.hash},
              {"hash_alg", t.hash_algorithm},
              {"device_id", t.device_id},
              {"created_at", t.created_at},
              {"expires_at", t.expires_at}};
}

TokenRecord TokenFromJson(const Json& j) {
  TokenRecord t;
  t.hash = j.at("hash").get<std::string>();
  t.hash_algorithm = j.at("hash_alg").get<std::string>();
  t.device_id = j.at("device_id").get<std::string>();
  t.created_at = j.at("created_at").get<int64_t>();
  t.expires_at = j.at("expires_at").get<int64_t>();
  return t;
}

Json CertToJson(const IssuedCertificateRecord& c) {
  return Json{{"serial", c.serial},
              {"device_id", c.device_id},
              {"key_type", c.key_type},
              {"issuer_key_type", c.issuer_key_type},
              {"issuer_generation", c.issuer_generation},
              {"fingerprint", c.fingerprint},
              {"issued_at", c.issued_at},
              {"not_before", c.not_before},
              {"not_after", c.not_after},
              {"method", c.method},
              {"replaces", c.replaces},
              {"certificate", c.certificate_der_base64}};
}

IssuedCertificateRecord CertFromJson(const Json& j) {
  IssuedCertificateRecord c;
  c.serial = j.at("serial").get<std::string>();
  c.device_id = j.at("device_id").get<std::string>();
  c.key_type = j.at("key_type").get<std::string>();
  c.issuer_key_type = j.at("issuer_key_type").get<std::string>();
  c.issuer_generation = j.at("issuer_generation").get<int>();
  c.fingerprint = j.at("fingerprint").get<std::string>();
  c.issued_at = j.at("issued_at").get<int64_t>();
  c.not_before = j.at("not_before").get<int64_t>();
  c.not_after = j.at("not_after").get<int64_t>();
  c.method = j.at("method").get<std::string>();
  c.replaces = j.at("replaces").get<std::string>();
  c.certificate_der_base64 = j.at("certificate").get<std::string>();
  return c;
}

Json UpdateToJson(const RegistryUpdate& u) {
  Json j = Json::object();
  if (!u.new_tokens.empty()) {
    Json tokens = Json::array();
    for (const TokenRecord& t : u.new_tokens) tokens.push_back(TokenToJson(t));
    j["new_tokens"] = std::move(tokens);
  }
  if (u.consume_token) {
    j["consume_token"] = {{"hash", u.consume_token->hash},
                          {"device_id", u.consume_token->device_id},
                          {"at", u.consume_token->at}};
  }
  if (u.issued) j["issued"] = CertToJson(*u.issued);
  if (!u.revocations.empty()) {
    Json revocations = Json::array();
    for (const Revocation& r : u.revocations) {
      revocations.push_back({{"serial", r.serial},
                             {"recorded_at", r.recorded_at},
                             {"effective_at", r.effective_at},
                             {"reason", r.reason}});
    }
    j["revocations"] = std::move(revocations);
  }
  if (u.crl_number) j["crl_number"] = *u.crl_number;
  return j;
}

RegistryUpdate UpdateFromJson(const Json& j) {
  RegistryUpdate u;
  if (j.contains("new_tokens")) {
    for (const Json& t : j.at("new_tokens")) u.new_tokens.push_back(TokenFromJson(t));
  }
  if (j.contains("consume_token")) {
    const Json& c = j.at("consume_token");
    u.consume_token = TokenUse{c.at("hash").get<std::string>(),
                               c.at("device_id").get<std::string>(), c.at("at").get<int64_t>()};
  }
  if (j.contains("issued")) u.issued = CertFromJson(j.at("issued"));
  if (j.contains("revocations")) {
    for (const Json& r : j.at("revocations")) {
      u.revocations.push_back(
          Revocation{r.at("serial").get<std::string>(), r.at("recorded_at").get<int64_t>(),
                     r.at("effective_at").get<int64_t>(), r.at("reason").get<std::string>()});
    }
  }
  if (j.contains("crl_number")) u.crl_number = j.at("crl_number").get<uint64_t>();
  return u;
}

// --- the state both registries keep -----------------------------------------

class RegistryState {
 public:
  Status Validate(const RegistryUpdate& u) const {
    std::map<std::string, bool> new_hashes;
    for (const TokenRecord& t : u.new_tokens) {
      if (tokens_.count(t.hash) != 0 || !new_hashes.emplace(t.hash, true).second) {
        return AlreadyExistsError("an enrollment token with this hash is already recorded");
      }
    }
    if (u.consume_token) {
      auto it = tokens_.find(u.consume_token->hash);
      if (it == tokens_.end()) return UnauthenticatedError("enrollment token not recognised");
      CUSTOS_RETURN_IF_ERROR(CheckTokenUse(it->second, *u.consume_token));
    }
    if (u.issued && certs_.count(u.issued->serial) != 0) {
      return AlreadyExistsError("a certificate with serial " + u.issued->serial +
                                " is already recorded");
    }
    for (const Revocation& r : u.revocations) {
      if (certs_.count(r.serial) == 0 && !(u.issued && u.issued->serial == r.serial)) {
        return NotFoundError("no certificate with serial " + r.serial + " was issued by this CA");
      }
    }
    if (u.crl_number && *u.crl_number <= crl_number_) {
      return FailedPreconditionError("CRL number " + std::to_string(*u.crl_number) +
                                     " is not above the last one (" + std::to_string(crl_number_) +
                                     ")");
    }
    return OkStatus();
  }

  void ApplyValidated(const RegistryUpdate& u) {
    for (const TokenRecord& t : u.new_tokens) tokens_[t.hash] = t;
    if (u.consume_token) {
      TokenRecord& t = tokens_[u.consume_token->hash];
      t.consumed = true;
      t.consumed_at = u.consume_token->at;
      t.consumed_by = u.consume_token->device_id;
    }
    if (u.issued) {
      certs_[u.issued->serial] = *u.issued;
      by_device_[u.issued->device_id].push_back(u.issued->serial);
    }
    for (const Revocation& r : u.revocations) {
      IssuedCertificateRecord& c = certs_[r.serial];
      // A later revocation may only bring the effective time forward.
      if (!c.revoked || r.effective_at < c.revocation_effective_at) {
        c.revoked = true;
        c.revoked_at = r.recorded_at;
        c.revocation_effective_at = r.effective_at;
        c.revocation_reason = r.reason;
      }
    }
    if (u.crl_number) crl_number_ = *u.crl_number;
  }

  std::optional<TokenRecord> FindToken(std::string_view hash) const {
    auto it = tokens_.find(std::string(hash));
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<IssuedCertificateRecord> FindCertificate(std::string_view serial) const {
    auto it = certs_.find(std::string(serial));
    if (it == certs_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<IssuedCertificateRecord> CertificatesOf(std::string_view device_id) const {
    std::vector<IssuedCertificateRecord> out;
    auto it = by_device_.find(std::string(device_id));
    if (it == by_device_.end()) return out;
    for (const std::string& serial : it->second) out.push_back(certs_.at(serial));
    return out;
  }
  std::vector<IssuedCertificateRecord> Revoked() const {
    std::vector<IssuedCertificateRecord> out;
    for (const auto& [serial, c] : certs_) {
      if (c.revoked) out.push_back(c);
    }
    return out;
  }
  std::vector<TokenRecord> Tokens() const {
    std::vector<TokenRecord> out;
    out.reserve(tokens_.size());
    for (const auto& [hash, t] : tokens_) out.push_back(t);
    return out;
  }
  uint64_t crl_number() const { return crl_number_; }

 private:
  std::map<std::string, TokenRecord> tokens_;
  std::map<std::string, IssuedCertificateRecord> certs_;
  std::map<std::string, std::vector<std::string>> by_device_;
  uint64_t crl_number_ = 0;
};

Status CheckDocumentName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.';
  for (char c : name) {
    ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  }
  if (!ok) return InvalidArgumentError("bad registry document name '" + std::string(name) + "'");
  return OkStatus();
}

// A registry whose queries all answer from `state_`; subclasses decide how
// the state is kept current and how updates persist.
class StateRegistry : public DeviceRegistry {
 public:
  StatusOr<std::optional<TokenRecord>> FindToken(std::string_view hash) override {
    CUSTOS_RETURN_IF_ERROR(Refresh());
    return state_.FindToken(hash);
  }
  StatusOr<std::optional<IssuedCertificateRecord>> FindCertificate(
      std::string_view serial) override {
    CUSTOS_RETURN_IF_ERROR(Refresh());
    return state_.FindCertificate(serial);
  }
  StatusOr<std::vector<IssuedCertificateRecord>> CertificatesOf(
      std::string_view device_id) override {
    CUSTOS_RETURN_IF_ERROR(Refresh());
    return state_.CertificatesOf(device_id);
  }
  StatusOr<std::vector<IssuedCertificateRecord>> RevokedCertificates() override {
    CUSTOS_RETURN_IF_ERROR(Refresh());
    return state_.Revoked();
  }
  StatusOr<std::vector<TokenRecord>> Tokens() override {
    CUSTOS_RETURN_IF_ERROR(Refresh());
    return state_.Tokens();
  }
  StatusOr<uint64_t> LastCrlNumber() override {
    CUSTOS_RETURN_IF_ERROR(Refresh());
    return state_.crl_number();
  }

 protected:
  // Brings `state_` up to date with the persistent form.
  virtual Status Refresh() = 0;
  RegistryState state_;
};

class InMemoryRegistry final : public StateRegistry {
 public:
  Status Apply(const RegistryUpdate& update) override {
    CUSTOS_RETURN_IF_ERROR(state_.Validate(update));
    state_.ApplyValidated(update);
    return OkStatus();
  }
  StatusOr<std::optional<std::string>> ReadDocument(std::string_view name) override {
    CUSTOS_RETURN_IF_ERROR(CheckDocumentName(name));
    auto it = documents_.find(std::string(name));
    if (it == documents_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status WriteDocument(std::string_view name, std::string_view content) override {
    CUSTOS_RETURN_IF_ERROR(CheckDocumentName(name));
    documents_[std::string(name)] = std::string(content);
    return OkStatus();
  }

 protected:
  Status Refresh() override { return OkStatus(); }

 private:
  std::map<std::string, std::string> documents_;
};

// Holds an flock(2) on a file descriptor for its lifetime.
class FileLock {
 public:
  FileLock(int fd, bool exclusive) : fd_(fd) {
    while ((ok_ = ::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) == 0) == false && errno == EINTR) {
    }
  }
  ~FileLock() {
    if (ok_) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_ = false;
};

class FileRegistry final : public StateRegistry {
 public:
  FileRegistry(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  ~FileRegistry() override { ::close(fd_); }
  FileRegistry(const FileRegistry&) = delete;
  FileRegistry& operator=(const FileRegistry&) = delete;

  Status Apply(const RegistryUpdate& update) override {
    FileLock lock(fd_, /*exclusive=*/true);
    if (!lock.ok()) return UnavailableError("cannot lock " + JournalPath() + ": " + ErrnoText());
    CUSTOS_RETURN_IF_ERROR(ReadNewLines(/*may_truncate=*/true));
    CUSTOS_RETURN_IF_ERROR(state_.Validate(update));
    const std::string json = UpdateToJson(update).dump();
    const std::string line = Checksum(json) + " " + json + "\n";
    std::size_t written = 0;
    while (written < line.size()) {
      ssize_t n = ::pwrite(fd_, line.data() + written, line.size() - written,
                           static_cast<off_t>(offset_ + written));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = ErrnoText();
        (void)::ftruncate(fd_, static_cast<off_t>(offset_));
        return UnavailableError("cannot append to " + JournalPath() + ": " + why);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd_) != 0) {
      const std::string why = ErrnoText();
      (void)::ftruncate(fd_, static_cast<off_t>(offset_));
      return UnavailableError("cannot sync " + JournalPath() + ": " + why);
    }
    offset_ += line.size();
    ++line_number_;
    state_.ApplyValidated(update);
    return OkStatus();
  }

  StatusOr<std::optional<std::string>> ReadDocument(std::string_view name) override {
    CUSTOS_RETURN_IF_ERROR(CheckDocumentName(name));
    StatusOr<std::string> text = ReadFileBounded(dir_ + "/" + std::string(name), kMaxDocumentBytes);
    if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    if (!text.ok()) return text.status();
    return std::optional<std::string>(*std::move(text));
  }

  Status WriteDocument(std::string_view name, std::string_view content) override {
    CUSTOS_RETURN_IF_ERROR(CheckDocumentName(name));
    return WriteFileAtomically(dir_ + "/" + std::string(name), content, 0644);
  }

  Status Load() { return Refresh(); }

 protected:
  Status Refresh() override {
    FileLock lock(fd_, /*exclusive=*/false);
    if (!lock.ok()) return UnavailableError("cannot lock " + JournalPath() + ": " + ErrnoText());
    return ReadNewLines(/*may_truncate=*/false);
  }

 private:
  std::string JournalPath() const { return dir_ + "/" + kJournalName; }

  // Applies the complete lines appended since `offset_`. A torn last line is
  // left out and, when `may_truncate` (exclusive lock held), cut off.
  Status ReadNewLines(bool may_truncate) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return UnavailableError("cannot stat " + JournalPath());
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size < offset_) {
      return DataLossError(JournalPath() + " shrank from " + std::to_string(offset_) + " to " +
                           std::to_string(size) + " bytes");
    }
    if (size == offset_) return OkStatus();
    std::string tail(size - offset_, '\0');
    std::size_t got = 0;
    while (got < tail.size()) {
      ssize_t n =
          ::pread(fd_, tail.data() + got, tail.size() - got, static_cast<off_t>(offset_ + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return UnavailableError("cannot read " + JournalPath() + ": " + ErrnoText());
      got += static_cast<std::size_t>(n);
    }
    std::size_t start = 0;
    for (std::size_t end = tail.find('\n'); end != std::string::npos;
         start = end + 1, end = tail.find('\n', start)) {
      const std::string_view line(tail.data() + start, end - start);
      const std::string where = JournalPath() + " line " + std::to_string(line_number_ + 1);
      if (line.size() < kChecksumHexChars + 2 || line[kChecksumHexChars] != ' ') {
        return DataLossError(where + " is malformed");
      }
      const std::string_view json = line.substr(kChecksumHexChars + 1);
      if (Checksum(json) != line.substr(0, kChecksumHexChars)) {
        return DataLossError(where + " fails its checksum");
      }
      RegistryUpdate update;
      try {
        update = UpdateFromJson(Json::parse(json));
      } catch (const Json::exception& e) {
        return DataLossError(where + " is not a valid record: " + e.what());
      }
      Status valid = state_.Validate(update);
      if (!valid.ok()) return DataLossError(where + " does not apply: " + valid.ToString());
      state_.ApplyValidated(update);
      ++line_number_;
      offset_ += line.size() + 1;
    }
    if (start < tail.size() && may_truncate) {
      // A crash cut the last append short; that update never happened.
      if (::ftruncate(fd_, static_cast<off_t>(offset_)) != 0) {
        return UnavailableError("cannot cut the torn end of " + JournalPath());
      }
    }
    return OkStatus();
  }

  std::string dir_;
  int fd_;
  std::size_t offset_ = 0;
  std::size_t line_number_ = 0;
};

}  // namespace

Status CheckTokenUse(const TokenRecord& token, const TokenUse& use) {
  if (token.consumed) {
    return PermissionDeniedError("enrollment token was already used (at " +
                                 std::to_string(token.consumed_at) + " by device '" +
                                 token.consumed_by + "')");
  }
  if (use.at >= token.expires_at) {
    return PermissionDeniedError("enrollment token expired at " + std::to_string(token.expires_at) +
                                 " (unix time)");
  }
  if (!token.device_id.empty() && token.device_id != use.device_id) {
    return PermissionDeniedError("enrollment token is bound to device '" + token.device_id +
                                 "', not '" + use.device_id + "'");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<DeviceRegistry>> OpenFileDeviceRegistry(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFoundError("CA folder '" + dir + "' does not exist");
  }
  const std::string path = dir + "/" + kJournalName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot open " + path + ": " + ErrnoText());
  auto registry = std::make_unique<FileRegistry>(dir, fd);
  CUSTOS_RETURN_IF_ERROR(registry->Load());
  return std::unique_ptr<DeviceRegistry>(std::move(registry));
}

std::unique_ptr<DeviceRegistry> NewInMemoryDeviceRegistry() {
  return std::make_unique<InMemoryRegistry>();
}

Status WriteFileAtomically(const std::string& path, std::string_view content, unsigned mode) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return UnavailableError("cannot create a temporary file beside " + path);
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  std::size_t written = 0;
  while (ok && written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = ErrnoText();
    ::unlink(tmp.c_str());
    return UnavailableError("cannot write " + path + ": " + why);
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return OkStatus();
}

StatusOr<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("'" + path + "' does not exist");
    return UnavailableError("cannot open '" + path + "': " + ErrnoText());
  }
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return UnavailableError("cannot read '" + path + "': " + ErrnoText());
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      ::close(fd);
      return InvalidArgumentError("'" + path + "' is larger than " + std::to_string(max_bytes) +
                                  " bytes");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace custos::identity
