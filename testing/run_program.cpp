#include "testing/run_program.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace custos::testing {
namespace {

// A temporary file, removed (and its descriptor closed) on destruction.
class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/custos-run-XXXXXX";
    fd_ = ::mkstemp(path_.data());
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }

  // Everything in the file, read from the start.
  std::string ReadAll() const {
    std::string data;
    ::lseek(fd_, 0, SEEK_SET);
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd_, buffer, sizeof(buffer))) > 0) {
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

ProgramResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                         const std::string& input) {
  TempFile in, out, err;
  ProgramResult result;
  if (in.fd() < 0 || out.fd() < 0 || err.fd() < 0) return result;
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::write(in.fd(), input.data() + written, input.size() - written);
    if (n <= 0) return result;
    written += static_cast<std::size_t>(n);
  }
  ::lseek(in.fd(), 0, SEEK_SET);
  std::vector<std::string> words = {program};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in.fd(), 0);
    ::dup2(out.fd(), 1);
    ::dup2(err.fd(), 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) return result;
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = out.ReadAll();
  result.err = err.ReadAll();
  return result;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace custos::testing
