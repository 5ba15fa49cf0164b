// Fuzzes ParseDeviceListQuery, the parser of GET /v1/devices's query parameters
// (custos/server/api_messages.h). The input is split like a query string
// ("a=b&c=d"); the parser must never crash, and an accepted query must survive
// DeviceListQueryString and parsing again.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "custos/server/api_messages.h"

namespace {

std::multimap<std::string, std::string> Split(std::string_view text) {
  std::multimap<std::string, std::string> params;
  while (!text.empty()) {
    std::string_view pair = text.substr(0, text.find('&'));
    text.remove_prefix(pair.size() == text.size() ? text.size() : pair.size() + 1);
    const std::size_t eq = pair.find('=');
    params.emplace(std::string(pair.substr(0, eq)),
                   eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1)));
  }
  return params;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = custos::server::ParseDeviceListQuery(Split(text));
  if (parsed.ok()) {
    // Only ids and statuses pass, so the query string needs no decoding.
    std::string query = custos::server::DeviceListQueryString(*parsed).substr(1);
    auto again = custos::server::ParseDeviceListQuery(Split(query));
    if (!again.ok() || again->limit != parsed->limit || again->after != parsed->after ||
        again->status != parsed->status) {
      __builtin_trap();
    }
  }
  return 0;
}
