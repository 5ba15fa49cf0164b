// File: apps/custos/flags.h
//
// A small command-line flag parser for the custos subcommands: `--name VALUE`,
// `--name=VALUE` and boolean `--name`. Unknown flags, missing values and
// stray arguments are usage errors (exit status 2).
#ifndef CUSTOS_APPS_CUSTOS_FLAGS_H_
#define CUSTOS_APPS_CUSTOS_FLAGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos::cli {

// One accepted flag.
struct FlagSpec {
  std::string name;  // without the leading "--"
  bool takes_value;  // false for booleans such as --json
  std::string help;  // one line for --help
  std::string value_name = "VALUE";
};

class Flags {
 public:
  // Parses `args`. InvalidArgument names the offending argument.
  static StatusOr<Flags> Parse(std::span<const std::string> args,
                               const std::vector<FlagSpec>& specs);

  bool Has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  // The value of a flag, or nullopt if it was not given.
  std::optional<std::string> Get(std::string_view name) const;
  // The value of an integer flag: `fallback` if it was not given, the
  // number if it is a decimal integer from `min` to `max`, otherwise
  // InvalidArgument "--name: expected MIN to MAX, got 'TEXT'".
  StatusOr<int64_t> GetInt(std::string_view name, int64_t fallback, int64_t min, int64_t max) const;

 private:
  std::map<std::string, std::string> values_;
};

// Formats the help text of a command.
std::string HelpText(std::string_view usage, std::string_view summary,
                     const std::vector<FlagSpec>& specs);

}  // namespace custos::cli

#endif  // CUSTOS_APPS_CUSTOS_FLAGS_H_
