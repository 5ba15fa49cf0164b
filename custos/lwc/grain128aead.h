// File: custos/lwc/grain128aead.h
//
// Grain-128AEADv2 (Hell, Johansson, Maximov, Meier, Sonnerup, Yoshida; NIST
// lightweight-cryptography finalist, final-round version): an authenticated
// stream cipher built from a 128-bit LFSR, a 128-bit NFSR and a 64-bit
// accumulator. The pre-output stream is split in two: even bits encrypt,
// odd bits feed the authenticator, which accumulates over
// DER(len(AD)) || AD || message || 1. Key 16 bytes, nonce 12 bytes, tag 8
// bytes; ciphertext is as long as the plaintext, followed by the tag.
//
// Byte order is that of the NIST KAT files (the designers' optimised code):
// every byte of key, nonce, data and tag is read least significant bit
// first. This implementation clocks the registers 32 steps per word
// operation and runs in time independent of the key, nonce and data.
//
// Usage:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<NonceAead> aead, NewGrain128AeadV2(key));
//   CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed, aead->Seal(nonce, ad, plaintext));
//
// Security: a (key, nonce) pair must never be used twice. The 64-bit tag
// gives 64-bit forgery resistance per attempt; the designers limit one key
// to 2^80 processed bits.
#ifndef CUSTOS_LWC_GRAIN128AEAD_H_
#define CUSTOS_LWC_GRAIN128AEAD_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"

namespace custos::lwc {

// The raw Grain-128AEADv2 algorithm: key_size 16, nonce_size 12, tag_size 8.
// Its functions support in-place operation (io.out == io.in) and never
// branch on or index memory with secret data. The returned object is a
// constant that lives for the whole program; safe to use from any thread.
const RawAeadAlgorithm& Grain128AeadV2Algorithm();

// Returns a NonceAead for Grain-128AEADv2 holding a copy of `key` (16 bytes),
// made with NewRawAead. InvalidArgument if the key is not 16 bytes. The
// object is immutable and thread-safe; see custos/lwc/aead.h for the Seal and
// Open contracts (Open wipes its output and returns Unauthenticated when the
// tag does not verify).
StatusOr<std::unique_ptr<NonceAead>> NewGrain128AeadV2(std::span<const uint8_t> key);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_GRAIN128AEAD_H_
