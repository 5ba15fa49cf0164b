#include "testing/test_data.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace custos::testing {

std::string TestDataPath(std::string_view relative) {
  const char* env = std::getenv("CUSTOS_DATA_DIR");
  std::string root = (env != nullptr && *env != '\0') ? env : CUSTOS_DEFAULT_DATA_DIR;
  return root + "/" + std::string(relative);
}

std::vector<KatRecord> LoadKat(std::string_view relative, KatFormat format) {
  std::string path = TestDataPath(relative);
  StatusOr<std::vector<KatRecord>> records = ReadKatFile(path, format);
  if (!records.ok()) {
    ADD_FAILURE() << "cannot load " << path << ": " << records.status().ToString();
    return {};
  }
  if (records->empty()) ADD_FAILURE() << path << " holds no records";
  return *std::move(records);
}

}  // namespace custos::testing
