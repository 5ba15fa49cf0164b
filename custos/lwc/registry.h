// File: custos/lwc/registry.h
//
// The algorithm registry: maps a stable name ("ascon-aead128") and a stable
// 16-bit id to a description and a factory, so that a message can name its
// algorithm and keys and algorithms can be rotated (crypto agility). Names and
// ids are a wire contract, listed in docs/formats/algorithms.md; an id is
// never reused for another algorithm.
//
// A registry is a plain value: build one with RegisterLightweightAlgorithms
// (this module) and crypto::RegisterStandardAlgorithms (OpenSSL algorithms),
// or simply crypto::NewDefaultRegistry(). After construction it is read-only
// and safe to share between threads.
#ifndef CUSTOS_LWC_REGISTRY_H_
#define CUSTOS_LWC_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"
#include "custos/lwc/block_cipher.h"
#include "custos/lwc/hash.h"
#include "custos/lwc/mac.h"
#include "custos/lwc/stream_cipher.h"

namespace custos::lwc {

// What an algorithm is.
enum class AlgorithmKind { kAead, kHash, kXof, kMac, kBlockCipher, kStreamCipher };

// "aead", "hash", "xof", "mac", "block", "stream".
std::string_view AlgorithmKindName(AlgorithmKind kind);

// Description of a registered algorithm. Sizes are in bytes; 0 = not
// applicable.
struct AlgorithmInfo {
  std::string name;  // stable name, e.g. "ascon-aead128"
  uint16_t id = 0;   // stable numeric id (docs/formats/algorithms.md)
  AlgorithmKind kind = AlgorithmKind::kHash;
  std::size_t key_size = 0;     // AEAD, MAC, block and stream ciphers; 0 = any length
  std::size_t nonce_size = 0;   // AEAD nonce or stream-cipher IV
  std::size_t tag_size = 0;     // AEAD and MAC tag
  std::size_t output_size = 0;  // hash digest, default XOF output, cipher block
  std::string standard;         // where it is specified, e.g. "NIST SP 800-232"
};

class AlgorithmRegistry {
 public:
  using AeadFactory =
      std::function<StatusOr<std::unique_ptr<NonceAead>>(std::span<const uint8_t> key)>;
  using HashFactory = std::function<std::unique_ptr<Hash>()>;
  using XofFactory =
      std::function<StatusOr<std::unique_ptr<Xof>>(std::span<const uint8_t> customization)>;
  using MacFactory = std::function<StatusOr<std::unique_ptr<Mac>>(std::span<const uint8_t> key)>;
  using BlockCipherFactory =
      std::function<StatusOr<std::unique_ptr<BlockCipher>>(std::span<const uint8_t> key)>;
  using StreamCipherFactory = std::function<StatusOr<std::unique_ptr<StreamCipher>>(
      std::span<const uint8_t> key, std::span<const uint8_t> iv)>;

  // Each Add registers an algorithm; `info.kind` must match the factory.
  // AlreadyExists if the name or the id is taken.
  Status AddAead(AlgorithmInfo info, AeadFactory factory);
  Status AddHash(AlgorithmInfo info, HashFactory factory);
  Status AddXof(AlgorithmInfo info, XofFactory factory);
  Status AddMac(AlgorithmInfo info, MacFactory factory);
  Status AddBlockCipher(AlgorithmInfo info, BlockCipherFactory factory);
  Status AddStreamCipher(AlgorithmInfo info, StreamCipherFactory factory);

  // Looks an algorithm up by name or id. NotFound names what was asked for.
  StatusOr<const AlgorithmInfo*> Find(std::string_view name) const;
  StatusOr<const AlgorithmInfo*> FindById(uint16_t id) const;
  // All algorithms, in id order.
  std::vector<AlgorithmInfo> List() const;

  // Factories by name. NotFound for an unknown name; InvalidArgument if the
  // algorithm is of another kind or a key, IV or customization is invalid.
  // Keys are checked here against AlgorithmInfo::key_size, so factories
  // receive keys of their registered size.
  StatusOr<std::unique_ptr<NonceAead>> NewAead(std::string_view name,
                                               std::span<const uint8_t> key) const;
  StatusOr<std::unique_ptr<Hash>> NewHash(std::string_view name) const;
  StatusOr<std::unique_ptr<Xof>> NewXof(std::string_view name,
                                        std::span<const uint8_t> customization = {}) const;
  StatusOr<std::unique_ptr<Mac>> NewMac(std::string_view name, std::span<const uint8_t> key) const;
  StatusOr<std::unique_ptr<BlockCipher>> NewBlockCipher(std::string_view name,
                                                        std::span<const uint8_t> key) const;
  StatusOr<std::unique_ptr<StreamCipher>> NewStreamCipher(std::string_view name,
                                                          std::span<const uint8_t> key,
                                                          std::span<const uint8_t> iv) const;

 private:
  struct Entry {
    AlgorithmInfo info;
    AeadFactory aead;
    HashFactory hash;
    XofFactory xof;
    MacFactory mac;
    BlockCipherFactory block;
    StreamCipherFactory stream;
  };
  // Registers `factory` in the `slot` of a new entry for `info`, which must
  // be of `kind`.
  template <typename Factory>
  Status Add(AlgorithmInfo info, AlgorithmKind kind, Factory Entry::*slot, Factory factory);
  StatusOr<const Entry*> Lookup(std::string_view name, AlgorithmKind kind) const;

  std::map<std::string, Entry, std::less<>> by_name_;
  std::map<uint16_t, std::string> name_by_id_;
};

// Registers this module's algorithms: the Ascon family, GIFT-COFB,
// Grain-128AEADv2, PHOTON-Beetle, SPONGENT, PRESENT, SPECK, SIMON and
// Trivium. AlreadyExists if any of their names or ids is taken.
Status RegisterLightweightAlgorithms(AlgorithmRegistry& registry);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_REGISTRY_H_
