// File: custos/core/ct.h
//
// Constant-time helpers. CtEqual compares secrets in time that depends only
// on their lengths. ClassifySecret/DeclassifySecret mark memory as secret or
// public for the valgrind constant-time check (scripts/ct-check.sh): under
// valgrind's memcheck, a branch or a memory index computed from classified
// bytes is reported as an error; outside valgrind they cost a few
// instructions and change nothing.
#ifndef CUSTOS_CORE_CT_H_
#define CUSTOS_CORE_CT_H_

#include <cstdint>
#include <span>

namespace custos {

// Returns true iff a and b have the same length and the same bytes. The time
// taken depends on the lengths only, never on the contents. The result is
// declassified: it is meant to be branched on.
bool CtEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Marks `bytes` as secret for the valgrind constant-time check.
void ClassifySecret(std::span<const uint8_t> bytes);

// Marks `bytes` as public again (for values derived from secrets that are
// meant to be revealed, such as a ciphertext or a verification result).
void DeclassifySecret(std::span<const uint8_t> bytes);

// Returns `value`, declassified.
bool DeclassifyBool(bool value);

// Returns true when the process runs under valgrind.
bool RunningOnValgrind();

// Returns `value` unchanged while hiding it from the optimiser, so that
// branch-free code built on it stays branch-free.
inline uint64_t ValueBarrier(uint64_t value) {
  __asm__("" : "+r"(value) : :);
  return value;
}

}  // namespace custos

#endif  // CUSTOS_CORE_CT_H_
