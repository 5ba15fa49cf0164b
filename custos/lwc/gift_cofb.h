// File: custos/lwc/gift_cofb.h
//
// GIFT-COFB, the NIST Lightweight Cryptography finalist (final-round
// specification, 2021): the COFB ("COmbined FeedBack") mode of operation
// over the GIFT-128 block cipher. A 128-bit key, a 128-bit nonce and a
// 128-bit tag; the ciphertext is as long as the plaintext and the tag follows
// it. Output is byte-for-byte that of the designers' reference code and of
// the NIST KAT file LWC_AEAD_KAT_128_128.txt.
//
// GIFT-128 is computed in the designers' bitsliced representation (four
// 32-bit words, one per bit of every S-box input): the S-box is a boolean
// formula and the bit permutation is made of shifts and masks, so that no
// branch and no memory address depends on the key, the nonce, the data or
// the state.
//
// Usage:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<NonceAead> aead, NewGiftCofb(key));
//   CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed, aead->Seal(nonce, ad, plaintext));
#ifndef CUSTOS_LWC_GIFT_COFB_H_
#define CUSTOS_LWC_GIFT_COFB_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"

namespace custos::lwc {

// Returns the description of raw GIFT-COFB (key 16, nonce 16, tag 16 bytes)
// for NewRawAead and the algorithm registry. The functions it names never
// branch on or index memory with secret data, and they support in-place
// operation (out == in). The object is a constant: safe to share.
const RawAeadAlgorithm& GiftCofbAlgorithm();

// Returns a GIFT-COFB NonceAead holding a copy of `key` (wiped when the
// object is destroyed). InvalidArgument unless key.size() == 16. Seal and
// Open then fail with InvalidArgument on a nonce that is not 16 bytes, and
// Open fails with Unauthenticated (output wiped) on a wrong tag. The object
// is immutable and thread-safe. A (key, nonce) pair must never seal two
// messages: COFB loses confidentiality and integrity under nonce reuse.
StatusOr<std::unique_ptr<NonceAead>> NewGiftCofb(std::span<const uint8_t> key);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_GIFT_COFB_H_
