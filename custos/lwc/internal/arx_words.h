// File: custos/lwc/internal/arx_words.h
//
// What SIMON and SPECK (Beaulieu et al., IACR ePrint 2013/404) share apart
// from their rounds: n-bit words for n = 16, 24, 32, 48 and 64, stored
// little-endian as in the NSA implementation guide, and the ten block/key
// sizes, each family's table of which is looked up, checked against the key
// and turned into a cipher over the right word type by NewArxCipher.
//
// Every operation here is a shift, rotation, mask or byte move on public
// positions: no branch and no memory index depends on the words' values, so
// they may hold keys and secret state.
//
// Private to custos/lwc.
#ifndef CUSTOS_LWC_INTERNAL_ARX_WORDS_H_
#define CUSTOS_LWC_INTERNAL_ARX_WORDS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "custos/core/status.h"
#include "custos/lwc/block_cipher.h"

namespace custos::lwc::internal {

// n-bit words held in the smallest native type that fits. 24- and 48-bit
// words carry garbage above bit n after a shift, an addition or a
// complement, so Rotl and Rotr mask their result back to n bits and callers
// mask the results of their own arithmetic with kMask.
template <int kBits>
struct ArxWord {
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
  // Reads kBytes bytes as a little-endian word (the implementation guide's
  // byte order).
  static Word Load(const uint8_t* bytes) {
    Word word = 0;
    for (int i = kBytes - 1; i >= 0; --i) word = static_cast<Word>((word << 8) | bytes[i]);
    return word;
  }
  // Writes the low kBytes bytes of `word` little-endian.
  static void Store(Word word, uint8_t* bytes) {
    for (int i = 0; i < kBytes; ++i) bytes[i] = static_cast<uint8_t>(word >> (8 * i));
  }
};

// "SPECK64/128": the family's name and a size, for messages.
inline std::string ArxSizeName(std::string_view family, int block_bits, int key_bits) {
  return std::string(family) + std::to_string(block_bits) + "/" + std::to_string(key_bits);
}

// Returns a cipher of `family` ("SIMON", "SPECK") for (block_bits, key_bits)
// keyed with `key`. `sizes` is the family's table (Table 3.1 or 4.1 of the
// paper): entries with int members block_bits and key_bits plus whatever the
// family needs. `make` builds the cipher:
//   make(std::integral_constant<int, word_bits>{}, const Size& size,
//        int key_words) -> std::unique_ptr<BlockCipher>
// with word_bits = block_bits / 2 and key_words = key_bits / word_bits.
// InvalidArgument if the size is not in the table or the key is not
// key_bits / 8 bytes; the messages name the family, the size and the sizes
// that exist, never key bytes.
template <typename Size, std::size_t kCount, typename Make>
StatusOr<std::unique_ptr<BlockCipher>> NewArxCipher(std::string_view family,
                                                    const Size (&sizes)[kCount], int block_bits,
                                                    int key_bits, std::span<const uint8_t> key,
                                                    Make make) {
  const Size* size = nullptr;
  for (const Size& candidate : sizes) {
    if (candidate.block_bits == block_bits && candidate.key_bits == key_bits) size = &candidate;
  }
  if (size == nullptr) {
    std::string known;
    for (const Size& candidate : sizes) {
      if (!known.empty()) known += ", ";
      known += std::to_string(candidate.block_bits) + "/" + std::to_string(candidate.key_bits);
    }
    return InvalidArgumentError("no such " + std::string(family) + " size " +
                                ArxSizeName(family, block_bits, key_bits) +
                                "; block/key bits must be one of " + known);
  }
  const std::size_t key_bytes = static_cast<std::size_t>(key_bits) / 8;
  if (key.size() != key_bytes) {
    return InvalidArgumentError(ArxSizeName(family, block_bits, key_bits) + " key must be " +
                                std::to_string(key_bytes) + " bytes, got " +
                                std::to_string(key.size()));
  }
  const int word_bits = block_bits / 2;
  const int key_words = key_bits / word_bits;
  switch (word_bits) {
    case 16:
      return make(std::integral_constant<int, 16>{}, *size, key_words);
    case 24:
      return make(std::integral_constant<int, 24>{}, *size, key_words);
    case 32:
      return make(std::integral_constant<int, 32>{}, *size, key_words);
    case 48:
      return make(std::integral_constant<int, 48>{}, *size, key_words);
    case 64:
      return make(std::integral_constant<int, 64>{}, *size, key_words);
    default:
      return InternalError(std::string(family) + " size table has an unsupported word size");
  }
}

}  // namespace custos::lwc::internal

#endif  // CUSTOS_LWC_INTERNAL_ARX_WORDS_H_
