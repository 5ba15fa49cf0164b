// Fuzzes ParseRotateBody, the parser of the POST /v1/rotate request body
// (custos/server/api_messages.h): it must never crash or throw, and an accepted body must survive
// writing it out and parsing it again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "custos/server/api_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = custos::server::ParseRotateBody(text);
  if (parsed.ok()) {
    auto again = custos::server::ParseRotateBody(custos::server::RotateBodyToJson(*parsed));
    if (!again.ok()) __builtin_trap();
  }
  return 0;
}
