// File: custos/lwc/stream_cipher.h
//
// StreamCipher: a keystream generator keyed with a key and an IV (Trivium).
// An object holds the running state: not thread-safe; the state is wiped on
// destruction. A (key, IV) pair must never encrypt two messages.
#ifndef CUSTOS_LWC_STREAM_CIPHER_H_
#define CUSTOS_LWC_STREAM_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "custos/core/status.h"

namespace custos::lwc {

class StreamCipher {
 public:
  virtual ~StreamCipher() = default;

  virtual std::size_t key_size() const = 0;
  virtual std::size_t iv_size() const = 0;

  // out = in XOR the next in.size() keystream bytes. InvalidArgument unless
  // out.size() == in.size(); they may be the same buffer.
  Status Process(std::span<const uint8_t> in, std::span<uint8_t> out);

 protected:
  // XORs the next `length` keystream bytes of `in` into `out` (may alias).
  virtual void DoProcess(const uint8_t* in, uint8_t* out, std::size_t length) = 0;
};

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_STREAM_CIPHER_H_
