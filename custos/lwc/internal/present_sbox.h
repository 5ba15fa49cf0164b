// File: custos/lwc/internal/present_sbox.h
//
// Bitsliced 4-bit S-box layers shared by PRESENT and SPONGENT (SPONGENT is
// "Sponge + PRESENT": same nibble-wise S-box layer and same shape of bit
// permutation, different S-box). A 64-bit word holds 16 nibbles; bit k of
// every nibble is isolated with a mask (the "plane" k), the S-box is evaluated
// as boolean formulas (its algebraic normal form) on the four planes at once,
// and the planes are put back. No table is indexed by data, no branch depends
// on data, so these may process keys and secret state.
//
// Nibble j of a word is bits 4j..4j+3; bit 4j is the S-box input's least
// significant bit x0, as in the PRESENT and SPONGENT specifications.
//
// Private to custos/lwc.
#ifndef CUSTOS_LWC_INTERNAL_PRESENT_SBOX_H_
#define CUSTOS_LWC_INTERNAL_PRESENT_SBOX_H_

#include <cstdint>

namespace custos::lwc::internal {

// Bit 0 of every nibble.
inline constexpr uint64_t kNibbleLow = 0x1111111111111111;

// The four bit planes of 16 nibbles: x[k] has bit k of nibble j at bit 4j.
struct NibblePlanes {
  uint64_t x0, x1, x2, x3;
};

inline NibblePlanes SplitPlanes(uint64_t w) {
  return {w & kNibbleLow, (w >> 1) & kNibbleLow, (w >> 2) & kNibbleLow, (w >> 3) & kNibbleLow};
}

inline uint64_t JoinPlanes(uint64_t y0, uint64_t y1, uint64_t y2, uint64_t y3) {
  return y0 | (y1 << 1) | (y2 << 2) | (y3 << 3);
}

// PRESENT S-box C56B90AD3EF84712 on all 16 nibbles of `w`. The formulas are
// the S-box's algebraic normal form; "^ kNibbleLow" is the constant 1.
inline uint64_t PresentSboxLayer(uint64_t w) {
  const NibblePlanes p = SplitPlanes(w);
  const uint64_t x01 = p.x0 & p.x1;
  const uint64_t x12 = p.x1 & p.x2;
  const uint64_t x13 = p.x1 & p.x3;
  const uint64_t x23 = p.x2 & p.x3;
  const uint64_t x03 = p.x0 & p.x3;
  const uint64_t x012 = x01 & p.x2;
  const uint64_t x013 = x01 & p.x3;
  const uint64_t x023 = p.x0 & x23;
  const uint64_t y0 = p.x0 ^ p.x2 ^ x12 ^ p.x3;
  const uint64_t y1 = p.x1 ^ x012 ^ p.x3 ^ x13 ^ x013 ^ x23 ^ x023;
  const uint64_t y2 = kNibbleLow ^ x01 ^ p.x2 ^ p.x3 ^ x03 ^ x13 ^ x013 ^ x023;
  const uint64_t y3 = kNibbleLow ^ p.x0 ^ p.x1 ^ x12 ^ x012 ^ p.x3 ^ x013 ^ x023;
  return JoinPlanes(y0, y1, y2, y3);
}

// Inverse PRESENT S-box 5EF8C12DB463079A on all 16 nibbles of `w`.
inline uint64_t PresentInverseSboxLayer(uint64_t w) {
  const NibblePlanes p = SplitPlanes(w);
  const uint64_t x01 = p.x0 & p.x1;
  const uint64_t x02 = p.x0 & p.x2;
  const uint64_t x03 = p.x0 & p.x3;
  const uint64_t x12 = p.x1 & p.x2;
  const uint64_t x13 = p.x1 & p.x3;
  const uint64_t x23 = p.x2 & p.x3;
  const uint64_t x012 = x01 & p.x2;
  const uint64_t x013 = x01 & p.x3;
  const uint64_t x023 = x02 & p.x3;
  const uint64_t y0 = kNibbleLow ^ p.x0 ^ p.x2 ^ x13;
  const uint64_t y1 = p.x0 ^ p.x1 ^ x02 ^ x012 ^ p.x3 ^ x13 ^ x013 ^ x23 ^ x023;
  const uint64_t y2 = kNibbleLow ^ x01 ^ x02 ^ x12 ^ x012 ^ p.x3 ^ x03 ^ x13 ^ x013 ^ x023;
  const uint64_t y3 = p.x0 ^ p.x1 ^ x01 ^ p.x2 ^ x012 ^ p.x3 ^ x023;
  return JoinPlanes(y0, y1, y2, y3);
}

// SPONGENT S-box EDB0214F7A859C36 on all 16 nibbles of `w`.
inline uint64_t SpongentSboxLayer(uint64_t w) {
  const NibblePlanes p = SplitPlanes(w);
  const uint64_t x01 = p.x0 & p.x1;
  const uint64_t x03 = p.x0 & p.x3;
  const uint64_t x12 = p.x1 & p.x2;
  const uint64_t x13 = p.x1 & p.x3;
  const uint64_t x23 = p.x2 & p.x3;
  const uint64_t x123 = x12 & p.x3;
  const uint64_t x013 = x01 & p.x3;
  const uint64_t x023 = p.x0 & x23;
  const uint64_t y0 = p.x0 ^ p.x1 ^ x12 ^ p.x3;
  const uint64_t y1 = kNibbleLow ^ p.x0 ^ x12 ^ x03 ^ x13 ^ x23 ^ x123;
  const uint64_t y2 = kNibbleLow ^ p.x1 ^ p.x2 ^ x03 ^ x123;
  const uint64_t y3 = kNibbleLow ^ x01 ^ p.x2 ^ p.x3 ^ x03 ^ x13 ^ x013 ^ x023;
  return JoinPlanes(y0, y1, y2, y3);
}

// Gathers bit 0 of the 16 nibbles of `w` (bits 0, 4, ..., 60) into bits
// 0..15, in order. Fixed masks and shifts: the cost is the same for every
// input. Call it on w >> k to gather bit k of every nibble.
inline uint64_t GatherNibbleBits(uint64_t w) {
  w &= kNibbleLow;
  w = (w | (w >> 3)) & 0x0303030303030303;
  w = (w | (w >> 6)) & 0x000F000F000F000F;
  w = (w | (w >> 12)) & 0x000000FF000000FF;
  w = (w | (w >> 24)) & 0x000000000000FFFF;
  return w;
}

}  // namespace custos::lwc::internal

#endif  // CUSTOS_LWC_INTERNAL_PRESENT_SBOX_H_
