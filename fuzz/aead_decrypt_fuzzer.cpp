// Fuzzes the decryption of every AEAD of the registry. Input layout:
// byte 0 selects the algorithm, byte 1 the AD length, then nonce, AD and
// ciphertext||tag. Random input must never verify or crash; and every input
// used as a plaintext must seal and open back to itself.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "custos/crypto/registry.h"

namespace {

struct Algorithms {
  std::vector<custos::lwc::AlgorithmInfo> aeads;
  std::vector<std::unique_ptr<custos::lwc::NonceAead>> objects;
};

const Algorithms& All() {
  static const Algorithms* all = [] {
    auto registry = custos::crypto::NewDefaultRegistry();
    if (!registry.ok()) std::abort();
    auto* result = new Algorithms;
    for (const auto& info : (*registry)->List()) {
      if (info.kind != custos::lwc::AlgorithmKind::kAead) continue;
      std::vector<uint8_t> key(info.key_size);
      for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
      auto aead = (*registry)->NewAead(info.name, key);
      if (!aead.ok()) std::abort();
      result->aeads.push_back(info);
      result->objects.push_back(*std::move(aead));
    }
    return result;
  }();
  return *all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const Algorithms& all = All();
  const std::size_t which = data[0] % all.aeads.size();
  const custos::lwc::NonceAead& aead = *all.objects[which];
  std::span<const uint8_t> rest(data + 2, size - 2);
  if (rest.size() < aead.nonce_size()) return 0;
  std::span<const uint8_t> nonce = rest.first(aead.nonce_size());
  rest = rest.subspan(aead.nonce_size());
  const std::size_t ad_size = std::min<std::size_t>(data[1], rest.size());
  std::span<const uint8_t> ad = rest.first(ad_size);
  std::span<const uint8_t> body = rest.subspan(ad_size);

  // Random bytes as ciphertext: opening must fail cleanly (a forgery here
  // would be a 2^-64 event at worst, Grain's tag being 8 bytes).
  auto opened = aead.Open(nonce, ad, body);
  if (opened.ok() && body.size() >= aead.tag_size() + 8) std::abort();

  // The same bytes as plaintext: seal then open must round-trip, in place too.
  auto sealed = aead.Seal(nonce, ad, body);
  if (!sealed.ok()) std::abort();
  auto back = aead.Open(nonce, ad, *sealed);
  if (!back.ok() || !std::equal(back->begin(), back->end(), body.begin(), body.end())) std::abort();
  std::vector<uint8_t> in_place = *sealed;
  if (!aead.OpenInto(nonce, ad, in_place, std::span<uint8_t>(in_place).first(body.size())).ok()) {
    std::abort();
  }
  if (!std::equal(body.begin(), body.end(), in_place.begin())) std::abort();
  return 0;
}
