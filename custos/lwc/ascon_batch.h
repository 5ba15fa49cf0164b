// File: custos/lwc/ascon_batch.h
//
// Ascon-AEAD128 (NIST SP 800-232) over many independent messages at once,
// for a gateway that seals or opens a burst of small messages, each with its
// own key, nonce, associated data and payload. The results are exactly those
// of the single-message NewAsconAead128() (same bytes, same statuses).
//
// How: SIMD across messages. Each SIMD lane carries one message's 320-bit
// state (state word i of 4 messages in one AVX2 register, of 8 messages in
// one AVX-512 register). A scalar scheduler feeds the lanes: between two
// permutation calls it does each lane's block work (absorb associated data,
// encrypt or decrypt a block, add key and domain separation, emit the tag)
// and, when a lane's message is done, starts the next queued message in
// that lane. Messages of any mix of lengths therefore keep all lanes busy;
// when some lanes need the 12-round permutation (initialization,
// finalization) while others need 8 rounds, the first four rounds are
// applied to the 12-round lanes only (the others keep their state through a
// blend), so no lane ever sees a wrong round count.
//
// Backends are chosen at run time (__builtin_cpu_supports): AVX-512F
// (8 lanes, native rotations, three-input logic), AVX2 (4 lanes), or a
// portable loop over the single-message code. The library needs no global
// -mavx flags and runs on any x86-64 (or other) CPU.
//
// Security: the schedule (which lane does what, how many rounds) depends only
// on the lengths of the inputs, which are public; no branch or memory index
// depends on keys, nonces, state or message bytes. Tags are compared with
// CtEqual; a message whose tag does not verify gets its output wiped to zero.
// Each (key, nonce) pair must seal at most one message, as for any use of
// Ascon-AEAD128.
//
// Example:
//   std::vector<AsconSealRequest> requests = ...;  // spans into caller memory
//   CUSTOS_RETURN_IF_ERROR(AsconAead128SealBatch(requests));
#ifndef CUSTOS_LWC_ASCON_BATCH_H_
#define CUSTOS_LWC_ASCON_BATCH_H_

#include <cstdint>
#include <span>
#include <vector>

#include "custos/core/status.h"

namespace custos::lwc {

// One message to seal. All spans point into caller memory, which must stay
// valid for the call. `key` and `nonce` are 16 bytes; `out` receives
// ciphertext || tag and must be exactly plaintext.size() + 16 bytes. `out`
// may start at plaintext.data() (in place); otherwise the buffers of one
// request, and the output of any request and the buffers of any other
// request, must not overlap.
struct AsconSealRequest {
  std::span<const uint8_t> key;
  std::span<const uint8_t> nonce;
  std::span<const uint8_t> ad;
  std::span<const uint8_t> plaintext;
  std::span<uint8_t> out;
};

// One message to open. `ciphertext_and_tag` is ciphertext || 16-byte tag;
// `out` receives the plaintext and must be exactly
// ciphertext_and_tag.size() - 16 bytes; it may start at
// ciphertext_and_tag.data() (in place). Same overlap rules as for
// AsconSealRequest.
struct AsconOpenRequest {
  std::span<const uint8_t> key;
  std::span<const uint8_t> nonce;
  std::span<const uint8_t> ad;
  std::span<const uint8_t> ciphertext_and_tag;
  std::span<uint8_t> out;
};

// The implementation to use. kAuto picks the fastest one the CPU supports
// (AVX-512F, else AVX2, else portable); the others exist so that tests and
// benchmarks can exercise each one.
enum class AsconBatchBackend { kAuto, kPortable, kAvx2, kAvx512 };

// True if `backend` can run on this CPU (kAuto and kPortable always can).
// Thread-safe.
bool AsconBatchBackendAvailable(AsconBatchBackend backend);

// Seals every request. InvalidArgument (naming the first bad request) if any
// key, nonce or output size is wrong; nothing is written in that case.
// FailedPrecondition if `backend` is not available on this CPU. Thread-safe
// (no shared state); requests must not share output memory.
Status AsconAead128SealBatch(std::span<const AsconSealRequest> requests,
                             AsconBatchBackend backend = AsconBatchBackend::kAuto);

// Opens every request independently; element i of the result is the status
// of requests[i]: OK (plaintext written), Unauthenticated (tag mismatch; that
// request's `out` is wiped to zero, with no detail), or InvalidArgument (a
// size is wrong; nothing written for that request). If `backend` is not
// available, every element is FailedPrecondition and nothing is written.
// Thread-safe (no shared state).
std::vector<Status> AsconAead128OpenBatch(std::span<const AsconOpenRequest> requests,
                                          AsconBatchBackend backend = AsconBatchBackend::kAuto);

}  // namespace custos::lwc

#endif  // CUSTOS_LWC_ASCON_BATCH_H_
