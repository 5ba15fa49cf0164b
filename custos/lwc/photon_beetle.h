// File: custos/lwc/photon_beetle.h
//
// PHOTON-Beetle, the NIST Lightweight Cryptography finalist (final-round
// specification, 2021): the Beetle sponge mode over the PHOTON-256
// permutation. Two members are provided:
//
//  - PHOTON-Beetle-AEAD[128]: rate 128 bits, 128-bit key, nonce and tag; the
//    ciphertext is as long as the plaintext and the tag follows it.
//  - PHOTON-Beetle-Hash[32]: a 256-bit digest; the first 128 bits of a message
//    are taken in at once, the rest at a rate of 32 bits.
//
// Output is byte-for-byte that of the designers' reference code and of the
// NIST KAT files LWC_AEAD_KAT_128_128.txt and LWC_HASH_KAT_256.txt.
//
// PHOTON-256 is computed on four 64-bit bit-planes (bit p of each of the 64
// nibbles): the 4-bit S-box is a boolean formula, ShiftRows is masked
// rotations and MixColumnSerial is a fixed linear map over GF(2^4) made of
// shifts and XORs, so that no branch and no memory address depends on the
// key, the data or the state.
//
// Usage:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<NonceAead> aead, NewPhotonBeetleAead128(key));
//   std::unique_ptr<Hash> hash = NewPhotonBeetleHash256();
//   hash->Update(message);
//   std::vector<uint8_t> digest = hash->Final();
#ifndef CUSTOS_LWC_PHOTON_BEETLE_H_
#define CUSTOS_LWC_PHOTON_BEETLE_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"
#include "custos/lwc/hash.h"

namespace custos::lwc {

// Returns the description of raw PHOTON-Beetle-AEAD[128] (key 16, nonce 16,
// tag 16 bytes) for NewRawAead and the algorithm registry. The functions it
// names never branch on or index memory with secret data, and they support
// in-place operation (out == in). The object is a constant: safe to share.
const RawAeadAlgorithm& PhotonBeetleAead128Algorithm();

// Returns a PHOTON-Beetle-AEAD[128] NonceAead holding a copy of `key` (wiped
// when the object is destroyed). InvalidArgument unless key.size() == 16.
// Seal and Open then fail with InvalidArgument on a nonce that is not 16
// bytes, and Open fails with Unauthenticated (output wiped) on a wrong tag.
// The object is immutable and thread-safe. A (key, nonce) pair must never
// seal two messages.
StatusOr<std::unique_ptr<NonceAead>> NewPhotonBeetleAead128(std::span<const uint8_t> key);

// Returns a fresh PHOTON-Beetle-Hash[32] object: digest_size() 32,
// block_size() 4 (the 32-bit absorption rate). Never fails. The object holds
// per-message state: not thread-safe, use one per thread (Clone copies it).
// Its state is wiped on destruction and it runs in time independent of the
// data, so it may hash secrets.
std::unique_ptr<Hash> NewPhotonBeetleHash256();

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_PHOTON_BEETLE_H_
