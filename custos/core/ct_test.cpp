#include "custos/core/ct.h"

#include <vector>

#include "gtest/gtest.h"

namespace custos {
namespace {

TEST(CtEqualTest, ComparesContentsAndLengths) {
  std::vector<uint8_t> a = {1, 2, 3};
  std::vector<uint8_t> b = {1, 2, 3};
  std::vector<uint8_t> c = {1, 2, 4};
  std::vector<uint8_t> d = {1, 2};
  EXPECT_TRUE(CtEqual(a, b));
  EXPECT_FALSE(CtEqual(a, c));
  EXPECT_FALSE(CtEqual(a, d));
  EXPECT_TRUE(CtEqual({}, {}));
}

TEST(CtEqualTest, DetectsEveryBitPosition) {
  std::vector<uint8_t> a(32, 0x5a);
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = a;
      b[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(CtEqual(a, b)) << i << ":" << bit;
    }
  }
}

TEST(CtTest, ClassifyHooksAreHarmlessOutsideValgrind) {
  uint8_t secret[4] = {1, 2, 3, 4};
  ClassifySecret(secret);
  DeclassifySecret(secret);
  EXPECT_TRUE(DeclassifyBool(true));
  EXPECT_EQ(ValueBarrier(42), 42u);
}

}  // namespace
}  // namespace custos
