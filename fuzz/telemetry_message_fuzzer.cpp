// Fuzzes the telemetry message parser (custos/net/telemetry_channel.h): any
// input gives a Status, never a crash; an accepted message survives
// serialize -> parse unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/net/telemetry_channel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto message = custos::net::ParseTelemetryMessage(text);
  if (!message.ok()) return 0;
  auto again = custos::net::ParseTelemetryMessage(custos::net::TelemetryMessageToJson(*message));
  if (!again.ok() || again->type != message->type || again->device != message->device ||
      again->seq != message->seq || again->sent_us != message->sent_us ||
      again->profile != message->profile || again->values != message->values) {
    std::abort();
  }
  return 0;
}
