// Fuzzes opening sealed telemetry (custos/net/telemetry_channel.h): any byte
// string gives a Status, never a crash or an out-of-bounds read; the first
// byte picks the topic. A channel between two in-memory keys is made once per
// process (its key is random, so tags of the corpus never verify: this
// exercises the envelope checks in front of the AEAD). As a sanity check,
// every input that fits is also sealed and must open again.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "custos/keystore/soft_key_store.h"
#include "custos/net/telemetry_channel.h"

namespace {

const custos::net::TelemetryChannel& Channel() {
  static const custos::net::TelemetryChannel* channel = [] {
    auto device = custos::keystore::NewInMemorySoftKeyStore();
    auto server = custos::keystore::NewInMemorySoftKeyStore();
    if (!device->Generate(custos::keystore::KeyType::kX25519, "t").ok() ||
        !server->Generate(custos::keystore::KeyType::kX25519, "t").ok()) {
      std::abort();
    }
    auto device_spki = device->ExportPublicKey("t");
    auto server_spki = server->ExportPublicKey("t");
    if (!device_spki.ok() || !server_spki.ok()) std::abort();
    auto made = custos::net::TelemetryChannel::Derive(*device, "t", *device_spki, *server_spki,
                                                      "fuzz-device", true);
    if (!made.ok()) std::abort();
    return new custos::net::TelemetryChannel(*std::move(made));
  }();
  return *channel;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view topic =
      (data[0] & 1) != 0 ? "devices/fuzz-device/commands" : "devices/fuzz-device/telemetry";
  std::span<const uint8_t> sealed(data + 1, size - 1);
  (void)custos::net::SealedKeyId(sealed);
  auto opened = Channel().Open(sealed, topic);
  if (opened.ok() && opened->size() + custos::net::kTelemetrySealOverhead != sealed.size()) {
    std::abort();
  }
  if (sealed.size() <= custos::net::kMaxTelemetryPlaintextBytes) {
    auto round = Channel().Seal(sealed, topic);
    if (!round.ok()) std::abort();
    auto back = Channel().Open(*round, topic);
    if (!back.ok() || *back != std::vector<uint8_t>(sealed.begin(), sealed.end())) std::abort();
  }
  return 0;
}
