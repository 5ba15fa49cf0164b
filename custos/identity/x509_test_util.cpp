#include "custos/identity/x509_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace custos::identity::testing {

StatusOr<SigningKey> TestPki::NewKey(keystore::KeyType type) {
  std::string label = "test-key-" + std::to_string(next_label_++);
  CUSTOS_RETURN_IF_ERROR(store_->Generate(type, label).status());
  return SigningKey{store_, label};
}

StatusOr<TestCa> TestPki::Root(std::string_view name, keystore::KeyType type) {
  CUSTOS_ASSIGN_OR_RETURN(SigningKey key, NewKey(type));
  CertificateTemplate tmpl;
  tmpl.common_name = std::string(name);
  tmpl.organization = "test fleet";
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, store_->ExportPublicKey(key.label));
  tmpl.not_before = kNow - kDay;
  tmpl.not_after = kNow + 3650 * kDay;
  tmpl.is_ca = true;
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, IssueCertificate(tmpl, nullptr, key));
  return TestCa{std::move(cert), std::move(key)};
}

StatusOr<TestCa> TestPki::Intermediate(const TestCa& parent, std::string_view name,
                                       keystore::KeyType type, int path_length) {
  CUSTOS_ASSIGN_OR_RETURN(SigningKey key, NewKey(type));
  CertificateTemplate tmpl;
  tmpl.common_name = std::string(name);
  tmpl.organization = "test fleet";
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, store_->ExportPublicKey(key.label));
  tmpl.not_before = parent.cert.not_before();
  tmpl.not_after = parent.cert.not_after();
  tmpl.is_ca = true;
  tmpl.path_length = path_length;
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, IssueCertificate(tmpl, &parent.cert, parent.key));
  return TestCa{std::move(cert), std::move(key)};
}

StatusOr<Certificate> TestPki::Device(const TestCa& issuer, std::string_view device_id,
                                      int64_t not_before, int64_t not_after,
                                      keystore::KeyType type) {
  CUSTOS_ASSIGN_OR_RETURN(SigningKey key, NewKey(type));
  CertificateTemplate tmpl;
  tmpl.device_id = std::string(device_id);
  tmpl.organization = "test fleet";
  CUSTOS_ASSIGN_OR_RETURN(tmpl.subject_public_key, store_->ExportPublicKey(key.label));
  tmpl.not_before = not_before;
  tmpl.not_after = not_after;
  return IssueCertificate(tmpl, &issuer.cert, issuer.key);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "custos-x509-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Write(std::string_view name, std::string_view content) const {
  const std::string path = path_ + "/" + std::string(name);
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return path;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace custos::identity::testing
