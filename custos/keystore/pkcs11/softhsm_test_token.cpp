#include "custos/keystore/pkcs11/softhsm_test_token.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "custos/keystore/pkcs11/softhsm_token.h"

namespace custos::keystore {

StatusOr<SoftHsmTestToken> SoftHsmTestToken::Create(std::string_view label) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (tmp != nullptr && tmp[0] == '/') ? tmp : "/tmp";
  pattern += "/custos-softhsm-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return UnavailableError("cannot create a temporary folder " + pattern + ": " +
                            std::strerror(errno));
  }
  SoftHsmTokenOptions options;
  options.dir = pattern;
  options.label = std::string(label);
  StatusOr<std::string> uri = CreateSoftHsmToken(options);
  if (!uri.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(pattern, ignored);
    return uri.status();
  }
  return SoftHsmTestToken(std::move(pattern), std::string(label), *std::move(uri));
}

SoftHsmTestToken::SoftHsmTestToken(SoftHsmTestToken&& other) noexcept
    : dir_(std::exchange(other.dir_, "")),
      label_(std::move(other.label_)),
      uri_(std::move(other.uri_)) {}

SoftHsmTestToken& SoftHsmTestToken::operator=(SoftHsmTestToken&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    dir_ = std::exchange(other.dir_, "");
    label_ = std::move(other.label_);
    uri_ = std::move(other.uri_);
  }
  return *this;
}

SoftHsmTestToken::~SoftHsmTestToken() {
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace custos::keystore

// LeakSanitizer: SoftHSM 2.6.1 leaks an ASN1 string in every C_SignInit with
// an EdDSA key (inside libsofthsm2's curve-parameter decoding), which is not
// ours to fix. Tests that use SoftHsmTestToken link this file, so the
// suppression applies only to them and names only that library; the slow
// unwinder is needed to see libsofthsm2 in the stack (it and libcrypto have
// no frame pointers). Outside sanitizer builds nothing calls these functions.
extern "C" const char*
__lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier,readability-identifier-naming)
  return "leak:libsofthsm2.so\n";
}
extern "C" const char*
__asan_default_options() {  // NOLINT(bugprone-reserved-identifier,readability-identifier-naming)
  return "fast_unwind_on_malloc=0";
}
