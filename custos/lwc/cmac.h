// File: custos/lwc/cmac.h
//
// CMAC (NIST SP 800-38B; OMAC1 of Iwata and Kurosawa; RFC 4493 for AES) over
// any 64-bit or 128-bit BlockCipher: CMAC-AES, CMAC-SPECK64/128,
// CMAC-PRESENT, ... The subkeys K1 and K2 are derived from E_K(0^b) by a
// doubling in GF(2^b) whose reduction is applied through a mask, never a
// branch, so the whole MAC is constant-time if the cipher is.
//
// The tag is one cipher block. Truncated tags (as SP 800-38B allows) are
// checked with Mac::Verify, which accepts a prefix of 4 bytes or more.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<BlockCipher> aes, crypto::NewAes(key));
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Mac> cmac, NewCmac(std::move(aes)));
//   cmac->Update(message);
//   std::vector<uint8_t> tag = cmac->Final();
#ifndef CUSTOS_LWC_CMAC_H_
#define CUSTOS_LWC_CMAC_H_

#include <memory>

#include "custos/core/status.h"
#include "custos/lwc/block_cipher.h"
#include "custos/lwc/mac.h"

namespace custos::lwc {

// Returns CMAC over `cipher`, which it takes ownership of. The reduction
// constant is Rb = 0x1B for 8-byte blocks and Rb = 0x87 for 16-byte blocks.
// InvalidArgument if `cipher` is null or its block is neither 8 nor 16 bytes.
// The Mac holds the subkeys and the chaining state, wiped on destruction
// (the cipher wipes its own key schedule). Not thread-safe: one per thread.
StatusOr<std::unique_ptr<Mac>> NewCmac(std::unique_ptr<BlockCipher> cipher);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_CMAC_H_
