// Fuzzes the KAT reader: byte 0 picks the format, the rest is the file.
#include <cstdint>
#include <string_view>

#include "custos/core/kat_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const custos::KatFormat formats[] = {custos::KatFormat::kKeyValue, custos::KatFormat::kColon,
                                       custos::KatFormat::kNessie};
  custos::KatFormat format = formats[data[0] % 3];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto records = custos::ParseKat(text, format);
  if (!records.ok()) return 0;
  for (const custos::KatRecord& record : *records) {
    for (const auto& [name, value] : record.fields()) {
      (void)record.GetBytes(name);
      (void)record.GetInt(name);
    }
  }
  return 0;
}
