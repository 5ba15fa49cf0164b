// Ascon-AEAD128 over many messages at once: a scalar lane scheduler around
// SIMD permutations (AVX2: 4 lanes, AVX-512F: 8 lanes). See ascon_batch.h
// for the design; the comments here say why the code looks as it does.
#include "custos/lwc/ascon_batch.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "custos/core/ct.h"
#include "custos/core/secret_bytes.h"
#include "custos/lwc/aead.h"
#include "custos/lwc/ascon.h"
#include "custos/lwc/internal/ascon_permutation.h"

namespace custos::lwc {
namespace {

using internal::AsconLoad64;
using internal::AsconLoadPartial;
using internal::AsconLowBytesMask;
using internal::AsconPad;
using internal::AsconRoundConstant;
using internal::AsconStore64;
using internal::AsconStorePartial;

constexpr std::size_t kKeySize = kAsconAead128KeySize;
constexpr std::size_t kNonceSize = kAsconAead128NonceSize;
constexpr std::size_t kTagSize = kAsconAead128TagSize;
constexpr std::size_t kRate = 16;
// Lanes per permutation call: two independent groups of vectors (2 x 4 for
// AVX2, 2 x 8 for AVX-512), because one group alone leaves the vector units
// waiting on the dependency chain of the rounds (measured on Zen 4: 22 cycles
// per AVX-512 round for one group, 16.6 per group with two interleaved).
constexpr int kMaxLanes = 16;

// One message whose sizes have been checked. Seal: in = plaintext, out =
// ciphertext, tag_out = where the tag goes. Open: in = ciphertext, out =
// plaintext, received_tag = the tag to check, status = where the verdict goes.
struct Job {
  const uint8_t* key;
  const uint8_t* nonce;
  const uint8_t* ad;
  std::size_t ad_size;
  const uint8_t* in;
  std::size_t in_size;
  uint8_t* out;
  uint8_t* tag_out;
  const uint8_t* received_tag;
  Status* status;
};

// The states of all lanes, word-major: x[w] holds word w of every lane, so
// that consecutive lanes load as vectors (AVX2: x[w][0..3] and x[w][4..7];
// AVX-512: x[w][0..7] and x[w][8..15]).
struct alignas(64) LaneStates {
  uint64_t x[5][kMaxLanes];
};

// Applies Ascon-p[12] to the lanes in `mask12` and Ascon-p[8] to the lanes in
// `mask8` (bit i = lane i); other lanes are idle and their result is ignored.
// Called only with at least one lane in either mask.
using PermuteLanesFn = void (*)(LaneStates& states, unsigned mask12, unsigned mask8);

enum class Phase : uint8_t { kIdle, kAfterInit, kAd, kAfterAd, kMessage, kAfterFinal };

// The scalar side of one lane: where its message is and what comes next.
struct Lane {
  const Job* job = nullptr;
  const uint8_t* ad = nullptr;
  std::size_t ad_left = 0;
  const uint8_t* in = nullptr;
  uint8_t* out = nullptr;
  std::size_t in_left = 0;
  uint64_t k0 = 0;
  uint64_t k1 = 0;
  uint8_t received_tag[kTagSize] = {};
  Phase phase = Phase::kIdle;
};

// Runs lane `i` up to the next permutation its message needs and returns the
// number of rounds (12 or 8), or 0 once no message is left for it. The steps
// are those of the single-message code in ascon.cpp (SP 800-232,
// Algorithms 3 and 4); every branch is on lengths only. The full blocks of
// associated data and message, the common case, are handled before the call
// by AdvanceFullBlock.
template <bool kOpen>
[[gnu::noinline]] int Advance(Lane& lane, LaneStates& states, int i, std::span<const Job> jobs,
                              std::size_t& next_job) {
  uint64_t& x0 = states.x[0][i];
  uint64_t& x1 = states.x[1][i];
  uint64_t& x2 = states.x[2][i];
  uint64_t& x3 = states.x[3][i];
  uint64_t& x4 = states.x[4][i];
  for (;;) {
    switch (lane.phase) {
      case Phase::kIdle: {
        if (next_job == jobs.size()) return 0;
        const Job& job = jobs[next_job++];
        lane.job = &job;
        lane.ad = job.ad;
        lane.ad_left = job.ad_size;
        lane.in = job.in;
        lane.out = job.out;
        lane.in_left = job.in_size;
        lane.k0 = AsconLoad64(job.key);
        lane.k1 = AsconLoad64(job.key + 8);
        if constexpr (kOpen) std::memcpy(lane.received_tag, job.received_tag, kTagSize);
        x0 = internal::kAsconAead128Iv;
        x1 = lane.k0;
        x2 = lane.k1;
        x3 = AsconLoad64(job.nonce);
        x4 = AsconLoad64(job.nonce + 8);
        lane.phase = Phase::kAfterInit;
        return 12;
      }
      case Phase::kAfterInit:
        x3 ^= lane.k0;
        x4 ^= lane.k1;
        lane.phase = lane.ad_left != 0 ? Phase::kAd : Phase::kAfterAd;
        continue;
      case Phase::kAd: {
        const uint8_t* ad = lane.ad;
        const std::size_t n = lane.ad_left;
        if (n >= kRate) {
          x0 ^= AsconLoad64(ad);
          x1 ^= AsconLoad64(ad + 8);
          lane.ad += kRate;
          lane.ad_left -= kRate;
          return 8;
        }
        if (n >= 8) {
          x0 ^= AsconLoad64(ad);
          x1 ^= AsconLoadPartial(ad + 8, n - 8) ^ AsconPad(n - 8);
        } else {
          x0 ^= AsconLoadPartial(ad, n) ^ AsconPad(n);
        }
        lane.phase = Phase::kAfterAd;
        return 8;
      }
      case Phase::kAfterAd:
        x4 ^= internal::kAsconDomainSeparation;
        lane.phase = Phase::kMessage;
        continue;
      case Phase::kMessage: {
        const uint8_t* in = lane.in;
        uint8_t* out = lane.out;
        const std::size_t n = lane.in_left;
        if (n >= kRate) {
          // Both input words are read before any output is written (in place).
          const uint64_t w0 = AsconLoad64(in);
          const uint64_t w1 = AsconLoad64(in + 8);
          if constexpr (kOpen) {
            AsconStore64(out, x0 ^ w0);
            AsconStore64(out + 8, x1 ^ w1);
            x0 = w0;
            x1 = w1;
          } else {
            x0 ^= w0;
            x1 ^= w1;
            AsconStore64(out, x0);
            AsconStore64(out + 8, x1);
          }
          lane.in += kRate;
          lane.out += kRate;
          lane.in_left -= kRate;
          return 8;
        }
        uint64_t* last = &x0;  // the word holding the final partial bytes
        std::size_t m = n;
        if (n >= 8) {
          const uint64_t w0 = AsconLoad64(in);
          if constexpr (kOpen) {
            AsconStore64(out, x0 ^ w0);
            x0 = w0;
          } else {
            x0 ^= w0;
            AsconStore64(out, x0);
          }
          last = &x1;
          in += 8;
          out += 8;
          m -= 8;
        }
        const uint64_t w = AsconLoadPartial(in, m);
        if constexpr (kOpen) {
          AsconStorePartial(out, *last ^ w, m);
          *last = (*last & ~AsconLowBytesMask(m)) ^ w ^ AsconPad(m);
        } else {
          *last ^= w ^ AsconPad(m);
          AsconStorePartial(out, *last, m);
        }
        x2 ^= lane.k0;
        x3 ^= lane.k1;
        lane.phase = Phase::kAfterFinal;
        return 12;
      }
      case Phase::kAfterFinal: {
        const Job& job = *lane.job;
        if constexpr (kOpen) {
          uint8_t tag[kTagSize];
          AsconStore64(tag, x3 ^ lane.k0);
          AsconStore64(tag + 8, x4 ^ lane.k1);
          const bool ok = CtEqual(tag, lane.received_tag);
          SecureWipe(tag);
          if (ok) {
            *job.status = OkStatus();
          } else {
            SecureWipe(std::span<uint8_t>(job.out, job.in_size));
            *job.status = UnauthenticatedError("authentication failed");
          }
        } else {
          AsconStore64(job.tag_out, x3 ^ lane.k0);
          AsconStore64(job.tag_out + 8, x4 ^ lane.k1);
        }
        lane.phase = Phase::kIdle;
        continue;
      }
    }
  }
}

// The hot path of Advance, inlined into the lane loop: one full block of
// message (or of associated data) followed by Ascon-p[8]. Returns false,
// having done nothing, if the lane is not at such a block.
template <bool kOpen>
[[gnu::always_inline]] inline bool AdvanceFullBlock(Lane& lane, LaneStates& states, int i) {
  if (lane.phase == Phase::kMessage && lane.in_left >= kRate) {
    const uint64_t w0 = AsconLoad64(lane.in);
    const uint64_t w1 = AsconLoad64(lane.in + 8);
    uint64_t x0 = states.x[0][i];
    uint64_t x1 = states.x[1][i];
    if constexpr (kOpen) {
      AsconStore64(lane.out, x0 ^ w0);
      AsconStore64(lane.out + 8, x1 ^ w1);
      x0 = w0;
      x1 = w1;
    } else {
      x0 ^= w0;
      x1 ^= w1;
      AsconStore64(lane.out, x0);
      AsconStore64(lane.out + 8, x1);
    }
    states.x[0][i] = x0;
    states.x[1][i] = x1;
    lane.in += kRate;
    lane.out += kRate;
    lane.in_left -= kRate;
    return true;
  }
  if (lane.phase == Phase::kAd && lane.ad_left >= kRate) {
    states.x[0][i] ^= AsconLoad64(lane.ad);
    states.x[1][i] ^= AsconLoad64(lane.ad + 8);
    lane.ad += kRate;
    lane.ad_left -= kRate;
    return true;
  }
  return false;
}

// Feeds `jobs` through kLanes SIMD lanes until all are done.
template <bool kOpen, int kLanes>
void RunLanes(std::span<const Job> jobs, PermuteLanesFn permute) {
  static_assert(kLanes <= kMaxLanes);
  LaneStates states{};
  Lane lane[kLanes];
  std::size_t next_job = 0;
  // Lanes to advance before the next permutation: at first all of them (each
  // takes its first message), then those that took part in the last call.
  unsigned pending = (1u << kLanes) - 1;
  for (;;) {
    unsigned mask12 = 0;
    unsigned mask8 = 0;
    for (int i = 0; i < kLanes; ++i) {
      if (((pending >> i) & 1) == 0) continue;
      if (AdvanceFullBlock<kOpen>(lane[i], states, i)) {
        mask8 |= 1u << i;
        continue;
      }
      const int rounds = Advance<kOpen>(lane[i], states, i, jobs, next_job);
      if (rounds == 12) mask12 |= 1u << i;
      if (rounds == 8) mask8 |= 1u << i;
    }
    pending = mask12 | mask8;
    if (pending == 0) break;
    permute(states, mask12, mask8);
  }
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&states), sizeof(states)));
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(lane), sizeof(lane)));
}

// Without SIMD: one message at a time through the single-message code.
template <bool kOpen>
void RunPortable(std::span<const Job> jobs) {
  const RawAeadAlgorithm& algorithm = AsconAead128Algorithm();
  for (const Job& job : jobs) {
    if constexpr (kOpen) {
      uint8_t received[kTagSize];
      uint8_t computed[kTagSize];
      std::memcpy(received, job.received_tag, kTagSize);
      const AeadIo io{{job.key, kKeySize},   {job.nonce, kNonceSize}, {job.ad, job.ad_size},
                      {job.in, job.in_size}, {job.out, job.in_size},  {computed, kTagSize}};
      algorithm.decrypt(io);
      const bool ok = CtEqual(received, computed);
      SecureWipe(computed);
      if (ok) {
        *job.status = OkStatus();
      } else {
        SecureWipe(std::span<uint8_t>(job.out, job.in_size));
        *job.status = UnauthenticatedError("authentication failed");
      }
    } else {
      const AeadIo io{{job.key, kKeySize},   {job.nonce, kNonceSize}, {job.ad, job.ad_size},
                      {job.in, job.in_size}, {job.out, job.in_size},  {job.tag_out, kTagSize}};
      algorithm.encrypt(io);
    }
  }
}

#if defined(__x86_64__)

// ---------------------------------------------------------------------------
// AVX2: 4 lanes. Rotations are two shifts and an OR (no 64-bit rotate before
// AVX-512). Same round as the scalar AsconRound (see ascon_permutation.h):
// on entry x2 already holds x2 ^ c, on exit x2 ^ next_constant.

template <int kN>
[[gnu::target("avx2"), gnu::always_inline]] inline __m256i RotrAvx2(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi64(x, kN), _mm256_slli_epi64(x, 64 - kN));
}

template <int kA, int kB>
[[gnu::target("avx2"), gnu::always_inline]] inline __m256i SigmaAvx2(__m256i x) {
  return _mm256_xor_si256(x, _mm256_xor_si256(RotrAvx2<kA>(x), RotrAvx2<kB>(x)));
}

struct Avx2State {
  __m256i x0, x1, x2, x3, x4;
};

[[gnu::target("avx2"), gnu::always_inline]] inline void RoundAvx2(Avx2State& s,
                                                                  uint64_t next_constant) {
  const __m256i a = _mm256_xor_si256(s.x0, s.x4);
  const __m256i b = _mm256_xor_si256(s.x4, s.x3);
  const __m256i d = _mm256_xor_si256(s.x2, s.x1);
  __m256i t0 = _mm256_xor_si256(a, _mm256_andnot_si256(s.x1, s.x2));
  __m256i t1 = _mm256_xor_si256(s.x1, _mm256_andnot_si256(d, s.x3));
  const __m256i t2 = _mm256_xor_si256(d, _mm256_andnot_si256(s.x3, s.x4));
  __m256i t3 = _mm256_xor_si256(s.x3, _mm256_andnot_si256(b, a));
  const __m256i t4 = _mm256_xor_si256(b, _mm256_andnot_si256(a, s.x1));
  t1 = _mm256_xor_si256(t1, t0);
  t3 = _mm256_xor_si256(t3, t2);
  t0 = _mm256_xor_si256(t0, t4);
  s.x0 = SigmaAvx2<19, 28>(t0);
  s.x1 = SigmaAvx2<61, 39>(t1);
  s.x2 = _mm256_xor_si256(SigmaAvx2<1, 6>(t2),
                          _mm256_set1_epi64x(static_cast<int64_t>(~next_constant)));
  s.x3 = SigmaAvx2<10, 17>(t3);
  s.x4 = SigmaAvx2<7, 41>(t4);
}

// The two groups' rounds are interleaved in the source: left to the
// out-of-order core, whole permutations one after the other overlap much less.
[[gnu::target("avx2"), gnu::always_inline]] inline void RoundPairAvx2(Avx2State& a, Avx2State& b,
                                                                      uint64_t next_constant) {
  RoundAvx2(a, next_constant);
  RoundAvx2(b, next_constant);
}

[[gnu::target("avx2"), gnu::always_inline]] inline void AddConstantAvx2(Avx2State& a, Avx2State& b,
                                                                        int round) {
  const __m256i c = _mm256_set1_epi64x(static_cast<int64_t>(AsconRoundConstant(round)));
  a.x2 = _mm256_xor_si256(a.x2, c);
  b.x2 = _mm256_xor_si256(b.x2, c);
}

// Rounds 0..3 of Ascon-p[12].
[[gnu::target("avx2"), gnu::always_inline]] inline void FirstFourRoundsAvx2(Avx2State& a,
                                                                            Avx2State& b) {
  AddConstantAvx2(a, b, 0);
  RoundPairAvx2(a, b, AsconRoundConstant(1));
  RoundPairAvx2(a, b, AsconRoundConstant(2));
  RoundPairAvx2(a, b, AsconRoundConstant(3));
  RoundPairAvx2(a, b, 0);
}

// Rounds 4..11 (= Ascon-p[8]).
[[gnu::target("avx2"), gnu::always_inline]] inline void LastEightRoundsAvx2(Avx2State& a,
                                                                            Avx2State& b) {
  AddConstantAvx2(a, b, 4);
  RoundPairAvx2(a, b, AsconRoundConstant(5));
  RoundPairAvx2(a, b, AsconRoundConstant(6));
  RoundPairAvx2(a, b, AsconRoundConstant(7));
  RoundPairAvx2(a, b, AsconRoundConstant(8));
  RoundPairAvx2(a, b, AsconRoundConstant(9));
  RoundPairAvx2(a, b, AsconRoundConstant(10));
  RoundPairAvx2(a, b, AsconRoundConstant(11));
  RoundPairAvx2(a, b, 0);
}

[[gnu::target("avx2"), gnu::always_inline]] inline __m256i LaneMaskAvx2(unsigned mask) {
  return _mm256_set_epi64x(-static_cast<int64_t>((mask >> 3) & 1),
                           -static_cast<int64_t>((mask >> 2) & 1),
                           -static_cast<int64_t>((mask >> 1) & 1), -static_cast<int64_t>(mask & 1));
}

// Lanes in `mask` (one bit per lane) take `updated`, the others keep `old`.
[[gnu::target("avx2"), gnu::always_inline]] inline void BlendAvx2(Avx2State& updated,
                                                                  const Avx2State& old,
                                                                  unsigned mask) {
  const __m256i m = LaneMaskAvx2(mask);
  updated.x0 = _mm256_blendv_epi8(old.x0, updated.x0, m);
  updated.x1 = _mm256_blendv_epi8(old.x1, updated.x1, m);
  updated.x2 = _mm256_blendv_epi8(old.x2, updated.x2, m);
  updated.x3 = _mm256_blendv_epi8(old.x3, updated.x3, m);
  updated.x4 = _mm256_blendv_epi8(old.x4, updated.x4, m);
}

[[gnu::target("avx2"), gnu::always_inline]] inline Avx2State LoadAvx2(const LaneStates& states,
                                                                      int first_lane) {
  // No lambda here: GCC does not give lambdas the enclosing target("avx2").
  return Avx2State{_mm256_load_si256(reinterpret_cast<const __m256i*>(&states.x[0][first_lane])),
                   _mm256_load_si256(reinterpret_cast<const __m256i*>(&states.x[1][first_lane])),
                   _mm256_load_si256(reinterpret_cast<const __m256i*>(&states.x[2][first_lane])),
                   _mm256_load_si256(reinterpret_cast<const __m256i*>(&states.x[3][first_lane])),
                   _mm256_load_si256(reinterpret_cast<const __m256i*>(&states.x[4][first_lane]))};
}

[[gnu::target("avx2"), gnu::always_inline]] inline void StoreAvx2(LaneStates& states,
                                                                  int first_lane,
                                                                  const Avx2State& s) {
  _mm256_store_si256(reinterpret_cast<__m256i*>(&states.x[0][first_lane]), s.x0);
  _mm256_store_si256(reinterpret_cast<__m256i*>(&states.x[1][first_lane]), s.x1);
  _mm256_store_si256(reinterpret_cast<__m256i*>(&states.x[2][first_lane]), s.x2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(&states.x[3][first_lane]), s.x3);
  _mm256_store_si256(reinterpret_cast<__m256i*>(&states.x[4][first_lane]), s.x4);
}

// Lanes 0..7 as two independent groups (a: 0..3, b: 4..7) whose rounds the
// CPU overlaps.
[[gnu::target("avx2")]] void PermuteLanesAvx2(LaneStates& states, unsigned mask12, unsigned mask8) {
  Avx2State a = LoadAvx2(states, 0);
  Avx2State b = LoadAvx2(states, 4);
  if (mask12 != 0) {
    const Avx2State old_a = a;
    const Avx2State old_b = b;
    FirstFourRoundsAvx2(a, b);
    if (mask8 != 0) {
      // Mixed: the 8-round lanes keep their state through the first 4 rounds.
      BlendAvx2(a, old_a, mask12 & 0xF);
      BlendAvx2(b, old_b, (mask12 >> 4) & 0xF);
    }
  }
  LastEightRoundsAvx2(a, b);
  StoreAvx2(states, 0, a);
  StoreAvx2(states, 4, b);
}

// ---------------------------------------------------------------------------
// AVX-512F: 8 lanes, native 64-bit rotations, and vpternlogq, which computes
// any function of three inputs: each S-box row a ^ (~b & c) and each linear
// layer x ^ (x >>> i) ^ (x >>> j) is one instruction.

// Truth-table immediates of vpternlogq for inputs (A, B, C).
constexpr int kTernA = 0xF0;
constexpr int kTernB = 0xCC;
constexpr int kTernC = 0xAA;
constexpr int kAXorNotBAndC = (kTernA ^ (~kTernB & kTernC)) & 0xFF;  // 0xD2
constexpr int kXor3 = (kTernA ^ kTernB ^ kTernC) & 0xFF;             // 0x96

// _mm512_ror_epi64 with an all-ones mask: GCC 12's _mm512_ror_epi64 passes an
// undefined vector that trips -Wmaybe-uninitialized; the code is the same.
template <int kN>
[[gnu::target("avx512f"), gnu::always_inline]] inline __m512i RotrAvx512(__m512i x) {
  return _mm512_mask_ror_epi64(x, static_cast<__mmask8>(0xFF), x, kN);
}

template <int kA, int kB>
[[gnu::target("avx512f"), gnu::always_inline]] inline __m512i SigmaAvx512(__m512i x) {
  return _mm512_ternarylogic_epi64(x, RotrAvx512<kA>(x), RotrAvx512<kB>(x), kXor3);
}

struct Avx512State {
  __m512i x0, x1, x2, x3, x4;
};

[[gnu::target("avx512f"), gnu::always_inline]] inline void RoundAvx512(Avx512State& s,
                                                                       uint64_t next_constant) {
  const __m512i a = _mm512_xor_si512(s.x0, s.x4);
  const __m512i b = _mm512_xor_si512(s.x4, s.x3);
  const __m512i d = _mm512_xor_si512(s.x2, s.x1);
  __m512i t0 = _mm512_ternarylogic_epi64(a, s.x1, s.x2, kAXorNotBAndC);
  __m512i t1 = _mm512_ternarylogic_epi64(s.x1, d, s.x3, kAXorNotBAndC);
  const __m512i t2 = _mm512_ternarylogic_epi64(d, s.x3, s.x4, kAXorNotBAndC);
  __m512i t3 = _mm512_ternarylogic_epi64(s.x3, b, a, kAXorNotBAndC);
  const __m512i t4 = _mm512_ternarylogic_epi64(b, a, s.x1, kAXorNotBAndC);
  t1 = _mm512_xor_si512(t1, t0);
  t3 = _mm512_xor_si512(t3, t2);
  t0 = _mm512_xor_si512(t0, t4);
  s.x0 = SigmaAvx512<19, 28>(t0);
  s.x1 = SigmaAvx512<61, 39>(t1);
  s.x2 = _mm512_xor_si512(SigmaAvx512<1, 6>(t2),
                          _mm512_set1_epi64(static_cast<int64_t>(~next_constant)));
  s.x3 = SigmaAvx512<10, 17>(t3);
  s.x4 = SigmaAvx512<7, 41>(t4);
}

[[gnu::target("avx512f"), gnu::always_inline]] inline void RoundPairAvx512(Avx512State& a,
                                                                           Avx512State& b,
                                                                           uint64_t next_constant) {
  RoundAvx512(a, next_constant);
  RoundAvx512(b, next_constant);
}

[[gnu::target("avx512f"), gnu::always_inline]] inline void AddConstantAvx512(Avx512State& a,
                                                                             Avx512State& b,
                                                                             int round) {
  const __m512i c = _mm512_set1_epi64(static_cast<int64_t>(AsconRoundConstant(round)));
  a.x2 = _mm512_xor_si512(a.x2, c);
  b.x2 = _mm512_xor_si512(b.x2, c);
}

[[gnu::target("avx512f"), gnu::always_inline]] inline void FirstFourRoundsAvx512(Avx512State& a,
                                                                                 Avx512State& b) {
  AddConstantAvx512(a, b, 0);
  RoundPairAvx512(a, b, AsconRoundConstant(1));
  RoundPairAvx512(a, b, AsconRoundConstant(2));
  RoundPairAvx512(a, b, AsconRoundConstant(3));
  RoundPairAvx512(a, b, 0);
}

[[gnu::target("avx512f"), gnu::always_inline]] inline void LastEightRoundsAvx512(Avx512State& a,
                                                                                 Avx512State& b) {
  AddConstantAvx512(a, b, 4);
  RoundPairAvx512(a, b, AsconRoundConstant(5));
  RoundPairAvx512(a, b, AsconRoundConstant(6));
  RoundPairAvx512(a, b, AsconRoundConstant(7));
  RoundPairAvx512(a, b, AsconRoundConstant(8));
  RoundPairAvx512(a, b, AsconRoundConstant(9));
  RoundPairAvx512(a, b, AsconRoundConstant(10));
  RoundPairAvx512(a, b, AsconRoundConstant(11));
  RoundPairAvx512(a, b, 0);
}

[[gnu::target("avx512f"), gnu::always_inline]] inline void BlendAvx512(Avx512State& updated,
                                                                       const Avx512State& old,
                                                                       unsigned mask) {
  const auto m = static_cast<__mmask8>(mask);
  updated.x0 = _mm512_mask_blend_epi64(m, old.x0, updated.x0);
  updated.x1 = _mm512_mask_blend_epi64(m, old.x1, updated.x1);
  updated.x2 = _mm512_mask_blend_epi64(m, old.x2, updated.x2);
  updated.x3 = _mm512_mask_blend_epi64(m, old.x3, updated.x3);
  updated.x4 = _mm512_mask_blend_epi64(m, old.x4, updated.x4);
}

[[gnu::target("avx512f"), gnu::always_inline]] inline Avx512State LoadAvx512(
    const LaneStates& states, int first_lane) {
  return Avx512State{
      _mm512_load_si512(&states.x[0][first_lane]), _mm512_load_si512(&states.x[1][first_lane]),
      _mm512_load_si512(&states.x[2][first_lane]), _mm512_load_si512(&states.x[3][first_lane]),
      _mm512_load_si512(&states.x[4][first_lane])};
}

[[gnu::target("avx512f"), gnu::always_inline]] inline void StoreAvx512(LaneStates& states,
                                                                       int first_lane,
                                                                       const Avx512State& s) {
  _mm512_store_si512(&states.x[0][first_lane], s.x0);
  _mm512_store_si512(&states.x[1][first_lane], s.x1);
  _mm512_store_si512(&states.x[2][first_lane], s.x2);
  _mm512_store_si512(&states.x[3][first_lane], s.x3);
  _mm512_store_si512(&states.x[4][first_lane], s.x4);
}

// Lanes 0..15 as two independent groups (a: 0..7, b: 8..15) whose rounds the
// CPU overlaps.
[[gnu::target("avx512f")]] void PermuteLanesAvx512(LaneStates& states, unsigned mask12,
                                                   unsigned mask8) {
  Avx512State a = LoadAvx512(states, 0);
  Avx512State b = LoadAvx512(states, 8);
  if (mask12 != 0) {
    const Avx512State old_a = a;
    const Avx512State old_b = b;
    FirstFourRoundsAvx512(a, b);
    if (mask8 != 0) {
      // Mixed: the 8-round lanes keep their state through the first 4 rounds.
      BlendAvx512(a, old_a, mask12 & 0xFF);
      BlendAvx512(b, old_b, (mask12 >> 8) & 0xFF);
    }
  }
  LastEightRoundsAvx512(a, b);
  StoreAvx512(states, 0, a);
  StoreAvx512(states, 8, b);
}

#endif  // defined(__x86_64__)

bool CpuHasAvx2() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

bool CpuHasAvx512() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

AsconBatchBackend Resolve(AsconBatchBackend backend) {
  if (backend != AsconBatchBackend::kAuto) return backend;
  if (CpuHasAvx512()) return AsconBatchBackend::kAvx512;
  if (CpuHasAvx2()) return AsconBatchBackend::kAvx2;
  return AsconBatchBackend::kPortable;
}

template <bool kOpen>
void Run(std::span<const Job> jobs, AsconBatchBackend backend) {
  switch (backend) {
#if defined(__x86_64__)
    case AsconBatchBackend::kAvx512:
      RunLanes<kOpen, 16>(jobs, &PermuteLanesAvx512);
      return;
    case AsconBatchBackend::kAvx2:
      RunLanes<kOpen, 8>(jobs, &PermuteLanesAvx2);
      return;
#endif
    default:
      RunPortable<kOpen>(jobs);
      return;
  }
}

Status BackendUnavailable() {
  return FailedPreconditionError("the requested Ascon batch backend is not supported by this CPU");
}

std::string RequestError(std::size_t index, std::string_view what, std::size_t got,
                         std::size_t want) {
  return "request " + std::to_string(index) + ": " + std::string(what) + " must be " +
         std::to_string(want) + " bytes, got " + std::to_string(got);
}

}  // namespace

bool AsconBatchBackendAvailable(AsconBatchBackend backend) {
  switch (backend) {
    case AsconBatchBackend::kAuto:
    case AsconBatchBackend::kPortable:
      return true;
    case AsconBatchBackend::kAvx2:
      return CpuHasAvx2();
    case AsconBatchBackend::kAvx512:
      return CpuHasAvx512();
  }
  return false;
}

Status AsconAead128SealBatch(std::span<const AsconSealRequest> requests,
                             AsconBatchBackend backend) {
  if (!AsconBatchBackendAvailable(backend)) return BackendUnavailable();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const AsconSealRequest& r = requests[i];
    if (r.key.size() != kKeySize) {
      return InvalidArgumentError(RequestError(i, "key", r.key.size(), kKeySize));
    }
    if (r.nonce.size() != kNonceSize) {
      return InvalidArgumentError(RequestError(i, "nonce", r.nonce.size(), kNonceSize));
    }
    if (r.out.size() != r.plaintext.size() + kTagSize) {
      return InvalidArgumentError(
          RequestError(i, "output buffer", r.out.size(), r.plaintext.size() + kTagSize));
    }
  }
  std::vector<Job> jobs;
  jobs.reserve(requests.size());
  for (const AsconSealRequest& r : requests) {
    jobs.push_back(Job{r.key.data(), r.nonce.data(), r.ad.data(), r.ad.size(), r.plaintext.data(),
                       r.plaintext.size(), r.out.data(), r.out.data() + r.plaintext.size(), nullptr,
                       nullptr});
  }
  Run<false>(jobs, Resolve(backend));
  return OkStatus();
}

std::vector<Status> AsconAead128OpenBatch(std::span<const AsconOpenRequest> requests,
                                          AsconBatchBackend backend) {
  std::vector<Status> statuses(requests.size());
  if (!AsconBatchBackendAvailable(backend)) {
    for (Status& status : statuses) status = BackendUnavailable();
    return statuses;
  }
  std::vector<Job> jobs;
  jobs.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const AsconOpenRequest& r = requests[i];
    if (r.key.size() != kKeySize) {
      statuses[i] = InvalidArgumentError(RequestError(i, "key", r.key.size(), kKeySize));
      continue;
    }
    if (r.nonce.size() != kNonceSize) {
      statuses[i] = InvalidArgumentError(RequestError(i, "nonce", r.nonce.size(), kNonceSize));
      continue;
    }
    if (r.ciphertext_and_tag.size() < kTagSize) {
      statuses[i] = InvalidArgumentError("request " + std::to_string(i) +
                                         ": ciphertext is shorter than the 16-byte tag");
      continue;
    }
    const std::size_t length = r.ciphertext_and_tag.size() - kTagSize;
    if (r.out.size() != length) {
      statuses[i] = InvalidArgumentError(RequestError(i, "output buffer", r.out.size(), length));
      continue;
    }
    jobs.push_back(Job{r.key.data(), r.nonce.data(), r.ad.data(), r.ad.size(),
                       r.ciphertext_and_tag.data(), length, r.out.data(), nullptr,
                       r.ciphertext_and_tag.data() + length, &statuses[i]});
  }
  Run<true>(jobs, Resolve(backend));
  return statuses;
}

}  // namespace custos::lwc
