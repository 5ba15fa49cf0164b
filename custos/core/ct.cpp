#include "custos/core/ct.h"

#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

namespace custos {

bool CtEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;  // lengths are public
  uint64_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= ValueBarrier(static_cast<uint64_t>(a[i] ^ b[i]));
  }
  // diff == 0 -> 1, otherwise 0, without a branch.
  uint64_t equal = ((diff | (0 - diff)) >> 63) ^ 1;
  DeclassifySecret(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&equal), sizeof(equal)));
  return equal == 1;
}

void ClassifySecret(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) VALGRIND_MAKE_MEM_UNDEFINED(bytes.data(), bytes.size());
}

void DeclassifySecret(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) VALGRIND_MAKE_MEM_DEFINED(bytes.data(), bytes.size());
}

bool DeclassifyBool(bool value) {
  DeclassifySecret(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), 1));
  return value;
}

bool RunningOnValgrind() { return RUNNING_ON_VALGRIND != 0; }

}  // namespace custos
