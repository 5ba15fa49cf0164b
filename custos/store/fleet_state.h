// File: custos/store/fleet_state.h
//
// FleetState: the control plane's own view of its fleet, apart from the CA's
// registry — one row per device (status, current certificate serial, when
// it enrolled, when it was last seen, whether it is revoked), a telemetry
// summary per device (message count, last sequence number, first and last
// message time, the latest values as JSON text), and an append-only audit
// of operator actions. It answers what the HTTPS API needs: one device, a
// page of devices in id order (keyset paging, stable while devices are
// added), counts by status, one device's telemetry, the audit in order.
//
// Telemetry is recorded in batches: RecordActivity takes any number of
// observations (a device was seen, optionally with a telemetry message) and
// applies them in one transaction, so thousands of devices per second cost
// one commit, not thousands (bench/store_benchmark.cpp measures it).
//
// Times are unix milliseconds passed in by the caller (no clock inside).
// The interface is what a PostgreSQL backend would implement;
// OpenSqliteFleetState is the SQLite one (schema "fleet", docs/store.md).
//
// Thread safety: an instance is not thread-safe; several instances
// (connections) may share one database file.
#ifndef CUSTOS_STORE_FLEET_STATE_H_
#define CUSTOS_STORE_FLEET_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/store/sqlite_database.h"

namespace custos::store {

// Device statuses the control plane uses. Other values are allowed if they
// match [a-z][a-z0-9-]{0,31}.
inline constexpr std::string_view kDeviceEnrolled = "enrolled";
inline constexpr std::string_view kDeviceConnected = "connected";
inline constexpr std::string_view kDeviceDisconnected = "disconnected";
inline constexpr std::string_view kDeviceRevoked = "revoked";

// Largest JSON text kept as a device's latest telemetry values.
inline constexpr std::size_t kMaxTelemetryJsonBytes = 64 * 1024;
// Largest page ListDevices / ListAudit return.
inline constexpr int kMaxPageSize = 1000;

// One device as the control plane knows it.
struct DeviceRecord {
  std::string id;  // the device id of its certificate, 1 to 128 bytes
  std::string status{kDeviceEnrolled};
  std::string certificate_serial;  // current certificate, lower-case hex
  int64_t enrolled_at_ms = 0;      // first enrollment
  int64_t last_seen_ms = 0;        // 0: never seen
  bool revoked = false;
  int64_t revoked_at_ms = 0;
};

// The telemetry summary of one device.
struct TelemetrySummary {
  std::string device_id;
  int64_t message_count = 0;
  int64_t last_sequence = 0;  // sequence number of the latest message
  int64_t first_at_ms = 0;    // time of the first message
  int64_t last_at_ms = 0;     // time of the latest message
  std::string latest_json;    // values of the latest message, as JSON text
};

// One observation of a device: seen at `at_ms`, and, when `sequence` is
// set, a telemetry message with that sequence number and `values_json`.
struct DeviceActivity {
  std::string device_id;
  int64_t at_ms = 0;
  std::optional<int64_t> sequence;
  std::string values_json;
};

// What RecordActivity did.
struct ActivityResult {
  int64_t applied = 0;  // observations of known devices, recorded
  // Ids of unknown devices whose observations were skipped (each once).
  std::vector<std::string> unknown_devices;
};

// One enrollment for RecordEnrollments.
struct EnrollmentRecord {
  std::string device_id;
  std::string serial;  // the certificate issued, lower-case hex
  int64_t at_ms = 0;
  // The device's telemetry public key (DER SubjectPublicKeyInfo, at most
  // kMaxTelemetryKeyBytes); empty keeps the one recorded before, if any.
  std::vector<uint8_t> telemetry_key;
};

// Largest telemetry public key SetTelemetryKey keeps.
inline constexpr std::size_t kMaxTelemetryKeyBytes = 1024;

// One operator action in the audit.
struct AuditEntry {
  int64_t id = 0;  // assigned on append, increasing
  int64_t at_ms = 0;
  std::string actor;        // who: operator name, "system", ...
  std::string action;       // what: "device.revoke", "tokens.issue", ...
  std::string target;       // on what: a device id, a serial, ...
  std::string detail_json;  // more, as JSON text ("" for none)
};

// Which devices ListDevices returns.
struct DeviceQuery {
  // Only devices with an id greater than this (the previous page's
  // next_after); "" starts at the beginning.
  std::string after_id;
  int limit = 100;  // 1..kMaxPageSize
  // Only devices with this status, if set.
  std::optional<std::string> status;
};

// A page of devices in id order.
struct DevicePage {
  std::vector<DeviceRecord> devices;
  // The after_id of the next page, or "" when this is the last page.
  std::string next_after;
};

class FleetState {
 public:
  virtual ~FleetState() = default;

  // Records an enrollment (or re-enrollment) of `device_id` with the
  // certificate `serial` at `at_ms`: creates the device (status enrolled,
  // enrolled_at = at) or updates its serial and status, clearing a
  // revocation. InvalidArgument for a bad id or serial.
  virtual Status RecordEnrollment(std::string_view device_id, std::string_view serial,
                                  int64_t at_ms) = 0;
  // Records every enrollment of `batch` as RecordEnrollment does, with its
  // telemetry key, in one transaction (one commit for many enrollments:
  // group commit). All or nothing; InvalidArgument (nothing recorded) for a
  // bad id, serial or key.
  virtual Status RecordEnrollments(std::span<const EnrollmentRecord> batch) = 0;
  // Records a rotation: the device's current serial becomes `serial`.
  // NotFound for an unknown device; FailedPrecondition if it is revoked.
  virtual Status RecordRotation(std::string_view device_id, std::string_view serial) = 0;
  // Sets the status of a known device (NotFound otherwise). InvalidArgument
  // for a malformed status; FailedPrecondition to change a revoked device's
  // status (only RecordEnrollment brings it back).
  virtual Status SetStatus(std::string_view device_id, std::string_view status) = 0;
  // Marks a known device revoked at `at_ms` (status revoked). NotFound if
  // unknown; revoking twice keeps the first time.
  virtual Status MarkRevoked(std::string_view device_id, int64_t at_ms) = 0;

  // Sets the telemetry public key (DER SubjectPublicKeyInfo) of a known
  // device. NotFound for an unknown device; InvalidArgument for an empty or
  // oversized key.
  virtual Status SetTelemetryKey(std::string_view device_id, std::span<const uint8_t> spki) = 0;
  // The telemetry public key of a device, or nullopt if none was recorded
  // (or the device is unknown).
  virtual StatusOr<std::optional<std::vector<uint8_t>>> GetTelemetryKey(
      std::string_view device_id) = 0;

  // Records a batch of observations in one transaction: last_seen becomes
  // the latest time seen, and each telemetry message adds one to the count
  // and replaces the latest values and sequence number. Observations of
  // unknown devices are skipped and listed. InvalidArgument (nothing
  // recorded) if a values_json is larger than kMaxTelemetryJsonBytes.
  virtual StatusOr<ActivityResult> RecordActivity(std::span<const DeviceActivity> batch) = 0;

  // One device, or nullopt.
  virtual StatusOr<std::optional<DeviceRecord>> GetDevice(std::string_view device_id) = 0;
  // A page of devices (see DeviceQuery). InvalidArgument for a bad limit.
  virtual StatusOr<DevicePage> ListDevices(const DeviceQuery& query) = 0;
  // The number of devices with each status (statuses with none are absent).
  virtual StatusOr<std::map<std::string, int64_t>> CountByStatus() = 0;
  // The telemetry summary of a device, or nullopt if it sent none.
  virtual StatusOr<std::optional<TelemetrySummary>> GetTelemetry(std::string_view device_id) = 0;

  // Appends an audit entry (entry.id is ignored: the store assigns the
  // next id) and returns its id. InvalidArgument if actor or action is
  // empty or detail_json is larger than kMaxTelemetryJsonBytes.
  virtual StatusOr<int64_t> AppendAudit(const AuditEntry& entry) = 0;
  // Up to `limit` (1..kMaxPageSize) audit entries with id > after_id, oldest
  // first.
  virtual StatusOr<std::vector<AuditEntry>> ListAudit(int64_t after_id, int limit) = 0;
};

// The migrations of the "fleet" schema, oldest first.
std::span<const Migration> FleetMigrations();

// Opens (creating if needed) the database file `path` and the fleet state in
// it, applying any missing migrations. Errors of Database::Open and
// ApplyMigrations.
StatusOr<std::unique_ptr<FleetState>> OpenSqliteFleetState(const std::string& path,
                                                           const DatabaseOptions& options = {});

// The fleet state in an already open database (migrating it), sharing the
// connection with other users of `db` on the same thread.
StatusOr<std::unique_ptr<FleetState>> NewSqliteFleetState(std::shared_ptr<Database> db);

}  // namespace custos::store

#endif  // CUSTOS_STORE_FLEET_STATE_H_
