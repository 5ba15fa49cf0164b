// File: custos/store/store_test_util.h
//
// Test helpers of the store module: a temporary folder removed with its
// contents when the helper goes out of scope.
#ifndef CUSTOS_STORE_STORE_TEST_UTIL_H_
#define CUSTOS_STORE_STORE_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace custos::store {

// A fresh folder under the system's temporary folder, removed (with
// everything in it) on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "custos-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // The folder's path ("" if it could not be created).
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace custos::store

#endif  // CUSTOS_STORE_STORE_TEST_UTIL_H_
