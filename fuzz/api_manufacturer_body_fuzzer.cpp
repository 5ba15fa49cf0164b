// Fuzzes ParseManufacturerBody, the parser of the POST /v1/manufacturers request body
// (custos/server/api_messages.h): it must never crash or throw, an accepted body holds a CA
// certificate, and it must survive writing it out and parsing it again (same certificate).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "custos/server/api_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = custos::server::ParseManufacturerBody(text);
  if (parsed.ok()) {
    if (!parsed->certificate.is_ca()) __builtin_trap();
    auto again =
        custos::server::ParseManufacturerBody(custos::server::ManufacturerBodyToJson(*parsed));
    if (!again.ok() || again->certificate.der() != parsed->certificate.der()) __builtin_trap();
  }
  return 0;
}
