// File: custos/core/random.h
//
// Randomness from the operating system (getrandom(2)); no user-space state.
#ifndef CUSTOS_CORE_RANDOM_H_
#define CUSTOS_CORE_RANDOM_H_

#include <cstdint>
#include <span>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos {

// Fills `out` with cryptographically secure random bytes. Fails with
// Unavailable only if the kernel refuses (never returns partial output).
Status FillRandom(std::span<uint8_t> out);

// Returns `size` random bytes in a buffer that is wiped on free.
StatusOr<SecretBytes> RandomSecret(std::size_t size);

}  // namespace custos

#endif  // CUSTOS_CORE_RANDOM_H_
