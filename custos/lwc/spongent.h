// File: custos/lwc/spongent.h
//
// SPONGENT (Bogdanov, Knezevic, Leander, Toz, Varici, Verbauwhede, CHES 2011):
// a family of sponge hash functions whose permutation is PRESENT-like (a
// layer of 4-bit S-boxes, a bit permutation and a round counter). The five
// variants of the CHES 2011 paper are provided, named SPONGENT-n/c/r (digest
// bits / capacity / rate):
//
//   k88:  SPONGENT-88/80/8      k160: SPONGENT-160/160/16
//   k128: SPONGENT-128/128/8    k224: SPONGENT-224/224/16
//                               k256: SPONGENT-256/256/16
//
// Messages are byte strings; bytes and bits follow the designers' reference
// code (a message byte is XORed into the state with its bit 0 on state bit 0;
// padding is a 1 bit, i.e. the byte 0x80, then zeros to the rate).
//
// Usage:
//   std::unique_ptr<Hash> hash = NewSpongent(SpongentVariant::k128);
//   hash->Update(message);
//   std::vector<uint8_t> digest = hash->Final();
//
// SPONGENT's small state makes it slow in software (one permutation call per
// 1 or 2 message bytes) and its second-preimage security is below its digest
// length (see the paper); it exists here for interoperability with
// constrained devices.
#ifndef CUSTOS_LWC_SPONGENT_H_
#define CUSTOS_LWC_SPONGENT_H_

#include <memory>

#include "custos/lwc/hash.h"

namespace custos::lwc {

// The five SPONGENT variants of the CHES 2011 paper (see the file comment).
enum class SpongentVariant { k88, k128, k160, k224, k256 };

// Returns a fresh SPONGENT hash of the given variant: digest_size() is n/8
// bytes and block_size() the rate r/8 (1 or 2 bytes). Never fails. The object
// holds per-message state (not thread-safe; Clone it for another thread) and
// wipes that state on Reset and destruction. It runs without data-dependent
// branches or table look-ups (bitsliced S-box, fixed masks and shifts), so it
// may hash secrets.
std::unique_ptr<Hash> NewSpongent(SpongentVariant variant);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_SPONGENT_H_
