// File: custos/lwc/internal/ascon_avx512.h
//
// Single-message Ascon-AEAD128 (NIST SP 800-232) for x86-64 CPUs with
// AVX-512F and AVX-512VL. Private to custos/lwc: AsconAead128Algorithm()
// (custos/lwc/ascon.h) returns this build when the CPU supports it, and the
// tests run it next to the other builds.
//
// A single Ascon message is one long chain of dependent permutation rounds,
// so this is not SIMD across messages (see custos/lwc/ascon_batch.h for
// that). Each 64-bit state word lives in lane 0 of its own 128-bit register;
// the gain comes from vpternlogq, which evaluates any three-input boolean
// function in one instruction, and from native 64-bit rotations. The S-box is
// computed in two levels of three-input gates instead of the four levels of
// two-input operations of the scalar code, and the round constant is folded
// into those gates (see ascon_avx512.cpp). On AMD Zen 4 this seals 16 KiB at
// about 1.45 ns/byte against 1.68 for the scalar BMI2 build (about 10.5
// instead of 12.5 cycles per round).
//
// The code is compiled with function-level target attributes: the rest of
// the library keeps the baseline instruction set, and nothing here runs
// unless the CPU reports AVX-512F and AVX-512VL.
#ifndef CUSTOS_LWC_INTERNAL_ASCON_AVX512_H_
#define CUSTOS_LWC_INTERNAL_ASCON_AVX512_H_

namespace custos::lwc {

struct RawAeadAlgorithm;

namespace internal {

// Returns the AVX-512VL build of Ascon-AEAD128 (key, nonce and tag of 16
// bytes; same results as every other build), or nullptr when this CPU lacks
// AVX-512F or AVX-512VL or the library was not built for x86-64. The
// functions support in-place operation (out == in) and never branch on or
// index memory with key, nonce, state or message bytes (lengths only). The
// returned object is a constant with static storage; thread-safe.
const RawAeadAlgorithm* AsconAead128Avx512Algorithm();

}  // namespace internal
}  // namespace custos::lwc

#endif  // CUSTOS_LWC_INTERNAL_ASCON_AVX512_H_
