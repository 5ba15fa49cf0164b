// File: custos/lwc/mac.h
//
// Mac: an incremental message authentication code (CMAC over a block cipher,
// HMAC over a hash). Reset, Update any number of times, then Final or Verify.
// An object holds the key (wiped on destruction) and per-message state: not
// thread-safe, use one per thread.
#ifndef CUSTOS_LWC_MAC_H_
#define CUSTOS_LWC_MAC_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "custos/core/status.h"

namespace custos::lwc {

class Mac {
 public:
  virtual ~Mac() = default;

  // Full tag length in bytes.
  virtual std::size_t tag_size() const = 0;
  // Forgets any input; the key stays.
  virtual void Reset() = 0;
  // Absorbs `data`.
  virtual void Update(std::span<const uint8_t> data) = 0;

  // Writes the tag of the input since the last Reset, then resets.
  // InvalidArgument if tag.size() != tag_size().
  Status FinalInto(std::span<uint8_t> tag);
  // As FinalInto, returning the tag.
  std::vector<uint8_t> Final();
  // Checks `tag` (the full tag, or a truncation of at least 4 bytes) against
  // the input since the last Reset in constant time, then resets.
  // Unauthenticated if it does not match.
  Status Verify(std::span<const uint8_t> tag);

 protected:
  // Writes the tag; `tag` has exactly tag_size() bytes. Must leave the object
  // reset.
  virtual void DoFinal(std::span<uint8_t> tag) = 0;
};

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_MAC_H_
