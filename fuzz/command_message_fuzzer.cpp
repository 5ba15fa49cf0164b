// Fuzzes the command message parser (custos/net/telemetry_channel.h): any
// input gives a Status, never a crash; an accepted command survives
// serialize -> parse unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/net/telemetry_channel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto command = custos::net::ParseCommandMessage(text);
  if (!command.ok()) return 0;
  auto again = custos::net::ParseCommandMessage(custos::net::CommandMessageToJson(*command));
  if (!again.ok() || again->id != command->id || again->command != command->command ||
      again->issued_ms != command->issued_ms) {
    std::abort();
  }
  return 0;
}
