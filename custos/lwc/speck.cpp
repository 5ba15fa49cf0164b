#include "custos/lwc/speck.h"

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include "custos/core/secret_bytes.h"

namespace custos::lwc {
namespace {

// n-bit words held in the smallest native type that fits; 24- and 48-bit
// words carry garbage above bit n after a shift or an addition, so every
// result is masked back to n bits.
template <int kBits>
struct WordOps {
  using Word = std::conditional_t<(kBits <= 32), uint32_t, uint64_t>;
  static constexpr int kBytes = kBits / 8;
  static constexpr Word kMask =
      kBits == 8 * static_cast<int>(sizeof(Word)) ? ~Word{0} : (Word{1} << kBits) - 1;

  template <int kShift>
  static Word Rotl(Word x) {
    return static_cast<Word>((x << kShift) | (x >> (kBits - kShift))) & kMask;
  }
  template <int kShift>
  static Word Rotr(Word x) {
    return static_cast<Word>((x >> kShift) | (x << (kBits - kShift))) & kMask;
  }
  // The implementation guide's words are little-endian.
  static Word Load(const uint8_t* bytes) {
    Word word = 0;
    for (int i = kBytes - 1; i >= 0; --i) word = static_cast<Word>((word << 8) | bytes[i]);
    return word;
  }
  static void Store(Word word, uint8_t* bytes) {
    for (int i = 0; i < kBytes; ++i) bytes[i] = static_cast<uint8_t>(word >> (8 * i));
  }
};

// Largest round count of the family (SPECK128/256).
constexpr int kMaxRounds = 34;

template <int kBits>
class Speck final : public BlockCipher {
  using Ops = WordOps<kBits>;
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

std::string SizeName(int block_bits, int key_bits) {
  return "SPECK" + std::to_string(block_bits) + "/" + std::to_string(key_bits);
}

}  // namespace

StatusOr<std::unique_ptr<BlockCipher>> NewSpeck(int block_bits, int key_bits,
                                                std::span<const uint8_t> key) {
  const SpeckSize* size = nullptr;
  for (const SpeckSize& candidate : kSizes) {
    if (candidate.block_bits == block_bits && candidate.key_bits == key_bits) size = &candidate;
  }
  if (size == nullptr) {
    return InvalidArgumentError(
        "no such SPECK size " + SizeName(block_bits, key_bits) +
        "; block/key bits must be one of 32/64, 48/72, 48/96, 64/96, 64/128, 96/96, 96/144, "
        "128/128, 128/192, 128/256");
  }
  const std::size_t key_bytes = static_cast<std::size_t>(key_bits) / 8;
  if (key.size() != key_bytes) {
    return InvalidArgumentError(SizeName(block_bits, key_bits) + " key must be " +
                                std::to_string(key_bytes) + " bytes, got " +
                                std::to_string(key.size()));
  }
  const int word_bits = block_bits / 2;
  const int key_words = key_bits / word_bits;
  switch (word_bits) {
    case 16:
      return std::unique_ptr<BlockCipher>(new Speck<16>(key_words, size->rounds, key));
    case 24:
      return std::unique_ptr<BlockCipher>(new Speck<24>(key_words, size->rounds, key));
    case 32:
      return std::unique_ptr<BlockCipher>(new Speck<32>(key_words, size->rounds, key));
    case 48:
      return std::unique_ptr<BlockCipher>(new Speck<48>(key_words, size->rounds, key));
    case 64:
      return std::unique_ptr<BlockCipher>(new Speck<64>(key_words, size->rounds, key));
    default:
      return InternalError("SPECK size table has an unsupported word size");
  }
}

}  // namespace custos::lwc
