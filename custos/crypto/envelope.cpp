#include "custos/crypto/envelope.h"

#include <string>

#include "custos/core/random.h"
#include "custos/core/secret_bytes.h"

namespace custos::crypto {

StatusOr<EnvelopeView> ParseEnvelope(std::span<const uint8_t> envelope) {
  if (envelope.size() < kEnvelopeFixedHeaderSize) {
    return InvalidArgumentError("envelope is " + std::to_string(envelope.size()) +
                                " bytes, shorter than its 8-byte header");
  }
  EnvelopeView view;
  view.version = envelope[0];
  if (view.version != kEnvelopeVersion) {
    return InvalidArgumentError("unknown envelope version " + std::to_string(view.version));
  }
  view.algorithm_id = static_cast<uint16_t>((envelope[1] << 8) | envelope[2]);
  view.key_id = (uint32_t{envelope[3]} << 24) | (uint32_t{envelope[4]} << 16) |
                (uint32_t{envelope[5]} << 8) | uint32_t{envelope[6]};
  const std::size_t nonce_size = envelope[7];
  if (envelope.size() < kEnvelopeFixedHeaderSize + nonce_size) {
    return InvalidArgumentError("envelope ends inside its " + std::to_string(nonce_size) +
                                "-byte nonce");
  }
  view.header = envelope.first(kEnvelopeFixedHeaderSize + nonce_size);
  view.nonce = envelope.subspan(kEnvelopeFixedHeaderSize, nonce_size);
  view.ciphertext_and_tag = envelope.subspan(kEnvelopeFixedHeaderSize + nonce_size);
  return view;
}

StatusOr<EnvelopeAead> EnvelopeAead::Create(
    const Keyset& keyset, std::shared_ptr<const lwc::AlgorithmRegistry> registry) {
  if (registry == nullptr) return InvalidArgumentError("no algorithm registry");
  EnvelopeAead envelope;
  for (const KeysetKey& key : keyset.keys()) {
    if (key.status != KeyStatus::kEnabled) continue;
    CUSTOS_ASSIGN_OR_RETURN(const lwc::AlgorithmInfo* info, registry->Find(key.algorithm));
    if (info->nonce_size > 255) return InternalError("nonce too long for the envelope");
    StatusOr<std::unique_ptr<lwc::NonceAead>> aead = registry->NewAead(key.algorithm, key.key.span());
    if (!aead.ok()) return Annotate(aead.status(), "key " + std::to_string(key.key_id));
    envelope.keys_[key.key_id] = KeyEntry{info->id, std::move(*aead)};
  }
  if (envelope.keys_.count(keyset.primary_key_id()) == 0) {
    return InvalidArgumentError("the primary key is not enabled");
  }
  envelope.primary_key_id_ = keyset.primary_key_id();
  envelope.registry_ = std::move(registry);
  return envelope;
}

StatusOr<std::vector<uint8_t>> EnvelopeAead::Encrypt(
    std::span<const uint8_t> plaintext, std::span<const uint8_t> associated_data) const {
  const KeyEntry& key = keys_.at(primary_key_id_);
  const std::size_t nonce_size = key.aead->nonce_size();
  const std::size_t header_size = kEnvelopeFixedHeaderSize + nonce_size;
  std::vector<uint8_t> out(header_size + plaintext.size() + key.aead->tag_size());
  out[0] = kEnvelopeVersion;
  out[1] = static_cast<uint8_t>(key.algorithm_id >> 8);
  out[2] = static_cast<uint8_t>(key.algorithm_id);
  out[3] = static_cast<uint8_t>(primary_key_id_ >> 24);
  out[4] = static_cast<uint8_t>(primary_key_id_ >> 16);
  out[5] = static_cast<uint8_t>(primary_key_id_ >> 8);
  out[6] = static_cast<uint8_t>(primary_key_id_);
  out[7] = static_cast<uint8_t>(nonce_size);
  std::span<uint8_t> nonce(out.data() + kEnvelopeFixedHeaderSize, nonce_size);
  CUSTOS_RETURN_IF_ERROR(FillRandom(nonce));
  // Authenticated data = header || caller's associated data; the header is
  // self-delimiting, so the concatenation is unambiguous.
  std::vector<uint8_t> ad(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(header_size));
  ad.insert(ad.end(), associated_data.begin(), associated_data.end());
  CUSTOS_RETURN_IF_ERROR(key.aead->SealInto(nonce, ad, plaintext,
                                            std::span<uint8_t>(out).subspan(header_size)));
  return out;
}

StatusOr<std::vector<uint8_t>> EnvelopeAead::Decrypt(
    std::span<const uint8_t> envelope, std::span<const uint8_t> associated_data) const {
  CUSTOS_ASSIGN_OR_RETURN(EnvelopeView view, ParseEnvelope(envelope));
  auto it = keys_.find(view.key_id);
  if (it == keys_.end()) {
    return NotFoundError("no enabled key with id " + std::to_string(view.key_id) +
                         " in the keyset");
  }
  const KeyEntry& key = it->second;
  if (view.algorithm_id != key.algorithm_id) {
    return InvalidArgumentError("envelope names algorithm id " +
                                std::to_string(view.algorithm_id) + " but key " +
                                std::to_string(view.key_id) + " is for algorithm id " +
                                std::to_string(key.algorithm_id));
  }
  if (view.nonce.size() != key.aead->nonce_size()) {
    return InvalidArgumentError("envelope nonce is " + std::to_string(view.nonce.size()) +
                                " bytes, the algorithm's is " +
                                std::to_string(key.aead->nonce_size()));
  }
  if (view.ciphertext_and_tag.size() < key.aead->tag_size()) {
    return InvalidArgumentError("envelope is too short to hold a tag");
  }
  std::vector<uint8_t> ad(view.header.begin(), view.header.end());
  ad.insert(ad.end(), associated_data.begin(), associated_data.end());
  std::vector<uint8_t> plaintext(view.ciphertext_and_tag.size() - key.aead->tag_size());
  CUSTOS_RETURN_IF_ERROR(key.aead->OpenInto(view.nonce, ad, view.ciphertext_and_tag, plaintext));
  return plaintext;
}

}  // namespace custos::crypto
