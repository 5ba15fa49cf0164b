// File: custos/core/kat_reader.h
//
// One reader for the known-answer-test files that all vector tests use
// (../shared/data/kat). It understands the three layouts found there:
//
//  - kKeyValue: "Name = value" lines, records separated by blank lines, '#'
//    comments (NIST LWC KAT files, CAVS .fax/.rsp files, the transcribed
//    files of this project's data folder).
//  - kColon: Crypto++ TestVectors ("Name: value", a trailing '\' continues a
//    value on the next line, "Test: ..." closes a record and fields carry over
//    to the next record until they are set again).
//  - kNessie: NESSIE and eSTREAM listings ("Set 1, vector# 0:" opens a
//    record, "name = value" lines, indented hex lines continue a value).
//
// The parser never trusts its input: sizes are bounded and every malformed
// line is reported with its line number.
#ifndef CUSTOS_CORE_KAT_READER_H_
#define CUSTOS_CORE_KAT_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/status.h"

namespace custos {

// The layout of a KAT file; see the file comment.
enum class KatFormat { kKeyValue, kColon, kNessie };

// One test record: an ordered list of (name, raw value) fields.
class KatRecord {
 public:
  KatRecord(KatFormat format, int line) : format_(format), line_(line) {}

  // Line number (1-based) where the record starts, for error messages.
  int line() const { return line_; }
  // The fields in file order.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

  // True if the record has a field named `name` (exact, case-sensitive).
  bool Has(std::string_view name) const;
  // The raw text of field `name`; NotFound if absent.
  StatusOr<std::string> Get(std::string_view name) const;
  // Field `name` decoded as bytes. kKeyValue and kNessie values are hex
  // (spaces ignored, empty means no bytes); kColon values use Crypto++'s
  // notation: hex words, 0x-prefixed hex, "quoted text", and `rN token` for
  // N repetitions. InvalidArgument if the value is not well formed.
  StatusOr<std::vector<uint8_t>> GetBytes(std::string_view name) const;
  // Field `name` as a decimal integer.
  StatusOr<int64_t> GetInt(std::string_view name) const;

  // Sets (or replaces) a field; used by the parser.
  void Set(std::string name, std::string value);
  // Appends text to the value of the last field; used by the parser.
  void AppendToLast(std::string_view text);
  bool empty() const { return fields_.empty(); }

 private:
  KatFormat format_;
  int line_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Largest input ParseKat accepts, and largest number of records.
inline constexpr std::size_t kMaxKatBytes = 64 << 20;
inline constexpr std::size_t kMaxKatRecords = 1 << 20;

// Parses `text` in `format`. InvalidArgument names the first bad line.
StatusOr<std::vector<KatRecord>> ParseKat(std::string_view text, KatFormat format);

// Reads and parses the file at `path`. NotFound if it cannot be opened.
StatusOr<std::vector<KatRecord>> ReadKatFile(const std::string& path, KatFormat format);

// Reads a whole file into a string (bounded by kMaxKatBytes).
StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace custos

#endif  // CUSTOS_CORE_KAT_READER_H_
