// SPONGENT hash, following the designers' reference code for byte and bit
// order: state bit i is bit i % 8 of state byte i / 8, held here as
// little-endian 64-bit words (bit i is bit i % 64 of word i / 64).
#include "custos/lwc/spongent.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/present_sbox.h"

namespace custos::lwc {
namespace {

using internal::GatherNibbleBits;
using internal::SpongentSboxLayer;

// The widest state (SPONGENT-256/256/16) is 272 bits: five words.
constexpr int kMaxWords = 5;

struct SpongentParams {
  int digest_bits;       // n
  int width_bits;        // b = c + r
  int rate_bytes;        // r / 8
  int rounds;            // R
  uint8_t counter_iv;    // initial value of the round counter LFSR
  uint8_t counter_mask;  // the LFSR's width, as a mask
  uint8_t counter_taps;  // bits XORed into the LFSR's feedback
};

// Rounds and counters as in the paper and the designers' reference code
// (lCounter): the counter is a 6-bit LFSR for 88 bits, 7-bit for
// 128/160/224 bits, 8-bit for 256 bits, shifting left with the parity of the
// tapped bits entering at bit 0.
constexpr SpongentParams kParams88 = {88, 88, 1, 45, 0x05, 0x3F, 0x30};
constexpr SpongentParams kParams128 = {128, 136, 1, 70, 0x7A, 0x7F, 0x60};
constexpr SpongentParams kParams160 = {160, 176, 2, 90, 0x45, 0x7F, 0x60};
constexpr SpongentParams kParams224 = {224, 240, 2, 120, 0x01, 0x7F, 0x60};
constexpr SpongentParams kParams256 = {256, 272, 2, 140, 0x9E, 0xFF, 0x8E};

const SpongentParams& ParamsFor(SpongentVariant variant) {
  switch (variant) {
    case SpongentVariant::k88:
      return kParams88;
    case SpongentVariant::k128:
      return kParams128;
    case SpongentVariant::k160:
      return kParams160;
    case SpongentVariant::k224:
      return kParams224;
    case SpongentVariant::k256:
      return kParams256;
  }
  return kParams128;  // unreachable for valid enumerators
}

// The round counter and its bit-reversal are public constants; these
// branches and loops depend on the round number only.
uint8_t NextCounter(const SpongentParams& params, uint8_t lfsr) {
  const int feedback = std::popcount(static_cast<unsigned>(lfsr & params.counter_taps)) & 1;
  return static_cast<uint8_t>(((lfsr << 1) | feedback) & params.counter_mask);
}

uint8_t Reverse8(uint8_t x) {
  uint8_t r = 0;
  for (int i = 0; i < 8; ++i) r = static_cast<uint8_t>(r | (((x >> i) & 1) << (7 - i)));
  return r;
}

using State = std::array<uint64_t, kMaxWords>;

// ORs `value` (at most 16 bits) into `state` at bit `offset`; the offset is a
// public constant of the permutation.
void OrBitsAt(State& state, int offset, uint64_t value) {
  const int word = offset / 64;
  const int shift = offset % 64;
  state[word] |= value << shift;
  if (shift > 48 && word + 1 < kMaxWords) state[word + 1] |= value >> (64 - shift);
}

// pi_b: R rounds of (counter XOR, S-box layer, bit permutation).
//
// The bit permutation sends bit j = 4q + k (bit k of nibble q) to
// k * b/4 + q (the paper's P_b(j) = j * b/4 mod (b - 1)): output slice k,
// b/4 bits long at offset k * b/4, is bit k of every nibble in order. So each
// word's bit k of its 16 nibbles is gathered into 16 bits with fixed masks
// and shifts and ORed into slice k at offset 16 * word.
void Permute(const SpongentParams& params, State& state) {
  const int width = params.width_bits;
  const int words = (width + 63) / 64;
  const int nibbles = width / 4;
  const int top_word = (width - 8) / 64;
  const int top_shift = (width - 8) % 64;  // at most 40 for the five widths
  uint8_t counter = params.counter_iv;
  State out{};
  for (int round = 0; round < params.rounds; ++round) {
    state[0] ^= counter;
    state[top_word] ^= uint64_t{Reverse8(counter)} << top_shift;
    counter = NextCounter(params, counter);
    out.fill(0);
    for (int w = 0; w < words; ++w) {
      const uint64_t substituted = SpongentSboxLayer(state[w]);
      // The top word may be partial; its unused nibbles are dropped here.
      const int valid = std::min(16, nibbles - 16 * w);
      const uint64_t valid_mask = (uint64_t{1} << valid) - 1;
      for (int k = 0; k < 4; ++k) {
        OrBitsAt(out, k * nibbles + 16 * w, GatherNibbleBits(substituted >> k) & valid_mask);
      }
    }
    state = out;
  }
  // The scratch copy equals the state; do not leave it on the stack.
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), sizeof(out)));
}

class Spongent final : public Hash {
 public:
  explicit Spongent(const SpongentParams& params) : params_(&params) {}
  Spongent(const Spongent&) = default;
  Spongent& operator=(const Spongent&) = delete;
  ~Spongent() override { Wipe(); }

  std::size_t digest_size() const override {
    return static_cast<std::size_t>(params_->digest_bits / 8);
  }
  std::size_t block_size() const override { return static_cast<std::size_t>(params_->rate_bytes); }

  void Reset() override { Wipe(); }

  void Update(std::span<const uint8_t> data) override {
    const std::size_t rate = block_size();
    for (uint8_t byte : data) {
      block_[buffered_++] = byte;
      if (buffered_ == rate) AbsorbBlock();
    }
  }

  std::unique_ptr<Hash> Clone() const override { return std::make_unique<Spongent>(*this); }

 protected:
  void DoFinal(std::span<uint8_t> digest) override {
    // Pad with a single 1 bit (the byte 0x80 for byte-aligned input) and
    // zeros up to the rate; the last block is always absorbed.
    const std::size_t rate = block_size();
    block_[buffered_] = 0x80;
    for (std::size_t i = buffered_ + 1; i < rate; ++i) block_[i] = 0;
    AbsorbBlock();
    // Squeeze r bits per permutation call, n/r blocks.
    for (std::size_t offset = 0; offset < digest.size(); offset += rate) {
      for (std::size_t i = 0; i < rate; ++i) {
        digest[offset + i] = static_cast<uint8_t>(state_[0] >> (8 * i));
      }
      if (offset + rate < digest.size()) Permute(*params_, state_);
    }
    Wipe();
  }

 private:
  void AbsorbBlock() {
    for (std::size_t i = 0; i < block_size(); ++i) state_[0] ^= uint64_t{block_[i]} << (8 * i);
    Permute(*params_, state_);
    buffered_ = 0;
  }

  void Wipe() {
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(state_.data()), sizeof(state_)));
    SecureWipe(block_);
    buffered_ = 0;
  }

  const SpongentParams* params_;
  State state_{};
  std::array<uint8_t, 2> block_{};
  std::size_t buffered_ = 0;
};

}  // namespace

std::unique_ptr<Hash> NewSpongent(SpongentVariant variant) {
  return std::make_unique<Spongent>(ParamsFor(variant));
}

}  // namespace custos::lwc
