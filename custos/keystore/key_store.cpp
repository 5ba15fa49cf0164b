#include "custos/keystore/key_store.h"

#include <array>
#include <string>

namespace custos::keystore {
namespace {

struct TypeEntry {
  KeyType type;
  std::string_view name;
  KeyPurpose purpose;
};

constexpr std::array<TypeEntry, 6> kTypes = {{
    {KeyType::kEd25519, "ed25519", KeyPurpose::kSign},
    {KeyType::kEcdsaP256, "ecdsa-p256", KeyPurpose::kSign},
    {KeyType::kEcdhP256, "ecdh-p256", KeyPurpose::kAgree},
    {KeyType::kX25519, "x25519", KeyPurpose::kAgree},
    {KeyType::kAes128, "aes-128", KeyPurpose::kEncrypt},
    {KeyType::kAsconAead128, "ascon-aead128", KeyPurpose::kEncrypt},
}};

constexpr std::array<KeyType, 6> kAllTypes = {KeyType::kEd25519, KeyType::kEcdsaP256,
                                              KeyType::kEcdhP256, KeyType::kX25519,
                                              KeyType::kAes128,   KeyType::kAsconAead128};

const TypeEntry& EntryOf(KeyType type) { return kTypes[static_cast<std::size_t>(type)]; }

}  // namespace

std::string_view KeyTypeName(KeyType type) { return EntryOf(type).name; }

KeyPurpose PurposeOf(KeyType type) { return EntryOf(type).purpose; }

std::span<const KeyType> AllKeyTypes() { return kAllTypes; }

StatusOr<KeyType> KeyTypeFromName(std::string_view name) {
  std::string valid;
  for (const TypeEntry& entry : kTypes) {
    if (entry.name == name) return entry.type;
    if (!valid.empty()) valid += ", ";
    valid += entry.name;
  }
  return InvalidArgumentError("unknown key type '" + std::string(name) + "' (valid: " + valid +
                              ")");
}

}  // namespace custos::keystore
