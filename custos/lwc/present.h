// File: custos/lwc/present.h
//
// PRESENT (Bogdanov et al., CHES 2007; ISO/IEC 29192-2): a 64-bit block
// cipher of 31 rounds, each an XOR with a round key, a layer of sixteen 4-bit
// S-boxes and a fixed bit permutation. PRESENT-80 takes a 10-byte key and
// PRESENT-128 a 16-byte key; the two differ only in the key schedule.
//
// Byte order is that of the paper's test vectors: the first byte of a key or
// block holds its most significant bits (key bit 79, resp. 127, is bit 7 of
// byte 0; state bit 63 is bit 7 of block byte 0).
//
// Usage:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BlockCipher> present, NewPresent(key));
//   CUSTOS_RETURN_IF_ERROR(present->EncryptBlock(block, block));
//
// A 64-bit block is small: after about 2^32 blocks under one key, collisions
// leak plaintext relations; use PRESENT only where its size is required.
#ifndef CUSTOS_LWC_PRESENT_H_
#define CUSTOS_LWC_PRESENT_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/block_cipher.h"

namespace custos::lwc {

// Returns a PRESENT block cipher (8-byte blocks) keyed with `key`: 10 bytes
// select PRESENT-80, 16 bytes PRESENT-128. InvalidArgument for any other key
// length. The object holds its 32 round keys, wipes them on destruction, is
// immutable and may be shared between threads. Encryption and decryption
// run in time independent of the key and data (bitsliced S-box, the bit
// permutation by fixed shifts and masks).
StatusOr<std::unique_ptr<BlockCipher>> NewPresent(std::span<const uint8_t> key);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_PRESENT_H_
