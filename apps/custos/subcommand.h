// File: apps/custos/subcommand.h
//
// What every `custos <group> <subcommand>` shares: the subcommand table, the
// dispatch (--help on each subcommand, the group usage for no or unknown
// words) and the error exits. Private to the binary.
#ifndef CUSTOS_APPS_CUSTOS_SUBCOMMAND_H_
#define CUSTOS_APPS_CUSTOS_SUBCOMMAND_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/custos/flags.h"
#include "custos/core/status.h"

namespace custos::cli {

// The context of one subcommand run: its name for messages, and its flags.
struct CommandContext {
  std::string command;  // e.g. "keys sign"
  Flags flags;
};

// One subcommand: its word, usage line, summary, flags and body.
struct Subcommand {
  std::string name;
  std::string usage;
  std::string summary;
  std::vector<FlagSpec> flags;
  std::function<int(CommandContext&)> run;
};

// Runs the subcommand args[0] of `group` ("keys", "ca", ...) with the rest of
// `args`. Prints `group_usage` (to stdout for --help, to stderr with the
// usage exit status for no or an unknown word) and a subcommand's help for
// --help anywhere after it; bad flags are usage errors.
int RunSubcommand(std::string_view group, std::string_view group_usage,
                  const std::vector<Subcommand>& subcommands, const std::vector<std::string>& args);

// Runs one command (`custos serve`, `custos demo`, or a group's subcommand)
// with `args`, the words after its name: prints its help (usage, summary,
// flags) for --help or -h anywhere, turns a bad flag into a usage error, and
// otherwise calls its body with a context named `command.name`.
int RunCommand(const Subcommand& command, const std::vector<std::string>& args);

// Prints "custos <command>: <message>" and a hint, and returns the usage exit status.
int UsageError(const CommandContext& ctx, std::string_view message);
// Prints "custos <command>: <message>" and returns the failure exit status.
int Failure(const CommandContext& ctx, std::string_view message);
// InvalidArgument -> usage error (bad input); any other error -> failure.
int ErrorExit(const CommandContext& ctx, const Status& status);
// The value of a required flag; prints a usage error and sets `exit_code`
// when it is missing.
std::optional<std::string> RequireFlag(const CommandContext& ctx, std::string_view name,
                                       int& exit_code);

}  // namespace custos::cli

#endif  // CUSTOS_APPS_CUSTOS_SUBCOMMAND_H_
