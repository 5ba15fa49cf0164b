#include "custos/core/secret_bytes.h"

#include <type_traits>

#include "gtest/gtest.h"

namespace custos {
namespace {

template <typename T>
concept HasEquality = requires(const T& a, const T& b) { a == b; };

TEST(SecretBytesTest, HasNoEqualityOperator) {
  // Secrets are compared only with CtEqual.
  EXPECT_FALSE(HasEquality<SecretBytes>);
}

TEST(SecretBytesTest, CopiesAndMoves) {
  const uint8_t raw[] = {1, 2, 3, 4};
  SecretBytes a{std::span<const uint8_t>(raw)};
  SecretBytes b = a;
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[3], 4);
  SecretBytes c = std::move(a);
  EXPECT_EQ(c.size(), 4u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
}

TEST(SecretBytesTest, ResizeZeroFillsAndClearEmpties) {
  SecretBytes s(2);
  s[0] = 9;
  s.resize(4);
  EXPECT_EQ(s[0], 9);
  EXPECT_EQ(s[3], 0);
  s.clear();
  EXPECT_TRUE(s.empty());
}

TEST(SecretBytesTest, SecureWipeZeroes) {
  uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  SecureWipe(buf);
  for (uint8_t b : buf) EXPECT_EQ(b, 0);
}

TEST(SecretBytesTest, AllocatorWipesBeforeFree) {
  // Deallocate through the allocator and look at the bytes before they go
  // back to the system allocator: a custom allocate/deallocate pair over a
  // buffer we own.
  internal::WipingAllocator<uint8_t> allocator;
  uint8_t* p = allocator.allocate(16);
  for (int i = 0; i < 16; ++i) p[i] = 0xAA;
  SecureWipe(std::span<uint8_t>(p, 16));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(p[i], 0);
  allocator.deallocate(p, 16);
}

}  // namespace
}  // namespace custos
