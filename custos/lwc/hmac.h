// File: custos/lwc/hmac.h
//
// HMAC (RFC 2104, FIPS 198-1) over any Hash of this library or of
// custos/crypto: HMAC-SHA-256, HMAC-Ascon-Hash256, ... The tag is
// H((K0 ^ opad) || H((K0 ^ ipad) || message)), where K0 is the key padded
// with zeros to the hash's block size, or the hash of the key if the key is
// longer than a block.
//
// The padded keys are kept in SecretBytes (wiped on free). The MAC is
// constant-time if the hash is. Truncated tags are checked with Mac::Verify,
// which accepts a prefix of 4 bytes or more.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Mac> hmac, NewHmac(crypto::NewSha256(), key));
//   hmac->Update(message);
//   CUSTOS_RETURN_IF_ERROR(hmac->Verify(tag));
#ifndef CUSTOS_LWC_HMAC_H_
#define CUSTOS_LWC_HMAC_H_

#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/status.h"
#include "custos/lwc/hash.h"
#include "custos/lwc/mac.h"

namespace custos::lwc {

// Returns HMAC over `hash` (taken over; its current state is discarded) keyed
// with `key`, of any length. A key longer than the pad is hashed first, as
// RFC 2104 prescribes. The pad is hash->block_size() bytes; for sponge hashes
// whose rate is shorter than their digest (Ascon-Hash256: 8 < 32) it is
// widened to the smallest multiple of the block that holds a digest, so that
// a hashed key always fits (for SHA-2 and SHA-3 this is plain RFC 2104). The
// tag is hash->digest_size() bytes. InvalidArgument if `hash` is null or its
// block size is zero. The Mac holds the padded keys (wiped on destruction)
// and the keyed hash state; it is not thread-safe (one per thread).
StatusOr<std::unique_ptr<Mac>> NewHmac(std::unique_ptr<Hash> hash, std::span<const uint8_t> key);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_HMAC_H_
