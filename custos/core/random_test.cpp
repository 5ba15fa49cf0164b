#include "custos/core/random.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos {
namespace {

using ::custos::testing::IsOk;

TEST(RandomTest, FillsAndDiffers) {
  std::vector<uint8_t> a(32), b(32);
  ASSERT_THAT(FillRandom(a), IsOk());
  ASSERT_THAT(FillRandom(b), IsOk());
  EXPECT_NE(a, b);  // 2^-256 chance of a false failure
}

TEST(RandomTest, BytesLookUniform) {
  // 64 KiB of output should hit every byte value (expected count 256 each;
  // missing one has probability ~256 * e^-256).
  std::vector<uint8_t> big(1 << 16);
  ASSERT_THAT(FillRandom(big), IsOk());
  std::set<uint8_t> seen(big.begin(), big.end());
  EXPECT_EQ(seen.size(), 256u);
}

TEST(RandomTest, RandomSecretHasRequestedSize) {
  auto secret = RandomSecret(16);
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->size(), 16u);
}

}  // namespace
}  // namespace custos
