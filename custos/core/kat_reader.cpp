#include "custos/core/kat_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "custos/core/hex.h"

namespace custos {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string LineError(int line, std::string_view what) {
  return "line " + std::to_string(line) + ": " + std::string(what);
}

bool IsHexWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// True for a token of punctuation only (no letter or digit).
bool IsPunctuation(std::string_view s) {
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

// Hex with any whitespace ignored.
StatusOr<std::vector<uint8_t>> DecodeSpacedHex(std::string_view value) {
  std::string compact;
  compact.reserve(value.size());
  for (char c : value) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  return HexDecode(compact);
}

// Crypto++ TestVectors notation: tokens separated by whitespace; "text",
// 0xHEX, bare HEX, and `rN` repeating the next token N times.
StatusOr<std::vector<uint8_t>> DecodeCryptopp(std::string_view value) {
  std::vector<uint8_t> out;
  std::size_t pos = 0;
  std::size_t repeat = 1;
  while (true) {
    while (pos < value.size() && std::isspace(static_cast<unsigned char>(value[pos]))) ++pos;
    if (pos >= value.size()) break;
    std::vector<uint8_t> piece;
    if (value[pos] == '"') {
      std::size_t end = value.find('"', pos + 1);
      if (end == std::string_view::npos) return InvalidArgumentError("unterminated string");
      std::string_view text = value.substr(pos + 1, end - pos - 1);
      piece.assign(text.begin(), text.end());
      pos = end + 1;
    } else {
      std::size_t end = pos;
      while (end < value.size() && !std::isspace(static_cast<unsigned char>(value[end]))) ++end;
      std::string_view token = value.substr(pos, end - pos);
      pos = end;
      if (token.size() > 1 && token[0] == 'r' &&
          std::isdigit(static_cast<unsigned char>(token[1]))) {
        std::size_t count = 0;
        auto [ptr, ec] = std::from_chars(token.data() + 1, token.data() + token.size(), count);
        if (ec != std::errc() || ptr != token.data() + token.size() || count > (1u << 20)) {
          return InvalidArgumentError("bad repeat count '" + std::string(token) + "'");
        }
        repeat = count;
        continue;
      }
      if (token.size() >= 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) {
        token.remove_prefix(2);
      }
      if (IsPunctuation(token)) continue;  // Crypto++'s hex decoder skips e.g. a stray ')'
      if (!token.empty() && !IsHexWord(token)) {
        return InvalidArgumentError("bad token '" + std::string(token.substr(0, 32)) + "'");
      }
      CUSTOS_ASSIGN_OR_RETURN(piece, HexDecode(token));
    }
    if (piece.size() * repeat > kMaxKatBytes) return InvalidArgumentError("value too long");
    for (std::size_t i = 0; i < repeat; ++i) out.insert(out.end(), piece.begin(), piece.end());
    repeat = 1;
  }
  return out;
}

// "Set 3, vector#  12:" -> true.
bool IsNessieHeader(std::string_view line) {
  line = Trim(line);
  return line.rfind("Set ", 0) == 0 && line.find("vector#") != std::string_view::npos &&
         !line.empty() && line.back() == ':';
}

bool AllChars(std::string_view s, char c) {
  if (s.empty()) return false;
  for (char x : s) {
    if (x != c) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, KatFormat format) : text_(text), format_(format) {}

  StatusOr<std::vector<KatRecord>> Run() {
    if (text_.size() > kMaxKatBytes) return InvalidArgumentError("KAT input too large");
    std::size_t pos = 0;
    while (pos <= text_.size()) {
      std::size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_number_;
      Status status = Line(line);
      if (!status.ok()) return status;
      if (records_.size() > kMaxKatRecords) return InvalidArgumentError("too many KAT records");
      if (end == text_.size()) break;
      pos = end + 1;
    }
    if (format_ == KatFormat::kColon && continuing_) {
      return InvalidArgumentError(LineError(line_number_, "value continues past end of file"));
    }
    Flush();
    return std::move(records_);
  }

 private:
  Status Line(std::string_view raw) {
    switch (format_) {
      case KatFormat::kKeyValue:
        return KeyValueLine(raw);
      case KatFormat::kColon:
        return ColonLine(raw);
      case KatFormat::kNessie:
        return NessieLine(raw);
    }
    return InternalError("unknown KAT format");
  }

  void Flush() {
    if (current_.has_value() && !current_->empty()) records_.push_back(std::move(*current_));
    current_.reset();
  }

  KatRecord& Current() {
    if (!current_.has_value()) current_.emplace(format_, line_number_);
    return *current_;
  }

  Status KeyValueLine(std::string_view raw) {
    std::string_view line = Trim(raw);
    if (line.empty()) {
      Flush();
      return OkStatus();
    }
    if (line[0] == '#') return OkStatus();
    if (line[0] == '[') return OkStatus();  // CAVS section header, e.g. "[Mlen = 0]"
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError(LineError(line_number_, "expected 'Name = value'"));
    }
    std::string_view name = Trim(line.substr(0, eq));
    if (name.empty()) return InvalidArgumentError(LineError(line_number_, "empty field name"));
    Current().Set(std::string(name), std::string(Trim(line.substr(eq + 1))));
    return OkStatus();
  }

  Status ColonLine(std::string_view raw) {
    std::string_view line = Trim(raw);
    if (continuing_) {
      bool more = !line.empty() && line.back() == '\\';
      if (more) line.remove_suffix(1);
      carried_.AppendToLast(" ");
      carried_.AppendToLast(Trim(line));
      continuing_ = more;
      return OkStatus();
    }
    if (line.empty() || line[0] == '#') return OkStatus();
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentError(LineError(line_number_, "expected 'Name: value'"));
    }
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (name.empty()) return InvalidArgumentError(LineError(line_number_, "empty field name"));
    if (name == "AlgorithmType") {
      // A new algorithm section: nothing carries over from the previous one.
      carried_ = KatRecord(format_, line_number_);
    }
    continuing_ = !value.empty() && value.back() == '\\';
    if (continuing_) value = Trim(value.substr(0, value.size() - 1));
    if (carried_.empty()) carried_ = KatRecord(format_, line_number_);
    carried_.Set(std::string(name), std::string(value));
    if (record_start_ == 0) record_start_ = line_number_;
    if (name == "Test") {
      // The record carries every field in force, and the line where its own
      // fields began.
      KatRecord record(format_, record_start_);
      for (const auto& [field, text] : carried_.fields()) record.Set(field, text);
      records_.push_back(std::move(record));
      record_start_ = 0;
    }
    return OkStatus();
  }

  Status NessieLine(std::string_view raw) {
    std::string_view line = Trim(raw);
    if (IsNessieHeader(line)) {
      Flush();
      KatRecord& record = Current();
      // "Set 3, vector#  12:"
      std::string_view body = line.substr(4, line.size() - 5);
      std::size_t comma = body.find(',');
      std::size_t hash = body.find('#');
      if (comma == std::string_view::npos || hash == std::string_view::npos) {
        return InvalidArgumentError(LineError(line_number_, "malformed set/vector header"));
      }
      record.Set("Set", std::string(Trim(body.substr(0, comma))));
      record.Set("vector", std::string(Trim(body.substr(hash + 1))));
      return OkStatus();
    }
    if (!current_.has_value()) return OkStatus();  // preamble and section titles
    if (line.empty()) {
      Flush();
      return OkStatus();
    }
    std::size_t eq = line.find('=');
    if (eq != std::string_view::npos && !AllChars(line, '=')) {
      std::string_view name = Trim(line.substr(0, eq));
      if (name.empty()) return InvalidArgumentError(LineError(line_number_, "empty field name"));
      current_->Set(std::string(name), std::string(Trim(line.substr(eq + 1))));
      return OkStatus();
    }
    if (IsHexWord(line) && !current_->fields().empty()) {
      current_->AppendToLast(line);
      return OkStatus();
    }
    Flush();  // any other text closes the record
    return OkStatus();
  }

  std::string_view text_;
  KatFormat format_;
  int line_number_ = 0;
  std::vector<KatRecord> records_;
  std::optional<KatRecord> current_;
  KatRecord carried_{KatFormat::kColon, 0};  // kColon: fields that carry over
  bool continuing_ = false;
  int record_start_ = 0;  // kColon: first line of the current record
};

}  // namespace

bool KatRecord::Has(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (key == name) return true;
  }
  return false;
}

StatusOr<std::string> KatRecord::Get(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (key == name) return value;
  }
  return NotFoundError("record at line " + std::to_string(line_) + " has no field '" +
                       std::string(name) + "'");
}

StatusOr<std::vector<uint8_t>> KatRecord::GetBytes(std::string_view name) const {
  CUSTOS_ASSIGN_OR_RETURN(std::string value, Get(name));
  StatusOr<std::vector<uint8_t>> bytes =
      format_ == KatFormat::kColon ? DecodeCryptopp(value) : DecodeSpacedHex(value);
  if (!bytes.ok()) {
    return Annotate(bytes.status(), "record at line " + std::to_string(line_) + ", field '" +
                                        std::string(name) + "'");
  }
  return bytes;
}

StatusOr<int64_t> KatRecord::GetInt(std::string_view name) const {
  CUSTOS_ASSIGN_OR_RETURN(std::string value, Get(name));
  std::string_view text = Trim(value);
  int64_t result = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return InvalidArgumentError("record at line " + std::to_string(line_) + ", field '" +
                                std::string(name) + "' is not an integer");
  }
  return result;
}

void KatRecord::Set(std::string name, std::string value) {
  auto it = std::find_if(fields_.begin(), fields_.end(),
                         [&](const auto& field) { return field.first == name; });
  if (it != fields_.end()) {
    it->second = std::move(value);
    // Move the field to the end so AppendToLast continues it.
    std::rotate(it, it + 1, fields_.end());
    return;
  }
  fields_.emplace_back(std::move(name), std::move(value));
}

void KatRecord::AppendToLast(std::string_view text) {
  if (!fields_.empty()) fields_.back().second.append(text);
}

StatusOr<std::vector<KatRecord>> ParseKat(std::string_view text, KatFormat format) {
  return Parser(text, format).Run();
}

StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > kMaxKatBytes) return InvalidArgumentError(path + " is too large");
  return text;
}

StatusOr<std::vector<KatRecord>> ReadKatFile(const std::string& path, KatFormat format) {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
  StatusOr<std::vector<KatRecord>> records = ParseKat(text, format);
  if (!records.ok()) return Annotate(records.status(), path);
  return records;
}

}  // namespace custos
