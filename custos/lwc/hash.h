// File: custos/lwc/hash.h
//
// Incremental hash functions and extendable-output functions (XOFs): Reset
// (init), Update any number of times, then Final/Squeeze. Objects hold
// per-message state: not thread-safe, use one per thread (Clone copies the
// state). Hashes are public functions; they are still written without
// data-dependent branches or table look-ups so that they may hash secrets.
#ifndef CUSTOS_LWC_HASH_H_
#define CUSTOS_LWC_HASH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "custos/core/status.h"

namespace custos::lwc {

class Hash {
 public:
  virtual ~Hash() = default;

  // Digest length in bytes.
  virtual std::size_t digest_size() const = 0;
  // Input block length in bytes (used by HMAC).
  virtual std::size_t block_size() const = 0;
  // Returns to the initial state (forgets any input).
  virtual void Reset() = 0;
  // Absorbs `data`.
  virtual void Update(std::span<const uint8_t> data) = 0;
  // A copy of the current state.
  virtual std::unique_ptr<Hash> Clone() const = 0;

  // Writes the digest of everything absorbed since the last Reset to
  // `digest`, then resets. InvalidArgument (and no state change) if
  // digest.size() != digest_size().
  Status FinalInto(std::span<uint8_t> digest);
  // As FinalInto, returning the digest.
  std::vector<uint8_t> Final();

 protected:
  // Writes the digest; `digest` has exactly digest_size() bytes. Must leave
  // the object reset.
  virtual void DoFinal(std::span<uint8_t> digest) = 0;
};

class Xof {
 public:
  virtual ~Xof() = default;

  // Returns to the initial state (keeps any customization string).
  virtual void Reset() = 0;
  // A copy of the current state.
  virtual std::unique_ptr<Xof> Clone() const = 0;

  // Absorbs `data`. FailedPrecondition once squeezing has begun (call Reset).
  Status Update(std::span<const uint8_t> data);
  // Writes the next out.size() bytes of output; successive calls continue
  // the same output stream. The first call ends absorption.
  void Squeeze(std::span<uint8_t> out);
  // Convenience: Squeeze(`length` bytes).
  std::vector<uint8_t> Squeeze(std::size_t length);

 protected:
  // Absorbs data; called only before squeezing begins.
  virtual void DoUpdate(std::span<const uint8_t> data) = 0;
  // Pads and ends absorption; called once, before the first DoSqueeze.
  virtual void DoFinishAbsorb() = 0;
  // Writes the next out.size() bytes of the stream.
  virtual void DoSqueeze(std::span<uint8_t> out) = 0;
  // Implementations call this from Reset.
  void ResetPhase() { squeezing_ = false; }

 private:
  bool squeezing_ = false;
};

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_HASH_H_
