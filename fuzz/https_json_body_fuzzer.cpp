// Fuzzes ParseJsonBody, the HTTPS API's request-body parser: it must never
// crash or throw, and an accepted body is a JSON object that re-serialises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "custos/net/https_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = custos::net::ParseJsonBody(body);
  if (parsed.ok()) {
    if (!parsed->is_object()) __builtin_trap();
    (void)parsed->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
