// File: apps/custos/commands.h
//
// The subcommands of the custos binary. Each returns the process exit status:
// 0 success, 1 the operation failed (e.g. authentication failed), 2 bad usage
// or bad input.
#ifndef CUSTOS_APPS_CUSTOS_COMMANDS_H_
#define CUSTOS_APPS_CUSTOS_COMMANDS_H_

#include <string>
#include <vector>

namespace custos::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// `custos crypto ...`; args are the words after "crypto".
int RunCrypto(const std::vector<std::string>& args);

// `custos keys ...`; args are the words after "keys".
int RunKeys(const std::vector<std::string>& args);

// `custos ca ...`; args are the words after "ca".
int RunCa(const std::vector<std::string>& args);

// `custos device ...`; args are the words after "device".
int RunDevice(const std::vector<std::string>& args);

// `custos manufacture ...`; args are the words after "manufacture".
int RunManufacture(const std::vector<std::string>& args);

// `custos serve ...`: the control plane (custosd); args are the words after "serve".
int RunServe(const std::vector<std::string>& args);

// `custos agent ...`: one device; args are the words after "agent".
int RunAgent(const std::vector<std::string>& args);

// `custos sim ...`: a simulated fleet; args are the words after "sim".
int RunSim(const std::vector<std::string>& args);

// `custos demo ...`; args are the words after "demo".
int RunDemo(const std::vector<std::string>& args);

}  // namespace custos::cli

#endif  // CUSTOS_APPS_CUSTOS_COMMANDS_H_
