// File: custos/lwc/internal/swap_move.h
//
// SwapMove, the "delta swap" of bitsliced implementations: it exchanges the
// bits of a word selected by a mask with the bits `shift` places higher. A
// sequence of them permutes bits without tables; GIFT-COFB and
// PHOTON-Beetle use it to move between the specifications' cell order and
// their bit planes. Mask and shift are public constants: no branch and no
// memory index depends on the word, so it may hold keys and secret state.
//
// Private to custos/lwc.
#ifndef CUSTOS_LWC_INTERNAL_SWAP_MOVE_H_
#define CUSTOS_LWC_INTERNAL_SWAP_MOVE_H_

#include <cstdint>
#include <type_traits>

namespace custos::lwc::internal {

// Returns `x` with bit p and bit p + shift exchanged for every bit p set in
// `mask`. `mask` must not select a bit p whose bit p + shift it also
// selects (so the pairs are disjoint), and its highest bit plus `shift` must
// stay inside the word. Word is uint32_t or uint64_t (no integer promotion
// can occur).
template <typename Word>
requires std::is_same_v<Word, uint32_t> || std::is_same_v<Word, uint64_t>
constexpr Word SwapMove(Word x, std::type_identity_t<Word> mask, int shift) {
  const Word t = ((x >> shift) ^ x) & mask;
  return x ^ t ^ (t << shift);
}

}  // namespace custos::lwc::internal

#endif  // CUSTOS_LWC_INTERNAL_SWAP_MOVE_H_
