#include "apps/custos/flags.h"

#include <cerrno>
#include <cstdlib>

namespace custos::cli {

StatusOr<Flags> Flags::Parse(std::span<const std::string> args,
                             const std::vector<FlagSpec>& specs) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return InvalidArgumentError("unexpected argument '" + arg + "'");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (std::size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return InvalidArgumentError("unknown option --" + name);
    if (flags.Has(name)) return InvalidArgumentError("--" + name + " given twice");
    if (!spec->takes_value) {
      if (inline_value.has_value()) return InvalidArgumentError("--" + name + " takes no value");
      flags.values_[name] = "";
      continue;
    }
    if (inline_value.has_value()) {
      flags.values_[name] = *inline_value;
    } else if (i + 1 < args.size()) {
      flags.values_[name] = args[++i];
    } else {
      return InvalidArgumentError("--" + name + " needs a value");
    }
  }
  return flags;
}

std::optional<std::string> Flags::Get(std::string_view name) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

StatusOr<int64_t> Flags::GetInt(std::string_view name, int64_t fallback, int64_t min,
                                int64_t max) const {
  const std::optional<std::string> text = Get(name);
  if (!text.has_value()) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno == ERANGE || value < min || value > max) {
    return InvalidArgumentError("--" + std::string(name) + ": expected " + std::to_string(min) +
                                " to " + std::to_string(max) + ", got '" + *text + "'");
  }
  return static_cast<int64_t>(value);
}

std::string HelpText(std::string_view usage, std::string_view summary,
                     const std::vector<FlagSpec>& specs) {
  std::string text = "usage: " + std::string(usage) + "\n\n" + std::string(summary) + "\n";
  if (!specs.empty()) text += "\noptions:\n";
  for (const FlagSpec& spec : specs) {
    std::string left = "  --" + spec.name + (spec.takes_value ? " " + spec.value_name : "");
    if (left.size() < 26) left.resize(26, ' ');
    text += left + " " + spec.help + "\n";
  }
  text += "  --help                   show this help\n";
  return text;
}

}  // namespace custos::cli
