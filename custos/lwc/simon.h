// File: custos/lwc/simon.h
//
// SIMON, the AND-rotate family of lightweight block ciphers of Beaulieu et al.
// (NSA, IACR ePrint 2013/404), in all ten sizes: block/key bits 32/64, 48/72,
// 48/96, 64/96, 64/128, 96/96, 96/144, 128/128, 128/192 and 128/256. A round
// uses only AND, rotation and XOR on n-bit words (n = block/2), so the cipher
// runs in constant time without tables.
//
// Byte order is that of the NSA "Simon and Speck Implementation Guide" v1.1:
// words are little-endian, word 0 first. For a block that is the byte string
// y || x (the paper's x is the second word); for a key it is k[0], k[1], ...
// As a result the byte strings are the byte-reversal of the paper's hex.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BlockCipher> simon, NewSimon(64, 128, key));
//   CUSTOS_RETURN_IF_ERROR(simon->EncryptBlock(block, block));
#ifndef CUSTOS_LWC_SIMON_H_
#define CUSTOS_LWC_SIMON_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/block_cipher.h"

namespace custos::lwc {

// Returns SIMON with `block_bits`-bit blocks keyed with `key`, which must be
// `key_bits` / 8 bytes. InvalidArgument if (block_bits, key_bits) is not one
// of the ten SIMON sizes or if the key has the wrong length. The returned
// object keeps only the expanded key (wiped on destruction), is immutable and
// may be shared between threads. No secret-dependent branches or indexes.
StatusOr<std::unique_ptr<BlockCipher>> NewSimon(int block_bits, int key_bits,
                                                std::span<const uint8_t> key);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_SIMON_H_
