#include "custos/lwc/simon.h"

#include <array>
#include <cstddef>
#include <memory>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/arx_words.h"

namespace custos::lwc {
namespace {

// Largest round count of the family (SIMON128/256).
constexpr int kMaxRounds = 72;

// The five round-constant sequences z0..z4 of the paper (period 62); bit t
// of each constant is the sequence's element t.
constexpr uint64_t kZ[5] = {0x19c3522fb386a45f, 0x16864fb8ad0c9f71, 0x3369f885192c0ef5,
                            0x3c2ce51207a635db, 0x3dc94c3a046d678b};

template <int kBits>
class Simon final : public BlockCipher {
  using Ops = internal::ArxWord<kBits>;
  using Word = typename Ops::Word;

 public:
  Simon(int key_words, int rounds, int z_index, std::span<const uint8_t> key)
      : key_words_(key_words), rounds_(rounds) {
    const int m = key_words;
    for (int i = 0; i < m; ++i) round_keys_[i] = Ops::Load(key.data() + i * Ops::kBytes);
    // The paper's c ^ k[i-m] with c = 2^n - 4 is ~k[i-m] ^ 3 on n bits.
    const uint64_t z = kZ[z_index];
    for (int i = m; i < rounds; ++i) {
      Word tmp = Ops::template Rotr<3>(round_keys_[i - 1]);
      if (m == 4) tmp ^= round_keys_[i - 3];
      tmp ^= Ops::template Rotr<1>(tmp);
      const Word z_bit = static_cast<Word>((z >> ((i - m) % 62)) & 1);
      round_keys_[i] = (~round_keys_[i - m] & Ops::kMask) ^ tmp ^ z_bit ^ Word { 3 };
    }
  }
  ~Simon() override {
    SecureWipe(
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(round_keys_.data()), sizeof(round_keys_)));
  }
  Simon(const Simon&) = delete;
  Simon& operator=(const Simon&) = delete;

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
      const Word next_x = y ^ F(x) ^ round_keys_[i];
      y = x;
      x = next_x;
    }
    Ops::Store(y, out);
    Ops::Store(x, out + Ops::kBytes);
  }

  void DoDecrypt(const uint8_t* in, uint8_t* out) const override {
    Word y = Ops::Load(in);
    Word x = Ops::Load(in + Ops::kBytes);
    for (int i = rounds_ - 1; i >= 0; --i) {
      const Word previous_y = x ^ F(y) ^ round_keys_[i];
      x = y;
      y = previous_y;
    }
    Ops::Store(y, out);
    Ops::Store(x, out + Ops::kBytes);
  }

 private:
  static Word F(Word x) {
    return (Ops::template Rotl<1>(x) & Ops::template Rotl<8>(x)) ^ Ops::template Rotl<2>(x);
  }

  int key_words_;
  int rounds_;
  std::array<Word, kMaxRounds> round_keys_{};
};

struct SimonSize {
  int block_bits;
  int key_bits;
  int rounds;
  int z_index;
};

// Table 3.1 of the paper.
constexpr SimonSize kSizes[] = {
    {32, 64, 32, 0}, {48, 72, 36, 0},  {48, 96, 36, 1},   {64, 96, 42, 2},   {64, 128, 44, 3},
    {96, 96, 52, 2}, {96, 144, 54, 3}, {128, 128, 68, 2}, {128, 192, 69, 3}, {128, 256, 72, 4},
};

}  // namespace

StatusOr<std::unique_ptr<BlockCipher>> NewSimon(int block_bits, int key_bits,
                                                std::span<const uint8_t> key) {
  return internal::NewArxCipher(
      "SIMON", kSizes, block_bits, key_bits, key,
      [key](auto word_bits, const SimonSize& size, int key_words) -> std::unique_ptr<BlockCipher> {
        return std::make_unique<Simon<decltype(word_bits)::value>>(key_words, size.rounds,
                                                                   size.z_index, key);
      });
}

}  // namespace custos::lwc
