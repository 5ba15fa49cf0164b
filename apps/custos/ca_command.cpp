// `custos ca ...`: create and run a fleet (or manufacturer) CA whose keys
// live in a key store. See docs/identity.md and docs/cli.md.
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/identity_cli.h"
#include "custos/core/hex.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/fleet_ca.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/pkcs11/softhsm_token.h"

namespace custos::cli {
namespace {

using identity::Certificate;
using identity::FleetCa;

const FlagSpec kDataFlag{"data", true, "the CA folder", "DIR"};
const FlagSpec kJsonFlag{"json", false, "print JSON"};

nlohmann::json CertSummary(const Certificate& c) {
  return {{"subject", c.subject_name()},
          {"serial", c.serial_hex()},
          {"key_type", c.key_algorithm()},
          {"not_after", c.not_after()},
          {"fingerprint_sha256", HexEncode(c.fingerprint_sha256())}};
}

int PrintCa(const CommandContext& ctx, const FleetCa& ca, const std::string& store_uri,
            const std::string& data_dir) {
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"name", ca.name()},
                          {"data", data_dir},
                          {"store", store_uri},
                          {"key_type", std::string(keystore::KeyTypeName(ca.key_type()))},
                          {"root", CertSummary(ca.root())},
                          {"issuing", CertSummary(ca.issuing())}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "CA '" << ca.name() << "' in " << data_dir << "\n"
            << "  root:    " << ca.root().subject_name() << " (" << ca.root().key_algorithm()
            << ", until " << FormatTime(ca.root().not_after()) << ")\n"
            << "  issuing: " << ca.issuing().subject_name() << " (" << ca.issuing().key_algorithm()
            << ", until " << FormatTime(ca.issuing().not_after()) << ")\n"
            << "  keys in: " << store_uri << "\n"
            << "  trust:   " << data_dir << "/roots.pem, intermediates " << data_dir
            << "/chain.pem\n";
  return kExitOk;
}

// --- init ---------------------------------------------------------------------

int Init(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  StatusOr<keystore::KeyType> type = IdentityKeyType(ctx, keystore::KeyType::kEcdsaP256);
  if (!type.ok()) return UsageError(ctx, std::string(type.status().message()));
  identity::CaOptions options;
  options.name = ctx.flags.Get("name").value_or("custos fleet");
  options.key_type = *type;
  if (std::optional<std::string> days = ctx.flags.Get("device-days")) {
    char* end = nullptr;
    const long value = std::strtol(days->c_str(), &end, 10);
    if (days->empty() || *end != '\0' || value < 1 || value > 3650) {
      return UsageError(ctx, "--device-days: expected 1..3650, got '" + *days + "'");
    }
    options.device_validity_seconds = value * 24 * 3600;
  }

  const std::string dir = std::filesystem::absolute(*data).lexically_normal().string();
  if (std::filesystem::exists(dir + "/" + std::string(identity::kCaDocument))) {
    return Failure(ctx, "a CA already exists in " + dir);
  }
  const bool made_dir = ::mkdir(dir.c_str(), 0700) == 0;
  if (!made_dir && errno != EEXIST) return Failure(ctx, "cannot create " + dir);
  bool made_token = false;
  // Undo what this command created when it fails: nothing partial is left.
  auto fail = [&](const Status& status) {
    if (made_token) std::filesystem::remove_all(dir + "/token");
    if (made_dir) std::filesystem::remove_all(dir);
    return ErrorExit(ctx, status);
  };

  std::string store_uri;
  if (std::optional<std::string> given = ctx.flags.Get("store")) {
    store_uri = *given;
  } else {
    keystore::SoftHsmTokenOptions token;
    token.dir = dir + "/token";
    token.label = "custos-ca";
    StatusOr<std::string> uri = keystore::CreateSoftHsmToken(token);
    if (!uri.ok()) return fail(Annotate(uri.status(), "creating the SoftHSM2 token"));
    made_token = true;
    store_uri = *uri;
    std::cout << "Created SoftHSM2 token 'custos-ca' in " << token.dir
              << " (PINs in user.pin and so.pin there, mode 0600); the CA keys live in it.\n";
  }
  options.store_uri = store_uri;
  StatusOr<std::unique_ptr<keystore::KeyStore>> store = keystore::OpenKeyStore(store_uri);
  if (!store.ok()) return fail(Annotate(store.status(), "--store"));
  StatusOr<std::unique_ptr<identity::DeviceRegistry>> registry =
      identity::OpenFileDeviceRegistry(dir);
  if (!registry.ok()) return fail(registry.status());
  StatusOr<std::unique_ptr<FleetCa>> ca =
      FleetCa::Create(*std::move(registry), *std::move(store), options, NowSeconds());
  if (!ca.ok()) return fail(ca.status());
  if (Status trust = WriteCaTrustFiles(dir, **ca); !trust.ok()) return fail(trust);
  return PrintCa(ctx, **ca, store_uri, dir);
}

// --- rotate ---------------------------------------------------------------------

int Rotate(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  StatusOr<keystore::KeyType> type = IdentityKeyType(ctx, (*ca)->key_type());
  if (!type.ok()) return UsageError(ctx, std::string(type.status().message()));
  const Certificate old_root = (*ca)->root();
  const Certificate old_issuing = (*ca)->issuing();
  const bool root = ctx.flags.Has("root");
  Status rotated =
      root ? (*ca)->RotateRootCa(NowSeconds(), *type) : (*ca)->RotateIssuingCa(NowSeconds(), *type);
  if (!rotated.ok()) return ErrorExit(ctx, rotated);
  if (Status trust = WriteCaTrustFiles(*data, **ca); !trust.ok()) {
    return ErrorExit(ctx, trust);
  }
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"root", CertSummary((*ca)->root())},
                          {"issuing", CertSummary((*ca)->issuing())},
                          {"root_rotated", root}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  if (root) {
    std::cout << "New root " << (*ca)->root().subject_name() << " ("
              << (*ca)->root().key_algorithm() << "), cross-signed by " << old_root.subject_name()
              << "\n";
  }
  std::cout << "New issuing CA " << (*ca)->issuing().subject_name() << " ("
            << (*ca)->issuing().key_algorithm() << ")"
            << (root ? "" : ", cross-signed by " + old_issuing.subject_name()) << "\n"
            << "Devices that trust the old root accept the new CA through " << *data
            << "/chain.pem.\n";
  return kExitOk;
}

// --- crl ---------------------------------------------------------------------

int Crl(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  StatusOr<std::vector<identity::Crl>> crls = (*ca)->IssueCrls(NowSeconds());
  if (!crls.ok()) return ErrorExit(ctx, crls.status());
  std::string pem;
  for (const identity::Crl& crl : *crls) pem += crl.ToPem();
  const std::string out = ctx.flags.Get("out").value_or("");
  if (Status written = WriteOutput(out, pem); !written.ok()) {
    return ErrorExit(ctx, written);
  }
  if (!out.empty() && out != "-") {
    std::size_t entries = 0;
    for (const identity::Crl& crl : *crls) entries += crl.entries().size();
    std::cout << "Wrote " << crls->size() << " CRL(s) with " << entries
              << " revoked certificate(s) to " << out << "\n";
  }
  return kExitOk;
}

// --- trust-manufacturer ---------------------------------------------------------

int TrustManufacturer(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  std::optional<std::string> root_path = RequireFlag(ctx, "root", rc);
  if (!root_path) return rc;
  StatusOr<std::string> pem = ReadTextFile(*root_path, identity::kMaxCertificateBytes);
  if (!pem.ok()) return UsageError(ctx, "--root: " + std::string(pem.status().message()));
  StatusOr<std::vector<Certificate>> roots = identity::ParseCertificatePemBundle(*pem);
  if (!roots.ok()) {
    return UsageError(ctx, "--root: " + std::string(roots.status().message()));
  }
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  for (const Certificate& root : *roots) {
    if (Status trusted = (*ca)->TrustManufacturerRoot(root); !trusted.ok()) {
      return ErrorExit(ctx, trusted);
    }
    std::cout << "Trusting manufacturer root " << root.subject_name() << " for zero-touch "
              << "enrollment\n";
  }
  return kExitOk;
}

// --- issue ---------------------------------------------------------------------

int Issue(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  std::optional<std::string> request_path = RequireFlag(ctx, "request", rc);
  if (!request_path) return rc;
  StatusOr<std::string> request = ReadTextFile(*request_path, identity::kMaxMessageBytes);
  if (!request.ok()) {
    return UsageError(ctx, "--request: " + std::string(request.status().message()));
  }
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  StatusOr<std::string> response = (*ca)->HandleMessage(*request, NowSeconds());
  if (!response.ok()) return ErrorExit(ctx, response.status());
  if (Status written = WriteOutput(ctx.flags.Get("out").value_or(""), *response + "\n");
      !written.ok()) {
    return ErrorExit(ctx, written);
  }
  return kExitOk;
}

std::vector<Subcommand> Subcommands() {
  return {
      {"init",
       "custos ca init --data DIR [--store URI] [--name NAME] [--key-type ecdsa-p256|ed25519] "
       "[--device-days N] [--json]",
       "create a root and an issuing CA whose keys live in a key store",
       {kDataFlag,
        {"store", true, "key store for the CA keys (default: a new SoftHSM2 token in DIR/token)",
         "URI"},
        {"name", true, "CA name, the O of its certificates (default 'custos fleet')", "NAME"},
        {"key-type", true, "CA key type: ecdsa-p256 (default) or ed25519", "TYPE"},
        {"device-days", true, "lifetime of device certificates in days (default 30)", "N"},
        kJsonFlag},
       Init},
      {"rotate",
       "custos ca rotate --data DIR [--root] [--key-type TYPE] [--json]",
       "re-key the issuing CA (--root: the root too), cross-signed by the old key",
       {kDataFlag,
        {"root", false, "re-key the root CA (and issue a new issuing CA under it)"},
        {"key-type", true, "key type of the new CA key (default: unchanged)", "TYPE"},
        kJsonFlag},
       Rotate},
      {"crl",
       "custos ca crl --data DIR [--out FILE]",
       "issue CRLs now (one per valid issuing CA generation), PEM",
       {kDataFlag, {"out", true, "write to FILE instead of standard output", "FILE"}},
       Crl},
      {"trust-manufacturer",
       "custos ca trust-manufacturer --data DIR --root FILE",
       "trust a manufacturer root CA for zero-touch enrollment",
       {kDataFlag, {"root", true, "PEM file with the manufacturer's root certificate", "FILE"}},
       TrustManufacturer},
      {"issue",
       "custos ca issue --data DIR --request FILE [--out FILE]",
       "answer an enrollment or rotation request file (docs/formats/enrollment.md)",
       {kDataFlag,
        {"request", true, "the request document", "FILE"},
        {"out", true, "write the response to FILE instead of standard output", "FILE"}},
       Issue},
  };
}

}  // namespace

int RunCa(const std::vector<std::string>& args) {
  return DispatchIdentity("ca",
                          "The fleet certificate authority: a root and an issuing CA whose "
                          "private keys live in a key store.",
                          Subcommands(), args);
}

}  // namespace custos::cli
