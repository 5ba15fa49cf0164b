// PRESENT-80 and PRESENT-128, written for constant time: the S-box layer is
// the bitsliced formula of internal/present_sbox.h and the bit permutation
// is four fixed delta swaps.
#include "custos/lwc/present.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/present_sbox.h"
#include "custos/lwc/internal/swap_move.h"

namespace custos::lwc {
namespace {

using internal::PresentInverseSboxLayer;
using internal::PresentSboxLayer;
using internal::SwapMove;

constexpr int kRounds = 31;
constexpr std::size_t kBlockBytes = 8;
constexpr std::size_t kKey80Bytes = 10;
constexpr std::size_t kKey128Bytes = 16;

// The pLayer sends bit i = 4j + k (nibble j, bit k of the nibble) to bit
// 16k + j: in binary, the six index bits (k0 k1 j0 j1 j2 j3) become
// (j0 j1 j2 j3 k0 k1). That rotation of index bits is a product of four
// transpositions of index bits, (0 4)(0 2)(1 5)(1 3) applied left to right,
// and a transposition of index bits a < b moves every data bit by the same
// distance 2^b - 2^a: one delta swap each, no data-dependent shift or branch.
constexpr uint64_t IndexSwapMask(int a, int b) {
  uint64_t mask = 0;
  for (int p = 0; p < 64; ++p) {
    if (((p >> a) & 1) == 1 && ((p >> b) & 1) == 0) mask |= uint64_t{1} << p;
  }
  return mask;
}

template <int kA, int kB>
inline uint64_t SwapIndexBits(uint64_t x) {
  constexpr uint64_t kMask = IndexSwapMask(kA, kB);
  constexpr int kShift = (1 << kB) - (1 << kA);
  return SwapMove<uint64_t>(x, kMask, kShift);
}

inline uint64_t PLayer(uint64_t x) {
  x = SwapIndexBits<0, 4>(x);
  x = SwapIndexBits<0, 2>(x);
  x = SwapIndexBits<1, 5>(x);
  return SwapIndexBits<1, 3>(x);
}

// Each swap is an involution, so the inverse applies them in reverse order.
inline uint64_t InversePLayer(uint64_t x) {
  x = SwapIndexBits<1, 3>(x);
  x = SwapIndexBits<1, 5>(x);
  x = SwapIndexBits<0, 2>(x);
  return SwapIndexBits<0, 4>(x);
}

inline uint64_t LoadBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

inline void StoreBigEndian64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

using Uint128 = unsigned __int128;

// The key schedules of the PRESENT paper (CHES 2007, Sec. 3 for 80 bits and
// Appendix II for 128 bits). The key register is k_{w-1} ... k_0 with k_{w-1}
// the most significant bit of key byte 0. Round key K_i (i = 1..32) is the
// leftmost 64 bits of the register; after extracting it the register is
//   80-bit:  rotated left by 61 ([k79..k0] = [k18..k0 k79..k19]),
//            [k79..k76] = S[k79..k76], [k19..k15] ^= i;
//   128-bit: rotated left by 61, [k127..k124] = S[k127..k124],
//            [k123..k120] = S[k123..k120], [k66..k62] ^= i.
// The S-box goes through the bitsliced layer (the key is secret); the upper
// nibbles of that word are zero inputs whose outputs are masked off.
using RoundKeys = std::array<uint64_t, kRounds + 1>;

void WipeRegister(Uint128& reg) {
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&reg), sizeof(reg)));
}

void ExpandKey80(std::span<const uint8_t> key, RoundKeys& round_keys) {
  constexpr Uint128 kMask80 = (Uint128{1} << 80) - 1;
  Uint128 reg = 0;
  for (uint8_t byte : key) reg = (reg << 8) | byte;
  for (int i = 1; i <= kRounds + 1; ++i) {
    round_keys[i - 1] = static_cast<uint64_t>(reg >> 16);
    if (i == kRounds + 1) break;  // public loop bound
    reg = ((reg << 61) | (reg >> 19)) & kMask80;
    const uint64_t top = static_cast<uint64_t>(reg >> 76) & 0xF;
    reg ^= static_cast<Uint128>((PresentSboxLayer(top) ^ top) & 0xF) << 76;
    reg ^= static_cast<Uint128>(i) << 15;
  }
  WipeRegister(reg);
}

void ExpandKey128(std::span<const uint8_t> key, RoundKeys& round_keys) {
  Uint128 reg = 0;
  for (uint8_t byte : key) reg = (reg << 8) | byte;
  for (int i = 1; i <= kRounds + 1; ++i) {
    round_keys[i - 1] = static_cast<uint64_t>(reg >> 64);
    if (i == kRounds + 1) break;  // public loop bound
    reg = (reg << 61) | (reg >> 67);
    const uint64_t top = static_cast<uint64_t>(reg >> 120) & 0xFF;
    reg ^= static_cast<Uint128>((PresentSboxLayer(top) ^ top) & 0xFF) << 120;
    reg ^= static_cast<Uint128>(i) << 62;
  }
  WipeRegister(reg);
}

class Present final : public BlockCipher {
 public:
  // `key` is 10 or 16 bytes (checked by NewPresent).
  explicit Present(std::span<const uint8_t> key) : key_size_(key.size()) {
    if (key.size() == kKey80Bytes) {
      ExpandKey80(key, round_keys_);
    } else {
      ExpandKey128(key, round_keys_);
    }
  }

  ~Present() override {
    SecureWipe(
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(round_keys_.data()), sizeof(round_keys_)));
  }

  Present(const Present&) = delete;
  Present& operator=(const Present&) = delete;

  std::size_t block_size() const override { return kBlockBytes; }
  std::size_t key_size() const override { return key_size_; }

 protected:
  void DoEncrypt(const uint8_t* in, uint8_t* out) const override {
    uint64_t state = LoadBigEndian64(in);
    for (int round = 0; round < kRounds; ++round) {
      state ^= round_keys_[round];
      state = PLayer(PresentSboxLayer(state));
    }
    state ^= round_keys_[kRounds];
    StoreBigEndian64(state, out);
  }

  void DoDecrypt(const uint8_t* in, uint8_t* out) const override {
    uint64_t state = LoadBigEndian64(in) ^ round_keys_[kRounds];
    for (int round = kRounds - 1; round >= 0; --round) {
      state = PresentInverseSboxLayer(InversePLayer(state));
      state ^= round_keys_[round];
    }
    StoreBigEndian64(state, out);
  }

 private:
  std::size_t key_size_;
  RoundKeys round_keys_{};
};

}  // namespace

StatusOr<std::unique_ptr<BlockCipher>> NewPresent(std::span<const uint8_t> key) {
  if (key.size() != kKey80Bytes && key.size() != kKey128Bytes) {
    return InvalidArgumentError("PRESENT key must be 10 or 16 bytes");
  }
  return std::unique_ptr<BlockCipher>(new Present(key));
}

}  // namespace custos::lwc
