#include "custos/keystore/internal/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "custos/core/random.h"

namespace custos::keystore::internal {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

Status IoError(std::string_view what, const std::string& path) {
  return UnavailableError("cannot " + std::string(what) + " '" + path + "': " + ErrnoText());
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports whether close succeeded.
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

bool WriteAll(int fd, std::span<const uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads the whole of `path` into `out` (which has a resize and data()).
template <typename Buffer>
Status ReadInto(const std::string& path, std::size_t max_bytes, Buffer& out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFoundError("'" + path + "' does not exist");
    return IoError("open", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("stat", path);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return ResourceExhaustedError("'" + path + "' is larger than " + std::to_string(max_bytes) +
                                  " bytes");
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read", path);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return OkStatus();
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Status SyncDirectory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("open folder", path);
  if (::fsync(fd.get()) != 0) return IoError("fsync folder", path);
  return OkStatus();
}

Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> data, mode_t mode) {
  std::array<uint8_t, 8> suffix{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(suffix));
  std::string tmp = path + ".tmp-";
  for (uint8_t b : suffix) tmp += "0123456789abcdef"[b & 0xf];
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return IoError("create", tmp);
  Status status = OkStatus();
  if (!WriteAll(fd.get(), data)) {
    status = IoError("write", tmp);
  } else if (::fsync(fd.get()) != 0) {
    status = IoError("fsync", tmp);
  } else if (!fd.Close()) {
    status = IoError("close", tmp);
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    status = IoError("rename over", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return SyncDirectory(DirectoryOf(path));
}

Status CreateFileExclusively(const std::string& path, std::span<const uint8_t> data, mode_t mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) return AlreadyExistsError("'" + path + "' exists already");
    return IoError("create", path);
  }
  if (!WriteAll(fd.get(), data) || ::fsync(fd.get()) != 0 || !fd.Close()) {
    Status status = IoError("write", path);
    ::unlink(path.c_str());
    return status;
  }
  return SyncDirectory(DirectoryOf(path));
}

StatusOr<SecretBytes> ReadFileSecret(const std::string& path, std::size_t max_bytes) {
  SecretBytes out;
  CUSTOS_RETURN_IF_ERROR(ReadInto(path, max_bytes, out));
  return out;
}

StatusOr<std::string> ReadFileText(const std::string& path, std::size_t max_bytes) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(ReadInto(path, max_bytes, out));
  return out;
}

Status OverwriteAndUnlink(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFoundError("'" + path + "' does not exist");
    return IoError("open", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("stat", path);
  // Overwriting does not reach copies a journaling or copy-on-write file
  // system keeps elsewhere; it removes the plain copy in place.
  const std::vector<uint8_t> zeros(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)), 0);
  if (!WriteAll(fd.get(), zeros) || ::fsync(fd.get()) != 0) return IoError("overwrite", path);
  if (!fd.Close()) return IoError("close", path);
  if (::unlink(path.c_str()) != 0) return IoError("unlink", path);
  return SyncDirectory(DirectoryOf(path));
}

Status AppendLine(const std::string& path, std::string_view line, mode_t mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode));
  if (fd.get() < 0) return IoError("open", path);
  std::string text(line);
  text += '\n';
  if (!WriteAll(fd.get(), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                                   text.size())) ||
      ::fsync(fd.get()) != 0) {
    return IoError("append to", path);
  }
  if (!fd.Close()) return IoError("close", path);
  return OkStatus();
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return InvalidArgumentError("empty folder name");
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return IoError("create folder", prefix);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("'" + path + "' is not a folder");
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (dir == nullptr) {
    if (errno == ENOENT) return NotFoundError("folder '" + path + "' does not exist");
    return IoError("open folder", path);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace custos::keystore::internal
