// File: custos/lwc/ascon.h
//
// Ascon as standardized in NIST SP 800-232 (August 2025): the authenticated
// cipher Ascon-AEAD128, the hash function Ascon-Hash256 and the extendable
// output functions Ascon-XOF128 and Ascon-CXOF128. All four are sponges over
// the same 320-bit permutation.
//
// These are the final-standard variants (little-endian byte order, new
// initial values); they do NOT interoperate with the Ascon v1.2 submission
// (Ascon-128a, Ascon-Hash, Ascon-Xof).
//
// Security: all code runs in time that depends only on the lengths of its
// inputs (bitsliced S-box, no secret-dependent branch or memory index).
// Ascon-AEAD128 has a 128-bit key, a 128-bit nonce that must never repeat
// under one key, and a 128-bit tag. For many independent messages at once
// see custos/lwc/ascon_batch.h.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto aead, NewAsconAead128(key));
//   CUSTOS_ASSIGN_OR_RETURN(auto sealed, aead->Seal(nonce, ad, plaintext));
//   auto hash = NewAsconHash256();
//   hash->Update(data);
//   std::vector<uint8_t> digest = hash->Final();
#ifndef CUSTOS_LWC_ASCON_H_
#define CUSTOS_LWC_ASCON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"
#include "custos/lwc/hash.h"

namespace custos::lwc {

// Sizes of Ascon-AEAD128 in bytes.
inline constexpr std::size_t kAsconAead128KeySize = 16;
inline constexpr std::size_t kAsconAead128NonceSize = 16;
inline constexpr std::size_t kAsconAead128TagSize = 16;

// Longest Ascon-CXOF128 customization string SP 800-232 allows (2048 bits).
inline constexpr std::size_t kAsconCxof128MaxCustomizationSize = 256;

// The raw Ascon-AEAD128 functions (key 16, nonce 16, tag 16 bytes), for
// NewRawAead and registries. The functions support in-place operation
// (out == in) and never branch on or index memory with key, nonce, state or
// message bytes. The returned object is a constant with static storage;
// thread-safe.
const RawAeadAlgorithm& AsconAead128Algorithm();

// Returns an Ascon-AEAD128 NonceAead holding a copy of `key` (wiped when the
// object is destroyed). InvalidArgument if key.size() != 16. The object is
// immutable and may be shared between threads; each (key, nonce) pair must
// seal at most one message.
StatusOr<std::unique_ptr<NonceAead>> NewAsconAead128(std::span<const uint8_t> key);

// Returns a new Ascon-Hash256 (32-byte digest, 8-byte block). Not
// thread-safe: one object per thread (Clone copies the state). The state is
// wiped on destruction.
std::unique_ptr<Hash> NewAsconHash256();

// Returns a new Ascon-XOF128 (unlimited output). Not thread-safe; the state
// is wiped on destruction. Update after the first Squeeze fails with
// FailedPrecondition until Reset.
std::unique_ptr<Xof> NewAsconXof128();

// Returns a new Ascon-CXOF128 bound to `customization` (the string Z of
// SP 800-232, at most 256 bytes; empty is allowed and differs from
// Ascon-XOF128). InvalidArgument if the customization is longer. Reset keeps
// the customization. Not thread-safe; the state is wiped on destruction.
StatusOr<std::unique_ptr<Xof>> NewAsconCxof128(std::span<const uint8_t> customization);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_ASCON_H_
