// `custos keys ...`: keys held in a key store (PKCS#11 token, TPM 2.0 or the
// software store) from the command line. The forms and outputs are a
// contract; see docs/cli.md and docs/keystore.md.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/subcommand.h"
#include "custos/core/hex.h"
#include "custos/keystore/key_store.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/pkcs11/softhsm_token.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/keystore/tamper_monitor.h"

namespace custos::cli {
namespace {

using keystore::KeyInfo;
using keystore::KeyStore;
using keystore::KeyType;

// Largest message `sign`/`verify` read from a file.
constexpr std::size_t kMaxMessageBytes = std::size_t{256} << 20;

std::unique_ptr<KeyStore> OpenStore(const CommandContext& ctx, int& exit_code) {
  std::optional<std::string> uri = RequireFlag(ctx, "store", exit_code);
  if (!uri) return nullptr;
  StatusOr<std::unique_ptr<KeyStore>> store = keystore::OpenKeyStore(*uri);
  if (!store.ok()) {
    exit_code = ErrorExit(ctx, store.status());
    return nullptr;
  }
  return *std::move(store);
}

StatusOr<std::vector<uint8_t>> ReadBinaryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "'");
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > kMaxMessageBytes) {
    return InvalidArgumentError("'" + path + "' is larger than 256 MiB");
  }
  return data;
}

Status WriteBinaryFile(const std::string& path, std::span<const uint8_t> data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return UnavailableError("cannot write '" + path + "'");
  return OkStatus();
}

// The message from --message HEX or --in FILE (exactly one).
std::optional<std::vector<uint8_t>> MessageInput(const CommandContext& ctx, int& exit_code) {
  const std::optional<std::string> hex = ctx.flags.Get("message");
  const std::optional<std::string> path = ctx.flags.Get("in");
  if (hex.has_value() == path.has_value()) {
    exit_code = UsageError(ctx, "give the message with exactly one of --message HEX or --in FILE");
    return std::nullopt;
  }
  StatusOr<std::vector<uint8_t>> bytes = hex ? HexDecode(*hex) : ReadBinaryFile(*path);
  if (!bytes.ok()) {
    exit_code =
        UsageError(ctx, (hex ? "--message: " : "--in: ") + std::string(bytes.status().message()));
    return std::nullopt;
  }
  return *std::move(bytes);
}

std::string Pem(std::span<const uint8_t> der) {
  const std::string b64 = Base64Encode(der);
  std::string pem = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END PUBLIC KEY-----\n";
}

nlohmann::json InfoJson(const KeyInfo& info) {
  nlohmann::json out = {{"label", info.label},
                        {"type", std::string(keystore::KeyTypeName(info.type))},
                        {"extractable", info.extractable}};
  if (!info.aead_algorithm.empty()) out["aead"] = info.aead_algorithm;
  return out;
}

std::string ProtectionText(const KeyStore& store) {
  return store.HardwareProtected()
             ? "non-extractable keys held by the " + std::string(store.BackendName()) + " device"
             : "NONE: software store for development and simulated "
               "devices only";
}

// --- info / list / gen ----------------------------------------------------------

int Info(CommandContext& ctx) {
  int rc = kExitOk;
  std::unique_ptr<KeyStore> store = OpenStore(ctx, rc);
  if (store == nullptr) return rc;
  std::vector<std::string> types;
  for (KeyType type : store->SupportedKeyTypes()) {
    types.emplace_back(keystore::KeyTypeName(type));
  }
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"backend", std::string(store->BackendName())},
                          {"hardware_protected", store->HardwareProtected()},
                          {"key_types", types}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "backend:    " << store->BackendName() << "\n"
            << "protection: " << ProtectionText(*store) << "\n"
            << "key types: ";
  for (const std::string& type : types) std::cout << " " << type;
  std::cout << "\n";
  return kExitOk;
}

int List(CommandContext& ctx) {
  int rc = kExitOk;
  std::unique_ptr<KeyStore> store = OpenStore(ctx, rc);
  if (store == nullptr) return rc;
  StatusOr<std::vector<KeyInfo>> keys = store->List();
  if (!keys.ok()) return ErrorExit(ctx, keys.status());
  if (ctx.flags.Has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const KeyInfo& info : *keys) out.push_back(InfoJson(info));
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  for (const KeyInfo& info : *keys) {
    std::cout << info.label << "\t" << keystore::KeyTypeName(info.type);
    if (!info.aead_algorithm.empty()) std::cout << "\t" << info.aead_algorithm;
    std::cout << "\n";
  }
  return kExitOk;
}

int Gen(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> type_name = RequireFlag(ctx, "type", rc);
  if (!type_name) return rc;
  std::optional<std::string> label = RequireFlag(ctx, "label", rc);
  if (!label) return rc;
  StatusOr<KeyType> type = keystore::KeyTypeFromName(*type_name);
  if (!type.ok()) return UsageError(ctx, "--type: " + std::string(type.status().message()));
  std::unique_ptr<KeyStore> store = OpenStore(ctx, rc);
  if (store == nullptr) return rc;
  StatusOr<KeyInfo> info = store->Generate(*type, *label);
  if (!info.ok()) return ErrorExit(ctx, info.status());
  std::optional<std::vector<uint8_t>> public_key;
  if (keystore::PurposeOf(*type) != keystore::KeyPurpose::kEncrypt) {
    StatusOr<std::vector<uint8_t>> der = store->ExportPublicKey(*label);
    if (!der.ok()) return ErrorExit(ctx, der.status());
    public_key = *std::move(der);
  }
  if (ctx.flags.Has("json")) {
    nlohmann::json out = InfoJson(*info);
    if (public_key) out["public_key_der"] = Base64Encode(*public_key);
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "generated " << keystore::KeyTypeName(info->type) << " key '" << info->label
            << "' in the " << store->BackendName() << " store\n";
  if (public_key) std::cout << Pem(*public_key);
  return kExitOk;
}

// --- sign / verify / export-public ------------------------------------------------

int Sign(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> label = RequireFlag(ctx, "label", rc);
  if (!label) return rc;
  std::optional<std::vector<uint8_t>> message = MessageInput(ctx, rc);
  if (!message) return rc;
  std::unique_ptr<KeyStore> store = OpenStore(ctx, rc);
  if (store == nullptr) return rc;
  StatusOr<std::vector<uint8_t>> signature = store->Sign(*label, *message);
  if (!signature.ok()) return ErrorExit(ctx, signature.status());
  if (std::optional<std::string> out = ctx.flags.Get("out")) {
    Status status = WriteBinaryFile(*out, *signature);
    if (!status.ok()) return ErrorExit(ctx, status);
    return kExitOk;
  }
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"label", *label}, {"signature", HexEncode(*signature)}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << HexEncode(*signature) << "\n";
  return kExitOk;
}

int Verify(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> label = RequireFlag(ctx, "label", rc);
  if (!label) return rc;
  std::optional<std::vector<uint8_t>> message = MessageInput(ctx, rc);
  if (!message) return rc;
  const std::optional<std::string> sig_hex = ctx.flags.Get("sig");
  const std::optional<std::string> sig_file = ctx.flags.Get("sig-file");
  if (sig_hex.has_value() == sig_file.has_value()) {
    return UsageError(ctx, "give the signature with exactly one of --sig HEX or --sig-file FILE");
  }
  StatusOr<std::vector<uint8_t>> signature =
      sig_hex ? HexDecode(*sig_hex) : ReadBinaryFile(*sig_file);
  if (!signature.ok()) {
    return UsageError(
        ctx, (sig_hex ? "--sig: " : "--sig-file: ") + std::string(signature.status().message()));
  }
  std::unique_ptr<KeyStore> store = OpenStore(ctx, rc);
  if (store == nullptr) return rc;
  Status status = store->Verify(*label, *message, *signature);
  if (status.code() == StatusCode::kUnauthenticated) {
    return Failure(ctx, "signature does not verify with key '" + *label + "'");
  }
  if (!status.ok()) return ErrorExit(ctx, status);
  std::cout << "signature OK\n";
  return kExitOk;
}

int ExportPublic(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> label = RequireFlag(ctx, "label", rc);
  if (!label) return rc;
  std::unique_ptr<KeyStore> store = OpenStore(ctx, rc);
  if (store == nullptr) return rc;
  StatusOr<std::vector<uint8_t>> der = store->ExportPublicKey(*label);
  if (!der.ok()) return ErrorExit(ctx, der.status());
  const bool as_der = ctx.flags.Has("der");
  if (std::optional<std::string> out = ctx.flags.Get("out")) {
    const std::string pem = Pem(*der);
    Status status = as_der ? WriteBinaryFile(*out, *der) : WriteBinaryFile(*out, AsBytes(pem));
    if (!status.ok()) return ErrorExit(ctx, status);
    return kExitOk;
  }
  if (as_der) return UsageError(ctx, "--der needs --out FILE");
  std::cout << Pem(*der);
  return kExitOk;
}

// --- zeroize -----------------------------------------------------------------------

int Zeroize(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> uri = RequireFlag(ctx, "store", rc);
  if (!uri) return rc;
  std::optional<std::string> state = ctx.flags.Get("state");
  if (!state.has_value()) {
    // A software store in a folder records into that folder.
    if (uri->rfind("soft:", 0) == 0 && *uri != "soft:mem") {
      state = uri->substr(
          5, uri->find('?') == std::string::npos ? std::string::npos : uri->find('?') - 5);
    } else {
      return UsageError(ctx,
                        "missing --state DIR (where the tamper record and the "
                        "re-enrollment marker go)");
    }
  }
  const std::string reason = ctx.flags.Get("reason").value_or("custos keys zeroize");
  StatusOr<keystore::TamperEvent> event = InternalError("no tamper response ran");
  StatusOr<std::unique_ptr<KeyStore>> store = keystore::OpenKeyStore(*uri);
  if (store.ok()) {
    StatusOr<keystore::TamperMonitor> monitor =
        keystore::TamperMonitor::Create(store->get(), *state);
    if (!monitor.ok()) return ErrorExit(ctx, monitor.status());
    event = monitor->Trigger("cli", reason);
  } else if (uri->rfind("soft:", 0) == 0 && *uri != "soft:mem" &&
             store.status().code() != StatusCode::kInvalidArgument) {
    // A software store that cannot be opened (a damaged key file, a lost
    // passphrase) is still zeroized: its key files are destroyed unread.
    std::cerr << "custos keys zeroize: cannot open the store (" << store.status().message()
              << "); destroying its key files without opening it\n";
    event = keystore::RecordTamperResponse(*state, "soft", keystore::DestroySoftKeyStoreFiles(*uri),
                                           "cli", reason);
  } else {
    return ErrorExit(ctx, store.status());
  }
  if (!event.ok()) return ErrorExit(ctx, event.status());
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"backend", event->backend},
                          {"keys_destroyed", event->keys_destroyed},
                          {"time", event->time},
                          {"tamper_log", *state + "/" + std::string(keystore::kTamperLogFile)},
                          {"needs_reenrollment", true}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "destroyed " << event->keys_destroyed << " key(s) in the " << event->backend
            << " store; tamper event recorded in " << *state << "/" << keystore::kTamperLogFile
            << "; the device needs re-enrollment\n";
  return kExitOk;
}

// --- init-token ----------------------------------------------------------------------

int InitToken(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> dir = RequireFlag(ctx, "dir", rc);
  if (!dir) return rc;
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(*dir, error);
  if (error) return UsageError(ctx, "--dir: cannot resolve '" + *dir + "'");
  keystore::SoftHsmTokenOptions options;
  options.dir = absolute.lexically_normal().string();
  while (options.dir.size() > 1 && options.dir.back() == '/') options.dir.pop_back();
  if (std::optional<std::string> label = ctx.flags.Get("label")) options.label = *label;
  if (std::optional<std::string> module = ctx.flags.Get("module")) options.module_path = *module;
  StatusOr<std::string> uri = keystore::CreateSoftHsmToken(options);
  if (!uri.ok()) return ErrorExit(ctx, uri.status());
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"uri", *uri}, {"dir", options.dir}, {"label", options.label}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << *uri << "\n";
  return kExitOk;
}

// --- dispatch ----------------------------------------------------------------------

std::vector<Subcommand> Subcommands() {
  const FlagSpec json{"json", false, "print JSON"};
  const FlagSpec store{"store", true, "the key store (see 'custos keys --help')", "STORE"};
  const FlagSpec label{"label", true, "the key's label", "LABEL"};
  const FlagSpec message{"message", true, "the message, in hex", "HEX"};
  const FlagSpec in{"in", true, "read the message from FILE", "FILE"};
  return {
      {"info",
       "custos keys info --store STORE [--json]",
       "Prints the backend, whether it offers hardware protection, and the key types it\n"
       "supports. --json: {\"backend\", \"hardware_protected\", \"key_types\"}.",
       {store, json},
       Info},
      {"gen",
       "custos keys gen --store STORE --type TYPE --label LABEL [--json]",
       "Generates a non-extractable key in the store and prints its public key (PEM) if it\n"
       "has one. TYPE: ed25519, ecdsa-p256, ecdh-p256, x25519, aes-128, ascon-aead128.\n"
       "--json: {\"label\", \"type\", \"extractable\", \"aead\"?, \"public_key_der\"? (base64)}.",
       {store, {"type", true, "key type", "TYPE"}, label, json},
       Gen},
      {"list",
       "custos keys list --store STORE [--json]",
       "Lists the keys: label, type and AEAD (tab-separated), sorted by label.\n"
       "--json: an array of {\"label\", \"type\", \"extractable\", \"aead\"?}.",
       {store, json},
       List},
      {"sign",
       "custos keys sign --store STORE --label LABEL (--message HEX | --in FILE) [--out FILE] "
       "[--json]",
       "Signs inside the store and prints the raw signature in hex (r||s for ECDSA P-256,\n"
       "64 bytes either way), or writes the raw bytes to --out FILE.",
       {store, label, message, in, {"out", true, "write the raw signature to FILE", "FILE"}, json},
       Sign},
      {"verify",
       "custos keys verify --store STORE --label LABEL (--message HEX | --in FILE) "
       "(--sig HEX | --sig-file FILE)",
       "Verifies a raw signature with the key. Exit status 0 and 'signature OK', or 1 and\n"
       "'signature does not verify'.",
       {store,
        label,
        message,
        in,
        {"sig", true, "the signature, in hex", "HEX"},
        {"sig-file", true, "read the raw signature from FILE", "FILE"}},
       Verify},
      {"export-public",
       "custos keys export-public --store STORE --label LABEL [--out FILE [--der]]",
       "Prints the public key of a sign or agree key as PEM (SubjectPublicKeyInfo), or writes\n"
       "it to FILE (DER with --der). Secret (aes-128, ascon-aead128) and private keys never\n"
       "leave the store: asking for a secret key fails.",
       {store,
        label,
        {"out", true, "write to FILE", "FILE"},
        {"der", false, "write DER instead of PEM"}},
       ExportPublic},
      {"zeroize",
       "custos keys zeroize --store STORE [--state DIR] [--reason TEXT] [--json]",
       "Tamper response: destroys every key in the store in one call, appends a tamper event\n"
       "to DIR/tamper.log and writes DIR/needs-reenrollment. DIR defaults to the folder of a\n"
       "soft:DIR store and is required for pkcs11: and tpm: stores. Counters are kept.",
       {store,
        {"state", true, "the device's state folder for the record", "DIR"},
        {"reason", true, "reason recorded (default 'custos keys zeroize')", "TEXT"},
        json},
       Zeroize},
      {"init-token",
       "custos keys init-token --dir DIR [--label LABEL] [--module PATH] [--json]",
       "Creates a SoftHSM2 token under DIR with its own softhsm2.conf, tokens/ folder and\n"
       "random user and SO PINs in DIR/user.pin and DIR/so.pin (mode 0600), never in the\n"
       "system-wide token folder, and prints the pkcs11: URI to give as --store.\n"
       "--json: {\"uri\", \"dir\", \"label\"}.",
       {{"dir", true, "folder for the token (created if missing)", "DIR"},
        {"label", true, "token label (default custos)", "LABEL"},
        {"module", true, "SoftHSM2 module (default the Debian path)", "PATH"},
        json},
       InitToken},
  };
}

std::string KeysUsage(const std::vector<Subcommand>& subcommands) {
  std::string text = "usage: custos keys <subcommand> [options]\n\nsubcommands:\n";
  for (const Subcommand& s : subcommands) text += "  " + s.usage + "\n";
  text +=
      "\nSTORE is one of:\n"
      "  soft:DIR[?passphrase-source=file:PATH]  software store (NO hardware protection;\n"
      "                                          development and simulated devices only);\n"
      "                                          without a passphrase-source the passphrase\n"
      "                                          is DIR/store.key, created on first use\n"
      "  soft:mem                                software store in memory (gone on exit)\n"
      "  pkcs11:token=LABEL?module-path=PATH&pin-source=file:PATH   PKCS#11 token (RFC 7512)\n"
      "  tpm:TCTI                                TPM 2.0, e.g. tpm:swtpm:host=127.0.0.1,port=2321\n"
      "\nEach subcommand takes --help. Exit status: 0 ok, 1 failure (wrong PIN or passphrase,\n"
      "unknown label, signature does not verify, ...), 2 bad usage or input.\n";
  return text;
}

}  // namespace

int RunKeys(const std::vector<std::string>& args) {
  const std::vector<Subcommand> subcommands = Subcommands();
  return RunSubcommand("keys", KeysUsage(subcommands), subcommands, args);
}

}  // namespace custos::cli
