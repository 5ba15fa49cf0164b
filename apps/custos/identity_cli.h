// File: apps/custos/identity_cli.h
//
// What `custos ca`, `custos device` and `custos manufacture` share: the
// subcommand table and dispatch, error exits, opening a CA folder (its
// registry and its key store) and small file helpers. Private to the
// binary.
#ifndef CUSTOS_APPS_CUSTOS_IDENTITY_CLI_H_
#define CUSTOS_APPS_CUSTOS_IDENTITY_CLI_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/custos/subcommand.h"
#include "custos/core/status.h"
#include "custos/identity/fleet_ca.h"
#include "custos/keystore/key_store.h"

namespace custos::cli {

// Runs the subcommand args[0] of `group` ("ca", "device") with the rest of
// `args`; prints help for --help and the group usage for no/unknown words.
int DispatchIdentity(std::string_view group, std::string_view summary,
                     const std::vector<Subcommand>& subcommands,
                     const std::vector<std::string>& args);

// The current time in unix seconds (the one wall-clock read of these
// commands).
int64_t NowSeconds();

// `unix_seconds` as UTC ISO 8601, e.g. "2026-11-25T12:00:00Z".
std::string FormatTime(int64_t unix_seconds);

// --key-type (ecdsa-p256 or ed25519), or `fallback` when absent.
StatusOr<keystore::KeyType> IdentityKeyType(const CommandContext& ctx, keystore::KeyType fallback);

// Opens the CA in folder `data_dir`: its file registry, then the key store
// its ca.json names (OpenKeyStore), then the CA.
StatusOr<std::unique_ptr<identity::FleetCa>> OpenCaFolder(const std::string& data_dir);

// Writes the trust files of a CA folder: DIR/roots.pem (every root) and
// DIR/chain.pem (issuing certificate and cross-certificates).
Status WriteCaTrustFiles(const std::string& data_dir, const identity::FleetCa& ca);

// Reads a text file of at most `max_bytes`.
StatusOr<std::string> ReadTextFile(const std::string& path, std::size_t max_bytes);

// Writes `text` to `path` atomically with `mode`, or to standard output when
// `path` is empty or "-".
Status WriteOutput(const std::string& path, std::string_view text, unsigned mode = 0644);

}  // namespace custos::cli

#endif  // CUSTOS_APPS_CUSTOS_IDENTITY_CLI_H_
