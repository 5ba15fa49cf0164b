// Fuzzes the keyset JSON parser: any input gives a Status; an accepted
// keyset must survive ToJson -> FromJson unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/core/ct.h"
#include "custos/crypto/keyset.h"
#include "custos/crypto/registry.h"

namespace {

const custos::lwc::AlgorithmRegistry& Registry() {
  static const auto* registry = [] {
    auto r = custos::crypto::NewDefaultRegistry();
    if (!r.ok()) std::abort();
    return new std::shared_ptr<const custos::lwc::AlgorithmRegistry>(*r);
  }();
  return **registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto keyset = custos::crypto::Keyset::FromJson(text, Registry());
  if (!keyset.ok()) return 0;
  auto again = custos::crypto::Keyset::FromJson(keyset->ToJson(), Registry());
  if (!again.ok() || again->keys().size() != keyset->keys().size() ||
      again->primary_key_id() != keyset->primary_key_id()) {
    std::abort();
  }
  for (std::size_t i = 0; i < keyset->keys().size(); ++i) {
    if (!custos::CtEqual(keyset->keys()[i].key.span(), again->keys()[i].key.span())) std::abort();
  }
  return 0;
}
