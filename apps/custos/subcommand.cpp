#include "apps/custos/subcommand.h"

#include <iostream>

#include "apps/custos/commands.h"

namespace custos::cli {

int RunSubcommand(std::string_view group, std::string_view group_usage,
                  const std::vector<Subcommand>& subcommands,
                  const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << group_usage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  for (const Subcommand& sub : subcommands) {
    if (sub.name != args[0]) continue;
    Subcommand named = sub;
    named.name = std::string(group) + " " + sub.name;
    return RunCommand(named, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::cerr << "custos " << group << ": unknown subcommand '" << args[0] << "'\n\n" << group_usage;
  return kExitUsage;
}

int RunCommand(const Subcommand& command, const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << HelpText(command.usage, command.summary, command.flags);
      return kExitOk;
    }
  }
  CommandContext ctx{command.name, Flags()};
  StatusOr<Flags> flags = Flags::Parse(args, command.flags);
  if (!flags.ok()) return UsageError(ctx, std::string(flags.status().message()));
  ctx.flags = *std::move(flags);
  return command.run(ctx);
}

int UsageError(const CommandContext& ctx, std::string_view message) {
  std::cerr << "custos " << ctx.command << ": " << message << "\n"
            << "Try 'custos " << ctx.command << " --help'.\n";
  return kExitUsage;
}

int Failure(const CommandContext& ctx, std::string_view message) {
  std::cerr << "custos " << ctx.command << ": " << message << "\n";
  return kExitFailure;
}

int ErrorExit(const CommandContext& ctx, const Status& status) {
  if (status.code() == StatusCode::kInvalidArgument)
    return UsageError(ctx, std::string(status.message()));
  return Failure(ctx, std::string(status.message()));
}

std::optional<std::string> RequireFlag(const CommandContext& ctx, std::string_view name,
                                       int& exit_code) {
  std::optional<std::string> value = ctx.flags.Get(name);
  if (!value.has_value()) exit_code = UsageError(ctx, "missing --" + std::string(name));
  return value;
}

}  // namespace custos::cli
