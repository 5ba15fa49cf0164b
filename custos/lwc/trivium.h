// File: custos/lwc/trivium.h
//
// Trivium (De Canniere and Preneel, eSTREAM portfolio, ISO/IEC 29192-3): a
// synchronous stream cipher with an 80-bit key, an 80-bit IV and a 288-bit
// state of three nonlinear shift registers, warmed up for 1152 steps before
// output. This implementation computes 64 keystream bits per step with word
// operations, the largest parallelism Trivium's taps allow.
//
// Byte order is that of the eSTREAM test vectors (see
// ../shared/data/kat/SOURCES.md): the specification's key bit K1 is bit 7 of
// the last key byte k[9], K80 is bit 0 of k[0] (the IV likewise), and
// keystream bit z1 is bit 0 of the first output byte.
//
// Usage:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<StreamCipher> trivium, NewTrivium(key, iv));
//   CUSTOS_RETURN_IF_ERROR(trivium->Process(plaintext, ciphertext));
//
// Trivium provides confidentiality only: pair it with a MAC. A (key, IV) pair
// must never be used for two messages, and the designers limit one (key, IV)
// pair to 2^64 keystream bits.
#ifndef CUSTOS_LWC_TRIVIUM_H_
#define CUSTOS_LWC_TRIVIUM_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/stream_cipher.h"

namespace custos::lwc {

// Returns a Trivium keystream generator for a 10-byte key and a 10-byte IV,
// positioned at the first keystream byte. InvalidArgument if either size is
// wrong. Successive Process calls continue the same keystream, whatever the
// split of the input. The object is not thread-safe (it holds the running
// state) and wipes its state on destruction. It runs in time independent of
// the key, IV and data: no secret-dependent branch or memory index.
StatusOr<std::unique_ptr<StreamCipher>> NewTrivium(std::span<const uint8_t> key,
                                                   std::span<const uint8_t> iv);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_TRIVIUM_H_
