#include "custos/lwc/registry.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

AlgorithmRegistry Lightweight() {
  AlgorithmRegistry registry;
  EXPECT_THAT(RegisterLightweightAlgorithms(registry), IsOk());
  return registry;
}

TEST(RegistryTest, NamesAndIdsAreUniqueAndFindable) {
  AlgorithmRegistry registry = Lightweight();
  std::set<std::string> names;
  std::set<uint16_t> ids;
  for (const AlgorithmInfo& info : registry.List()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_TRUE(ids.insert(info.id).second) << info.id;
    auto by_name = registry.Find(info.name);
    ASSERT_THAT(by_name, IsOk());
    auto by_id = registry.FindById(info.id);
    ASSERT_THAT(by_id, IsOk());
    EXPECT_EQ((*by_id)->name, info.name);
  }
  EXPECT_EQ(names.size(), 4u + 7u + 2u + 2u + 20u + 1u);  // aead, hash, xof, present, arx, stream
}

TEST(RegistryTest, EveryAlgorithmCanBeInstantiatedWithItsSizes) {
  AlgorithmRegistry registry = Lightweight();
  for (const AlgorithmInfo& info : registry.List()) {
    std::vector<uint8_t> key(info.key_size, 1), nonce(info.nonce_size, 2);
    switch (info.kind) {
      case AlgorithmKind::kAead: {
        auto aead = registry.NewAead(info.name, key);
        ASSERT_THAT(aead, IsOk()) << info.name;
        EXPECT_EQ((*aead)->nonce_size(), info.nonce_size);
        EXPECT_EQ((*aead)->tag_size(), info.tag_size);
        break;
      }
      case AlgorithmKind::kHash: {
        auto hash = registry.NewHash(info.name);
        ASSERT_THAT(hash, IsOk()) << info.name;
        EXPECT_EQ((*hash)->digest_size(), info.output_size);
        break;
      }
      case AlgorithmKind::kXof:
        EXPECT_THAT(registry.NewXof(info.name), IsOk()) << info.name;
        break;
      case AlgorithmKind::kBlockCipher: {
        auto cipher = registry.NewBlockCipher(info.name, key);
        ASSERT_THAT(cipher, IsOk()) << info.name;
        EXPECT_EQ((*cipher)->block_size(), info.output_size);
        break;
      }
      case AlgorithmKind::kStreamCipher:
        EXPECT_THAT(registry.NewStreamCipher(info.name, key, nonce), IsOk()) << info.name;
        break;
      case AlgorithmKind::kMac:
        EXPECT_THAT(registry.NewMac(info.name, key), IsOk()) << info.name;
        break;
    }
  }
}

TEST(RegistryTest, ClearErrors) {
  AlgorithmRegistry registry = Lightweight();
  EXPECT_THAT(registry.Find("rot13"), StatusIs(StatusCode::kNotFound, HasSubstr("'rot13'")));
  EXPECT_THAT(registry.FindById(0xfffe), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(registry.NewAead("ascon-hash256", {}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("is a hash, not an AEAD")));
  EXPECT_THAT(registry.NewAead("ascon-aead128", std::vector<uint8_t>(15)),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.NewXof("ascon-xof128", std::vector<uint8_t>{1}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("cxof")));
  EXPECT_THAT(registry.NewBlockCipher("present80", std::vector<uint8_t>(16)),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(RegistryTest, RejectsDuplicateNamesAndIds) {
  AlgorithmRegistry registry = Lightweight();
  AlgorithmInfo clash;
  clash.name = "ascon-aead128";
  clash.id = 0x7777;
  EXPECT_THAT(registry.AddHash(clash, [] { return std::unique_ptr<Hash>(); }),
              StatusIs(StatusCode::kAlreadyExists));
  AlgorithmInfo id_clash;
  id_clash.name = "new-hash";
  id_clash.id = 0x0001;
  EXPECT_THAT(registry.AddHash(id_clash, [] { return std::unique_ptr<Hash>(); }),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("ascon-aead128")));
}

}  // namespace
}  // namespace custos::lwc
