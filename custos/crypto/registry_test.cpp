#include "custos/crypto/registry.h"

#include <fstream>
#include <map>
#include <sstream>

#include "custos/core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::crypto {
namespace {

using ::custos::testing::IsOk;
using lwc::AlgorithmInfo;
using lwc::AlgorithmKind;

TEST(DefaultRegistryTest, HoldsLightweightAndStandardAlgorithms) {
  auto registry = NewDefaultRegistry();
  ASSERT_THAT(registry, IsOk());
  for (const char* name : {"ascon-aead128", "aes128-gcm", "chacha20-poly1305", "sha256",
                           "sha3-256", "aes128-cmac", "hmac-sha256", "trivium"}) {
    EXPECT_THAT((*registry)->Find(name), IsOk()) << name;
  }
}

// The ids are a wire contract: docs/formats/algorithms.md must list exactly
// the registry's names and ids.
TEST(DefaultRegistryTest, IdsMatchTheDocumentation) {
  std::ifstream doc(std::string(CUSTOS_SOURCE_DIR) + "/docs/formats/algorithms.md");
  ASSERT_TRUE(doc) << "docs/formats/algorithms.md missing";
  // Rows look like "| `name` | 0x0001 | ...".
  std::map<std::string, int> documented;
  std::string line;
  while (std::getline(doc, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::size_t name_end = line.find('`', 3);
    const std::size_t id_start = line.find("| 0x", name_end);
    if (name_end == std::string::npos || id_start == std::string::npos) continue;
    documented[line.substr(3, name_end - 3)] = std::stoi(line.substr(id_start + 4, 4), nullptr, 16);
  }
  auto registry = NewDefaultRegistry();
  ASSERT_THAT(registry, IsOk());
  std::map<std::string, int> actual;
  for (const AlgorithmInfo& info : (*registry)->List()) actual[info.name] = info.id;
  EXPECT_EQ(documented, actual);
}

TEST(DefaultRegistryTest, EveryAeadRoundTripsAndRejectsTamper) {
  auto registry = NewDefaultRegistry();
  ASSERT_THAT(registry, IsOk());
  for (const AlgorithmInfo& info : (*registry)->List()) {
    if (info.kind != AlgorithmKind::kAead) continue;
    auto key = RandomSecret(info.key_size);
    ASSERT_THAT(key, IsOk());
    auto aead = (*registry)->NewAead(info.name, key->span());
    ASSERT_THAT(aead, IsOk()) << info.name;
    std::vector<uint8_t> nonce(info.nonce_size, 3), ad = {1, 2, 3}, msg(77, 0x42);
    auto sealed = (*aead)->Seal(nonce, ad, msg);
    ASSERT_THAT(sealed, IsOk()) << info.name;
    auto opened = (*aead)->Open(nonce, ad, *sealed);
    ASSERT_THAT(opened, IsOk()) << info.name;
    EXPECT_EQ(*opened, msg) << info.name;
    (*sealed)[5] ^= 1;
    EXPECT_FALSE((*aead)->Open(nonce, ad, *sealed).ok()) << info.name;
  }
}

}  // namespace
}  // namespace custos::crypto
