// File: custos/store/sqlite_device_registry.h
//
// The fleet CA's DeviceRegistry (custos/identity/device_registry.h) in a
// SQLite database: tokens, issued certificates with their revocations, the
// CRL number and the CA's documents are rows of the "registry" schema
// (docs/store.md). The semantics are those of the file registry:
// Apply validates the whole update against the current state, in the order
// and with the errors device_registry.h lists, and applies all of it or
// none of it in one BEGIN IMMEDIATE transaction, so a token is consumed in
// the same commit that records the certificate it paid for. With the
// default Synchronous::kFull an Apply that returned OK survives a crash,
// kill -9 or power cut. Documents are rows replaced in one transaction.
//
// Thread safety: an instance is not thread-safe. Several instances
// (connections), in one process or several, may share one database file;
// writers serialise on SQLite's write lock (waiting up to the busy timeout).
#ifndef CUSTOS_STORE_SQLITE_DEVICE_REGISTRY_H_
#define CUSTOS_STORE_SQLITE_DEVICE_REGISTRY_H_

#include <memory>
#include <span>
#include <string>

#include "custos/core/status.h"
#include "custos/identity/device_registry.h"
#include "custos/store/sqlite_database.h"

namespace custos::store {

// The migrations of the "registry" schema, oldest first.
std::span<const Migration> RegistryMigrations();

// Opens (creating if needed, per `options`) the database file `path` and
// the registry in it, applying any missing migrations. Errors of
// Database::Open and ApplyMigrations (FailedPrecondition for a schema newer
// than this build).
StatusOr<std::unique_ptr<identity::DeviceRegistry>> OpenSqliteDeviceRegistry(
    const std::string& path, const DatabaseOptions& options = {});

// The registry in an already open database (migrating it), sharing the
// connection with other users of `db` on the same thread.
StatusOr<std::unique_ptr<identity::DeviceRegistry>> NewSqliteDeviceRegistry(
    std::shared_ptr<Database> db);

}  // namespace custos::store

#endif  // CUSTOS_STORE_SQLITE_DEVICE_REGISTRY_H_
