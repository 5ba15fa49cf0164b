// File: custos/lwc/block_cipher.h
//
// BlockCipher: a keyed permutation of fixed-size blocks (PRESENT, SPECK,
// SIMON, AES). Byte order is that of the algorithm's reference vectors (see
// ../shared/data/kat/SOURCES.md; SPECK and SIMON use the NSA implementation
// guide's byte order). Objects hold an expanded key that is wiped on
// destruction, are immutable after creation and are safe to share between
// threads. Implementations have no secret-dependent branches or table
// indexes.
#ifndef CUSTOS_LWC_BLOCK_CIPHER_H_
#define CUSTOS_LWC_BLOCK_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "custos/core/status.h"

namespace custos::lwc {

class BlockCipher {
 public:
  virtual ~BlockCipher() = default;

  // Block length in bytes.
  virtual std::size_t block_size() const = 0;
  // Key length in bytes.
  virtual std::size_t key_size() const = 0;

  // Encrypts one block. InvalidArgument unless in and out are both exactly
  // block_size() bytes; they may be the same buffer.
  Status EncryptBlock(std::span<const uint8_t> in, std::span<uint8_t> out) const;
  // Decrypts one block; same contract as EncryptBlock.
  Status DecryptBlock(std::span<const uint8_t> in, std::span<uint8_t> out) const;

 protected:
  // `in` and `out` have exactly block_size() bytes and may alias.
  virtual void DoEncrypt(const uint8_t* in, uint8_t* out) const = 0;
  virtual void DoDecrypt(const uint8_t* in, uint8_t* out) const = 0;
};

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_BLOCK_CIPHER_H_
