// File: custos/core/hex.h
//
// Hexadecimal and base64 encodings of byte strings.
#ifndef CUSTOS_CORE_HEX_H_
#define CUSTOS_CORE_HEX_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos {

// Returns the lower-case hex encoding of `bytes`.
std::string HexEncode(std::span<const uint8_t> bytes);

// Decodes hex (either case). Fails with InvalidArgument naming the position of
// the first bad character, or saying the length is odd.
StatusOr<std::vector<uint8_t>> HexDecode(std::string_view hex);

// Returns the standard base64 encoding (RFC 4648, with padding).
std::string Base64Encode(std::span<const uint8_t> bytes);

// Decodes standard base64 with padding; InvalidArgument on malformed input.
StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text);

// Returns the bytes of `text` (no encoding).
std::span<const uint8_t> AsBytes(std::string_view text);

}  // namespace custos

#endif  // CUSTOS_CORE_HEX_H_
