#include "custos/lwc/registry.h"

#include <utility>

#include "custos/lwc/ascon.h"
#include "custos/lwc/gift_cofb.h"
#include "custos/lwc/grain128aead.h"
#include "custos/lwc/photon_beetle.h"
#include "custos/lwc/present.h"
#include "custos/lwc/simon.h"
#include "custos/lwc/speck.h"
#include "custos/lwc/spongent.h"
#include "custos/lwc/trivium.h"

namespace custos::lwc {

std::string_view AlgorithmKindName(AlgorithmKind kind) {
  switch (kind) {
    case AlgorithmKind::kAead:
      return "aead";
    case AlgorithmKind::kHash:
      return "hash";
    case AlgorithmKind::kXof:
      return "xof";
    case AlgorithmKind::kMac:
      return "mac";
    case AlgorithmKind::kBlockCipher:
      return "block";
    case AlgorithmKind::kStreamCipher:
      return "stream";
  }
  return "unknown";
}

namespace {

std::string_view KindNoun(AlgorithmKind kind) {
  switch (kind) {
    case AlgorithmKind::kAead:
      return "an AEAD";
    case AlgorithmKind::kHash:
      return "a hash";
    case AlgorithmKind::kXof:
      return "an XOF";
    case AlgorithmKind::kMac:
      return "a MAC";
    case AlgorithmKind::kBlockCipher:
      return "a block cipher";
    case AlgorithmKind::kStreamCipher:
      return "a stream cipher";
  }
  return "unknown";
}

}  // namespace

template <typename Factory>
Status AlgorithmRegistry::Add(AlgorithmInfo info, AlgorithmKind kind, Factory Entry::*slot,
                              Factory factory) {
  if (info.kind != kind) {
    return InternalError("algorithm '" + info.name + "' registered as the wrong kind");
  }
  if (by_name_.count(info.name) != 0) {
    return Status(StatusCode::kAlreadyExists, "algorithm name '" + info.name + "' is taken");
  }
  if (name_by_id_.count(info.id) != 0) {
    return Status(StatusCode::kAlreadyExists, "algorithm id " + std::to_string(info.id) +
                                                  " is taken by '" + name_by_id_[info.id] + "'");
  }
  name_by_id_[info.id] = info.name;
  std::string name = info.name;
  Entry entry;
  entry.info = std::move(info);
  entry.*slot = std::move(factory);
  by_name_.emplace(std::move(name), std::move(entry));
  return OkStatus();
}

Status AlgorithmRegistry::AddAead(AlgorithmInfo info, AeadFactory factory) {
  return Add(std::move(info), AlgorithmKind::kAead, &Entry::aead, std::move(factory));
}
Status AlgorithmRegistry::AddHash(AlgorithmInfo info, HashFactory factory) {
  return Add(std::move(info), AlgorithmKind::kHash, &Entry::hash, std::move(factory));
}
Status AlgorithmRegistry::AddXof(AlgorithmInfo info, XofFactory factory) {
  return Add(std::move(info), AlgorithmKind::kXof, &Entry::xof, std::move(factory));
}
Status AlgorithmRegistry::AddMac(AlgorithmInfo info, MacFactory factory) {
  return Add(std::move(info), AlgorithmKind::kMac, &Entry::mac, std::move(factory));
}
Status AlgorithmRegistry::AddBlockCipher(AlgorithmInfo info, BlockCipherFactory factory) {
  return Add(std::move(info), AlgorithmKind::kBlockCipher, &Entry::block, std::move(factory));
}
Status AlgorithmRegistry::AddStreamCipher(AlgorithmInfo info, StreamCipherFactory factory) {
  return Add(std::move(info), AlgorithmKind::kStreamCipher, &Entry::stream, std::move(factory));
}

StatusOr<const AlgorithmInfo*> AlgorithmRegistry::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return NotFoundError("unknown algorithm '" + std::string(name) + "'");
  }
  return &it->second.info;
}

StatusOr<const AlgorithmInfo*> AlgorithmRegistry::FindById(uint16_t id) const {
  auto it = name_by_id_.find(id);
  if (it == name_by_id_.end()) {
    return NotFoundError("unknown algorithm id " + std::to_string(id));
  }
  return Find(it->second);
}

std::vector<AlgorithmInfo> AlgorithmRegistry::List() const {
  std::vector<AlgorithmInfo> out;
  for (const auto& [id, name] : name_by_id_) out.push_back(by_name_.find(name)->second.info);
  return out;
}

StatusOr<const AlgorithmRegistry::Entry*> AlgorithmRegistry::Lookup(std::string_view name,
                                                                    AlgorithmKind kind) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return NotFoundError("unknown algorithm '" + std::string(name) + "'");
  }
  if (it->second.info.kind != kind) {
    return InvalidArgumentError("'" + std::string(name) + "' is " +
                                std::string(KindNoun(it->second.info.kind)) + ", not " +
                                std::string(KindNoun(kind)));
  }
  return &it->second;
}

namespace {

// Keyed algorithms take exactly info.key_size bytes (0: any length).
Status CheckKeySize(const AlgorithmInfo& info, std::span<const uint8_t> key) {
  if (info.key_size == 0 || key.size() == info.key_size) return OkStatus();
  return InvalidArgumentError("key must be " + std::to_string(info.key_size) + " bytes, got " +
                              std::to_string(key.size()));
}

}  // namespace

StatusOr<std::unique_ptr<NonceAead>> AlgorithmRegistry::NewAead(
    std::string_view name, std::span<const uint8_t> key) const {
  CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(name, AlgorithmKind::kAead));
  CUSTOS_RETURN_IF_ERROR(CheckKeySize(entry->info, key));
  return entry->aead(key);
}

StatusOr<std::unique_ptr<Hash>> AlgorithmRegistry::NewHash(std::string_view name) const {
  CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(name, AlgorithmKind::kHash));
  return entry->hash();
}

StatusOr<std::unique_ptr<Xof>> AlgorithmRegistry::NewXof(
    std::string_view name, std::span<const uint8_t> customization) const {
  CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(name, AlgorithmKind::kXof));
  return entry->xof(customization);
}

StatusOr<std::unique_ptr<Mac>> AlgorithmRegistry::NewMac(std::string_view name,
                                                         std::span<const uint8_t> key) const {
  CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(name, AlgorithmKind::kMac));
  CUSTOS_RETURN_IF_ERROR(CheckKeySize(entry->info, key));
  return entry->mac(key);
}

StatusOr<std::unique_ptr<BlockCipher>> AlgorithmRegistry::NewBlockCipher(
    std::string_view name, std::span<const uint8_t> key) const {
  CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(name, AlgorithmKind::kBlockCipher));
  CUSTOS_RETURN_IF_ERROR(CheckKeySize(entry->info, key));
  return entry->block(key);
}

StatusOr<std::unique_ptr<StreamCipher>> AlgorithmRegistry::NewStreamCipher(
    std::string_view name, std::span<const uint8_t> key, std::span<const uint8_t> iv) const {
  CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(name, AlgorithmKind::kStreamCipher));
  CUSTOS_RETURN_IF_ERROR(CheckKeySize(entry->info, key));
  return entry->stream(key, iv);
}

namespace {

AlgorithmInfo Aead(std::string name, uint16_t id, std::size_t key, std::size_t nonce,
                   std::size_t tag, std::string standard) {
  return {std::move(name), id, AlgorithmKind::kAead, key, nonce, tag, 0, std::move(standard)};
}
AlgorithmInfo HashInfo(std::string name, uint16_t id, std::size_t digest, std::string standard) {
  return {std::move(name), id, AlgorithmKind::kHash, 0, 0, 0, digest, std::move(standard)};
}
AlgorithmInfo Block(std::string name, uint16_t id, std::size_t key, std::size_t block,
                    std::string standard) {
  return {std::move(name), id, AlgorithmKind::kBlockCipher, key, 0, 0, block, std::move(standard)};
}

using BlockMaker = StatusOr<std::unique_ptr<BlockCipher>> (*)(int, int, std::span<const uint8_t>);

Status RegisterArxFamily(AlgorithmRegistry& registry, std::string_view family, uint16_t first_id,
                         BlockMaker make, std::string_view standard) {
  static constexpr int kSizes[][2] = {{32, 64}, {48, 72},  {48, 96},   {64, 96},   {64, 128},
                                      {96, 96}, {96, 144}, {128, 128}, {128, 192}, {128, 256}};
  uint16_t id = first_id;
  for (const auto& size : kSizes) {
    const int block_bits = size[0];
    const int key_bits = size[1];
    std::string name =
        std::string(family) + std::to_string(block_bits) + "-" + std::to_string(key_bits);
    CUSTOS_RETURN_IF_ERROR(registry.AddBlockCipher(
        Block(name, id++, key_bits / 8, block_bits / 8, std::string(standard)),
        [make, block_bits, key_bits](std::span<const uint8_t> key) {
          return make(block_bits, key_bits, key);
        }));
  }
  return OkStatus();
}

}  // namespace

Status RegisterLightweightAlgorithms(AlgorithmRegistry& r) {
  const std::string kLwc = "NIST LWC final round";
  CUSTOS_RETURN_IF_ERROR(
      r.AddAead(Aead("ascon-aead128", 0x0001, 16, 16, 16, "NIST SP 800-232"), NewAsconAead128));
  CUSTOS_RETURN_IF_ERROR(r.AddAead(Aead("gift-cofb", 0x0002, 16, 16, 16, kLwc), NewGiftCofb));
  CUSTOS_RETURN_IF_ERROR(
      r.AddAead(Aead("grain128-aead-v2", 0x0003, 16, 12, 8, kLwc), NewGrain128AeadV2));
  CUSTOS_RETURN_IF_ERROR(
      r.AddAead(Aead("photon-beetle-aead128", 0x0004, 16, 16, 16, kLwc), NewPhotonBeetleAead128));

  CUSTOS_RETURN_IF_ERROR(
      r.AddHash(HashInfo("ascon-hash256", 0x0201, 32, "NIST SP 800-232"), NewAsconHash256));
  CUSTOS_RETURN_IF_ERROR(
      r.AddHash(HashInfo("photon-beetle-hash256", 0x0202, 32, kLwc), NewPhotonBeetleHash256));
  const struct {
    const char* name;
    std::size_t digest;
    uint16_t id;
    SpongentVariant variant;
  } kSpongent[] = {{"spongent-88", 11, 0x0203, SpongentVariant::k88},
                   {"spongent-128", 16, 0x0204, SpongentVariant::k128},
                   {"spongent-160", 20, 0x0205, SpongentVariant::k160},
                   {"spongent-224", 28, 0x0206, SpongentVariant::k224},
                   {"spongent-256", 32, 0x0207, SpongentVariant::k256}};
  for (const auto& s : kSpongent) {
    SpongentVariant variant = s.variant;
    CUSTOS_RETURN_IF_ERROR(r.AddHash(HashInfo(s.name, s.id, s.digest, "SPONGENT, CHES 2011"),
                                     [variant] { return NewSpongent(variant); }));
  }

  CUSTOS_RETURN_IF_ERROR(
      r.AddXof({"ascon-xof128", 0x0401, AlgorithmKind::kXof, 0, 0, 0, 32, "NIST SP 800-232"},
               [](std::span<const uint8_t> customization) -> StatusOr<std::unique_ptr<Xof>> {
                 if (!customization.empty()) {
                   return InvalidArgumentError(
                       "ascon-xof128 takes no customization string; use ascon-cxof128");
                 }
                 return NewAsconXof128();
               }));
  CUSTOS_RETURN_IF_ERROR(
      r.AddXof({"ascon-cxof128", 0x0402, AlgorithmKind::kXof, 0, 0, 0, 32, "NIST SP 800-232"},
               NewAsconCxof128));

  CUSTOS_RETURN_IF_ERROR(
      r.AddBlockCipher(Block("present80", 0x0601, 10, 8, "PRESENT, CHES 2007"), NewPresent));
  CUSTOS_RETURN_IF_ERROR(
      r.AddBlockCipher(Block("present128", 0x0602, 16, 8, "PRESENT, CHES 2007"), NewPresent));
  CUSTOS_RETURN_IF_ERROR(RegisterArxFamily(r, "speck", 0x0611, NewSpeck, "IACR ePrint 2013/404"));
  CUSTOS_RETURN_IF_ERROR(RegisterArxFamily(r, "simon", 0x0621, NewSimon, "IACR ePrint 2013/404"));

  CUSTOS_RETURN_IF_ERROR(r.AddStreamCipher(
      {"trivium", 0x0701, AlgorithmKind::kStreamCipher, 10, 10, 0, 0, "eSTREAM, ISO/IEC 29192-3"},
      NewTrivium));
  return OkStatus();
}

}  // namespace custos::lwc
