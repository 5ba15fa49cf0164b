#include "custos/lwc/speck.h"

#include <array>
#include <cstddef>
#include <memory>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/arx_words.h"

namespace custos::lwc {
namespace {

// Largest round count of the family (SPECK128/256).
constexpr int kMaxRounds = 34;

template <int kBits>
class Speck final : public BlockCipher {
  using Ops = internal::ArxWord<kBits>;
  using Word = typename Ops::Word;
  // Rotation amounts: 7 and 2 for the 16-bit words of SPECK32, else 8 and 3.
  static constexpr int kAlpha = kBits == 16 ? 7 : 8;
  static constexpr int kBeta = kBits == 16 ? 2 : 3;

 public:
  Speck(int key_words, int rounds, std::span<const uint8_t> key)
      : key_words_(key_words), rounds_(rounds) {
    // Key words k[0], l[0], ..., l[m-2] in that byte order. The l words form
    // a ring of m-1 entries: step i reads l[i] and writes l[i+m-1] in its place.
    Word k = Ops::Load(key.data());
    std::array<Word, 3> l{};
    const int ring = key_words - 1;
    for (int j = 0; j < ring; ++j) l[j] = Ops::Load(key.data() + (j + 1) * Ops::kBytes);
    round_keys_[0] = k;
    for (int i = 0; i + 1 < rounds; ++i) {
      Word& slot = l[i % ring];
      slot = ((k + Ops::template Rotr<kAlpha>(slot)) & Ops::kMask) ^ static_cast<Word>(i);
      k = Ops::template Rotl<kBeta>(k) ^ slot;
      round_keys_[i + 1] = k;
    }
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(l.data()), sizeof(l)));
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&k), sizeof(k)));
  }
  ~Speck() override {
    SecureWipe(
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(round_keys_.data()), sizeof(round_keys_)));
  }
  Speck(const Speck&) = delete;
  Speck& operator=(const Speck&) = delete;

  std::size_t block_size() const override { return 2 * Ops::kBytes; }
  std::size_t key_size() const override {
    return static_cast<std::size_t>(key_words_) * Ops::kBytes;
  }

 protected:
  // Block bytes are y || x (word 0 is y).
  void DoEncrypt(const uint8_t* in, uint8_t* out) const override {
    Word y = Ops::Load(in);
    Word x = Ops::Load(in + Ops::kBytes);
    for (int i = 0; i < rounds_; ++i) {
      x = ((Ops::template Rotr<kAlpha>(x) + y) & Ops::kMask) ^ round_keys_[i];
      y = Ops::template Rotl<kBeta>(y) ^ x;
    }
    Ops::Store(y, out);
    Ops::Store(x, out + Ops::kBytes);
  }

  void DoDecrypt(const uint8_t* in, uint8_t* out) const override {
    Word y = Ops::Load(in);
    Word x = Ops::Load(in + Ops::kBytes);
    for (int i = rounds_ - 1; i >= 0; --i) {
      y = Ops::template Rotr<kBeta>(y ^ x);
      x = Ops::template Rotl<kAlpha>(((x ^ round_keys_[i]) - y) & Ops::kMask);
    }
    Ops::Store(y, out);
    Ops::Store(x, out + Ops::kBytes);
  }

 private:
  int key_words_;
  int rounds_;
  std::array<Word, kMaxRounds> round_keys_{};
};

struct SpeckSize {
  int block_bits;
  int key_bits;
  int rounds;
};

// Table 4.1 of the paper.
constexpr SpeckSize kSizes[] = {
    {32, 64, 22}, {48, 72, 22},  {48, 96, 23},   {64, 96, 26},   {64, 128, 27},
    {96, 96, 28}, {96, 144, 29}, {128, 128, 32}, {128, 192, 33}, {128, 256, 34},
};

}  // namespace

StatusOr<std::unique_ptr<BlockCipher>> NewSpeck(int block_bits, int key_bits,
                                                std::span<const uint8_t> key) {
  return internal::NewArxCipher(
      "SPECK", kSizes, block_bits, key_bits, key,
      [key](auto word_bits, const SpeckSize& size, int key_words) -> std::unique_ptr<BlockCipher> {
        return std::make_unique<Speck<decltype(word_bits)::value>>(key_words, size.rounds, key);
      });
}

}  // namespace custos::lwc
