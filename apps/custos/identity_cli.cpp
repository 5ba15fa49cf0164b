#include "apps/custos/identity_cli.h"

#include <ctime>
#include <iostream>

#include "apps/custos/commands.h"
#include "custos/identity/device_registry.h"
#include "custos/keystore/open_key_store.h"

namespace custos::cli {

int DispatchIdentity(std::string_view group, std::string_view summary,
                     const std::vector<Subcommand>& subcommands,
                     const std::vector<std::string>& args) {
  auto usage = [&] {
    std::string text = "usage: custos " + std::string(group) + " <subcommand> [options]\n\n" +
                       std::string(summary) + "\n\nsubcommands:\n";
    for (const Subcommand& sub : subcommands) {
      std::string name = sub.name;
      name.resize(std::max<std::size_t>(name.size() + 2, 10), ' ');
      text += "  " + name + sub.summary + "\n";
    }
    return text + "\nEvery subcommand takes --help.\n";
  };
  return RunSubcommand(group, usage(), subcommands, args);
}

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

std::string FormatTime(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

StatusOr<keystore::KeyType> IdentityKeyType(const CommandContext& ctx, keystore::KeyType fallback) {
  std::optional<std::string> name = ctx.flags.Get("key-type");
  if (!name.has_value()) return fallback;
  StatusOr<keystore::KeyType> type = keystore::KeyTypeFromName(*name);
  if (!type.ok() ||
      (*type != keystore::KeyType::kEcdsaP256 && *type != keystore::KeyType::kEd25519)) {
    return InvalidArgumentError("--key-type: expected ecdsa-p256 or ed25519, got '" + *name + "'");
  }
  return *type;
}

StatusOr<std::unique_ptr<identity::FleetCa>> OpenCaFolder(const std::string& data_dir) {
  StatusOr<std::unique_ptr<identity::DeviceRegistry>> registry =
      identity::OpenFileDeviceRegistry(data_dir);
  if (!registry.ok()) return Annotate(registry.status(), "--data");
  CUSTOS_ASSIGN_OR_RETURN(std::string uri, identity::FleetCa::StoreUriOf(**registry));
  StatusOr<std::unique_ptr<keystore::KeyStore>> store = keystore::OpenKeyStore(uri);
  if (!store.ok()) {
    // A wrong PIN or a missing token is not bad input to this command.
    return Status(store.status().code() == StatusCode::kInvalidArgument
                      ? StatusCode::kFailedPrecondition
                      : store.status().code(),
                  "CA key store: " + std::string(store.status().message()));
  }
  return identity::FleetCa::Open(*std::move(registry), *std::move(store));
}

Status WriteCaTrustFiles(const std::string& data_dir, const identity::FleetCa& ca) {
  std::string roots;
  for (const identity::Certificate& c : ca.Roots()) roots += c.ToPem();
  std::string chain;
  for (const identity::Certificate& c : ca.Chain()) chain += c.ToPem();
  CUSTOS_RETURN_IF_ERROR(identity::WriteFileAtomically(data_dir + "/roots.pem", roots, 0644));
  return identity::WriteFileAtomically(data_dir + "/chain.pem", chain, 0644);
}

StatusOr<std::string> ReadTextFile(const std::string& path, std::size_t max_bytes) {
  return identity::ReadFileBounded(path, max_bytes);
}

Status WriteOutput(const std::string& path, std::string_view text, unsigned mode) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return std::cout ? OkStatus() : UnavailableError("cannot write to standard output");
  }
  return identity::WriteFileAtomically(path, text, mode);
}

}  // namespace custos::cli
