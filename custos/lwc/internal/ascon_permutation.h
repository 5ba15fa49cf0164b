// File: custos/lwc/internal/ascon_permutation.h
//
// The Ascon permutation and the little-endian word helpers of NIST SP 800-232,
// shared by the single-message code (ascon.cpp) and the multi-message batch
// code (ascon_batch.cpp). Private to custos/lwc.
//
// The 320-bit state is five 64-bit words held in a struct that is only ever
// passed by reference into force-inlined functions, so the compiler keeps the
// five words in registers (scalar replacement) and unrolls every round with
// its constant folded in. The S-box is the bitsliced boolean formula of the
// Ascon designers' opt64 implementation (see AsconRound): no table, no
// branch, so the permutation runs in time independent of the state.
//
// Byte order (SP 800-232, unlike the v1.2 submission): a byte string is read
// into a word little-endian, byte i of a block lands in bits 8i..8i+7, and
// padding puts 0x01 at the first free byte.
#ifndef CUSTOS_LWC_INTERNAL_ASCON_PERMUTATION_H_
#define CUSTOS_LWC_INTERNAL_ASCON_PERMUTATION_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace custos::lwc {

struct RawAeadAlgorithm;

namespace internal {

// Ascon-AEAD128 compiled for the baseline instruction set, whatever the CPU
// supports (AsconAead128Algorithm() may pick a faster build). For tests, so
// that every build is checked against the KAT on any machine. Thread-safe.
const RawAeadAlgorithm& AsconAead128PortableAlgorithm();

// The same code compiled for BMI1/BMI2 (andn, rorx), or nullptr when the CPU
// lacks them or the library was not built for x86-64. For tests, like
// AsconAead128PortableAlgorithm(). Thread-safe.
const RawAeadAlgorithm* AsconAead128Bmi2Algorithm();

// Initial values (first state word) of SP 800-232, Sections 4 and 5.
inline constexpr uint64_t kAsconAead128Iv = 0x00001000808c0001ull;
inline constexpr uint64_t kAsconHash256Iv = 0x0000080100cc0002ull;
inline constexpr uint64_t kAsconXof128Iv = 0x0000080000cc0003ull;
inline constexpr uint64_t kAsconCxof128Iv = 0x0000080000cc0004ull;

// Domain separation bit XORed into x4 between associated data and message.
inline constexpr uint64_t kAsconDomainSeparation = 0x8000000000000000ull;

// The Ascon state S = x0 || x1 || x2 || x3 || x4.
struct AsconState {
  uint64_t x0;
  uint64_t x1;
  uint64_t x2;
  uint64_t x3;
  uint64_t x4;
};

[[gnu::always_inline]] constexpr uint64_t AsconRotr(uint64_t x, int n) {
  return (x >> n) | (x << (64 - n));
}

// Round constant of round i of the 12-round schedule (0xf0, 0xe1, ..., 0x4b).
[[gnu::always_inline]] constexpr uint64_t AsconRoundConstant(int i) {
  return static_cast<uint64_t>(((0xf - i) << 4) | i);
}

// One round: S-box layer and linear diffusion layer. The round constant is
// not added here: on entry s.x2 already holds x2 ^ c (this round's constant),
// and on exit s.x2 holds the new x2 ^ `next_constant`, folded into the
// complement of x2 that the S-box needs (one XOR with ~next_constant does
// both). The S-box is the bitsliced formula of the Ascon designers (opt64),
// rewritten with ~x1 & (x2 ^ x1) = ~x1 & x2 and ~x3 & (x4 ^ x3) = ~x3 & x4
// to shorten the dependency chain, and the two rotations of each word are
// independent for the same reason. No table, no branch: the time does not
// depend on the state.
[[gnu::always_inline]] constexpr void AsconRound(AsconState& s, uint64_t next_constant) {
  const uint64_t a = s.x0 ^ s.x4;
  const uint64_t b = s.x4 ^ s.x3;
  const uint64_t d = s.x2 ^ s.x1;
  uint64_t t0 = a ^ (~s.x1 & s.x2);
  uint64_t t1 = s.x1 ^ (~d & s.x3);
  const uint64_t t2 = d ^ (~s.x3 & s.x4);
  uint64_t t3 = s.x3 ^ (~b & a);
  const uint64_t t4 = b ^ (~a & s.x1);
  t1 ^= t0;
  t3 ^= t2;
  t0 ^= t4;
  s.x0 = t0 ^ (AsconRotr(t0, 19) ^ AsconRotr(t0, 28));
  s.x1 = t1 ^ (AsconRotr(t1, 61) ^ AsconRotr(t1, 39));
  s.x2 = (t2 ^ ~next_constant) ^ (AsconRotr(t2, 1) ^ AsconRotr(t2, 6));
  s.x3 = t3 ^ (AsconRotr(t3, 10) ^ AsconRotr(t3, 17));
  s.x4 = t4 ^ (AsconRotr(t4, 7) ^ AsconRotr(t4, 41));
}

// Rounds first..11 of the 12-round schedule (Ascon-p[12 - first]).
template <int kFirst>
[[gnu::always_inline]] constexpr void AsconRounds(AsconState& s) {
  s.x2 ^= AsconRoundConstant(kFirst);
  if constexpr (kFirst <= 0) AsconRound(s, AsconRoundConstant(1));
  if constexpr (kFirst <= 1) AsconRound(s, AsconRoundConstant(2));
  if constexpr (kFirst <= 2) AsconRound(s, AsconRoundConstant(3));
  if constexpr (kFirst <= 3) AsconRound(s, AsconRoundConstant(4));
  AsconRound(s, AsconRoundConstant(5));
  AsconRound(s, AsconRoundConstant(6));
  AsconRound(s, AsconRoundConstant(7));
  AsconRound(s, AsconRoundConstant(8));
  AsconRound(s, AsconRoundConstant(9));
  AsconRound(s, AsconRoundConstant(10));
  AsconRound(s, AsconRoundConstant(11));
  AsconRound(s, 0);
}

// Ascon-p[12].
[[gnu::always_inline]] constexpr void AsconP12(AsconState& s) { AsconRounds<0>(s); }

// Ascon-p[8]: the last eight rounds of the 12-round schedule.
[[gnu::always_inline]] constexpr void AsconP8(AsconState& s) { AsconRounds<4>(s); }

// Loads 8 bytes as a little-endian word.
[[gnu::always_inline]] inline uint64_t AsconLoad64(const uint8_t* p) {
  uint64_t x;
  std::memcpy(&x, p, sizeof(x));
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return x;
}

// Stores `x` as 8 little-endian bytes.
[[gnu::always_inline]] inline void AsconStore64(uint8_t* p, uint64_t x) {
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  std::memcpy(p, &x, sizeof(x));
}

// Loads n < 8 bytes little-endian into the low bytes of a word (high bytes
// zero). Branches on the public length only.
[[gnu::always_inline]] inline uint64_t AsconLoadPartial(const uint8_t* p, std::size_t n) {
  uint64_t x = 0;
  std::size_t offset = 0;
  if (n & 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
    x = w;
    offset = 4;
  }
  if (n & 2) {
    uint16_t w;
    std::memcpy(&w, p + offset, 2);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap16(w);
    x |= static_cast<uint64_t>(w) << (8 * offset);
    offset += 2;
  }
  if (n & 1) x |= static_cast<uint64_t>(p[offset]) << (8 * offset);
  return x;
}

// Stores the low n < 8 bytes of `x` little-endian.
[[gnu::always_inline]] inline void AsconStorePartial(uint8_t* p, uint64_t x, std::size_t n) {
  std::size_t offset = 0;
  if (n & 4) {
    uint32_t w = static_cast<uint32_t>(x);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
    std::memcpy(p, &w, 4);
    offset = 4;
  }
  if (n & 2) {
    uint16_t w = static_cast<uint16_t>(x >> (8 * offset));
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap16(w);
    std::memcpy(p + offset, &w, 2);
    offset += 2;
  }
  if (n & 1) p[offset] = static_cast<uint8_t>(x >> (8 * offset));
}

// The padding word for a final block holding n < 8 bytes in this word.
[[gnu::always_inline]] constexpr uint64_t AsconPad(std::size_t n) { return uint64_t{1} << (8 * n); }

// A mask of the low n < 8 bytes of a word.
[[gnu::always_inline]] constexpr uint64_t AsconLowBytesMask(std::size_t n) {
  return (uint64_t{1} << (8 * n)) - 1;
}

}  // namespace internal
}  // namespace custos::lwc

#endif  // CUSTOS_LWC_INTERNAL_ASCON_PERMUTATION_H_
