// `custos manufacture`: give a device its key and a birth certificate from
// a manufacturer CA. See docs/identity.md and docs/cli.md.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/identity_cli.h"
#include "custos/identity/manufacture.h"
#include "custos/keystore/open_key_store.h"

namespace custos::cli {
namespace {

constexpr char kUsage[] =
    "custos manufacture --manufacturer-ca DIR --store URI --device-id ID --out DIR "
    "[--key-type TYPE] [--label LABEL] [--json]";
constexpr char kSummary[] =
    "generate a device key in the device's store and a birth certificate signed by a "
    "manufacturer CA (made with 'custos ca init --name ...'); the device folder --out then "
    "enrolls with no token ('custos device enroll --dir DIR --data FLEET_CA').";

std::vector<FlagSpec> Specs() {
  return {{"manufacturer-ca", true, "the manufacturer CA folder", "DIR"},
          {"store", true, "the device's key store", "URI"},
          {"device-id", true, "the device id", "ID"},
          {"out", true, "the device's state folder to create", "DIR"},
          {"key-type", true, "device key type: ecdsa-p256 (default) or ed25519", "TYPE"},
          {"label", true, "label of the device key (default custos-device-ID-g1)", "LABEL"},
          {"json", false, "print JSON"}};
}

}  // namespace

int RunManufacture(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << HelpText(kUsage, kSummary, Specs());
      return kExitOk;
    }
  }
  CommandContext ctx{"manufacture", Flags()};
  StatusOr<Flags> flags = Flags::Parse(args, Specs());
  if (!flags.ok()) return UsageError(ctx, std::string(flags.status().message()));
  ctx.flags = *std::move(flags);
  int rc = kExitOk;
  std::optional<std::string> ca_dir = RequireFlag(ctx, "manufacturer-ca", rc);
  if (!ca_dir) return rc;
  std::optional<std::string> store_uri = RequireFlag(ctx, "store", rc);
  if (!store_uri) return rc;
  std::optional<std::string> id = RequireFlag(ctx, "device-id", rc);
  if (!id) return rc;
  std::optional<std::string> out = RequireFlag(ctx, "out", rc);
  if (!out) return rc;
  if (Status valid = identity::ValidateDeviceId(*id); !valid.ok()) {
    return UsageError(ctx, "--device-id: " + std::string(valid.message()));
  }
  StatusOr<keystore::KeyType> type = IdentityKeyType(ctx, keystore::KeyType::kEcdsaP256);
  if (!type.ok()) return UsageError(ctx, std::string(type.status().message()));
  if (identity::LoadDeviceState(*out).ok()) {
    return Failure(ctx, *out + " already holds a device");
  }
  StatusOr<std::unique_ptr<identity::FleetCa>> ca = OpenCaFolder(*ca_dir);
  if (!ca.ok()) return ErrorExit(ctx, Annotate(ca.status(), "--manufacturer-ca"));
  StatusOr<std::unique_ptr<keystore::KeyStore>> store = keystore::OpenKeyStore(*store_uri);
  if (!store.ok()) return ErrorExit(ctx, Annotate(store.status(), "--store"));
  const std::string label = ctx.flags.Get("label").value_or("custos-device-" + *id + "-g1");
  StatusOr<identity::DeviceState> state =
      identity::Manufacture(**ca, **store, *store_uri, *id, *type, label, NowSeconds());
  if (!state.ok()) return ErrorExit(ctx, state.status());
  if (Status saved = identity::SaveDeviceState(*out, *state); !saved.ok()) {
    (void)(*store)->Destroy(label);
    return ErrorExit(ctx, saved);
  }
  if (ctx.flags.Has("json")) {
    nlohmann::json j = {
        {"device_id", *id}, {"key_label", label}, {"key_type", state->key_type}, {"out", *out}};
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  std::cout << "Manufactured device '" << *id << "': " << state->key_type << " key '" << label
            << "' in " << *store_uri << ", birth certificate in " << *out << "/birth.pem\n";
  return kExitOk;
}

}  // namespace custos::cli
