#include "custos/store/fleet_state.h"

#include <set>
#include <utility>

namespace custos::store {
namespace {

constexpr std::size_t kMaxDeviceIdBytes = 128;
constexpr std::size_t kMaxSerialChars = 64;
constexpr std::size_t kMaxAuditFieldBytes = 256;

constexpr Migration kFleetMigrations[] = {
    {1, "devices, telemetry summaries, audit of operator actions",
     R"sql(
CREATE TABLE fleet_devices (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  certificate_serial TEXT NOT NULL,
  enrolled_at_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  revoked_at_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX fleet_devices_by_status ON fleet_devices(status, id);

CREATE TABLE fleet_telemetry (
  device_id TEXT PRIMARY KEY REFERENCES fleet_devices(id) ON DELETE CASCADE,
  message_count INTEGER NOT NULL,
  last_sequence INTEGER NOT NULL,
  first_at_ms INTEGER NOT NULL,
  last_at_ms INTEGER NOT NULL,
  latest_json TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE fleet_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail_json TEXT NOT NULL
);
)sql"},
    {2, "telemetry public keys of devices",
     R"sql(
CREATE TABLE fleet_telemetry_keys (
  device_id TEXT PRIMARY KEY REFERENCES fleet_devices(id) ON DELETE CASCADE,
  spki BLOB NOT NULL
) WITHOUT ROWID;
)sql"},
};

constexpr char kDeviceColumns[] =
    "id, status, certificate_serial, enrolled_at_ms, last_seen_ms, revoked, revoked_at_ms";

Status CheckDeviceId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDeviceIdBytes) {
    return InvalidArgumentError("device id must be 1 to " + std::to_string(kMaxDeviceIdBytes) +
                                " bytes, got " + std::to_string(id.size()));
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgumentError("device id contains a control character");
    }
  }
  return OkStatus();
}

Status CheckSerial(std::string_view serial) {
  bool ok = !serial.empty() && serial.size() <= kMaxSerialChars;
  for (char c : serial) ok &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  if (!ok) {
    return InvalidArgumentError("certificate serial '" + std::string(serial.substr(0, 80)) +
                                "' is not 1 to 64 lower-case hex digits");
  }
  return OkStatus();
}

Status CheckStatusName(std::string_view status) {
  bool ok =
      !status.empty() && status.size() <= 32 && status.front() >= 'a' && status.front() <= 'z';
  for (char c : status) ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  if (!ok) {
    return InvalidArgumentError("device status '" + std::string(status.substr(0, 40)) +
                                "' does not match [a-z][a-z0-9-]{0,31}");
  }
  return OkStatus();
}

Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxPageSize) {
    return InvalidArgumentError("page size " + std::to_string(limit) + " is not in 1.." +
                                std::to_string(kMaxPageSize));
  }
  return OkStatus();
}

DeviceRecord DeviceFromRow(const Statement& row) {
  DeviceRecord d;
  d.id = row.ColumnText(0);
  d.status = row.ColumnText(1);
  d.certificate_serial = row.ColumnText(2);
  d.enrolled_at_ms = row.ColumnInt(3);
  d.last_seen_ms = row.ColumnInt(4);
  d.revoked = row.ColumnInt(5) != 0;
  d.revoked_at_ms = row.ColumnInt(6);
  return d;
}

class SqliteFleetState final : public FleetState {
 public:
  explicit SqliteFleetState(std::shared_ptr<Database> db) : db_(std::move(db)) {}

  Status RecordEnrollment(std::string_view device_id, std::string_view serial,
                          int64_t at_ms) override {
    CUSTOS_RETURN_IF_ERROR(CheckDeviceId(device_id));
    CUSTOS_RETURN_IF_ERROR(CheckSerial(serial));
    CUSTOS_ASSIGN_OR_RETURN(
        Statement upsert,
        db_->Prepare("INSERT INTO fleet_devices(id, status, certificate_serial, enrolled_at_ms) "
                     "VALUES(?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                     "status = excluded.status, certificate_serial = excluded.certificate_serial, "
                     "revoked = 0, revoked_at_ms = 0"));
    CUSTOS_RETURN_IF_ERROR(upsert.BindAll(device_id, kDeviceEnrolled, serial, at_ms));
    return upsert.Run();
  }

  Status RecordEnrollments(std::span<const EnrollmentRecord> batch) override {
    for (const EnrollmentRecord& r : batch) {
      CUSTOS_RETURN_IF_ERROR(CheckDeviceId(r.device_id));
      CUSTOS_RETURN_IF_ERROR(CheckSerial(r.serial));
      if (r.telemetry_key.size() > kMaxTelemetryKeyBytes) return KeyTooLarge();
    }
    if (batch.empty()) return OkStatus();
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
    for (const EnrollmentRecord& r : batch) {
      CUSTOS_RETURN_IF_ERROR(RecordEnrollment(r.device_id, r.serial, r.at_ms));
      if (!r.telemetry_key.empty()) {
        CUSTOS_RETURN_IF_ERROR(WriteTelemetryKey(r.device_id, r.telemetry_key));
      }
    }
    return txn.Commit();
  }

  Status SetTelemetryKey(std::string_view device_id, std::span<const uint8_t> spki) override {
    CUSTOS_RETURN_IF_ERROR(CheckDeviceId(device_id));
    if (spki.empty()) return InvalidArgumentError("empty telemetry key");
    if (spki.size() > kMaxTelemetryKeyBytes) return KeyTooLarge();
    CUSTOS_ASSIGN_OR_RETURN(std::optional<DeviceRecord> device, GetDevice(device_id));
    if (!device) return UnknownDevice(device_id);
    return WriteTelemetryKey(device_id, spki);
  }

  StatusOr<std::optional<std::vector<uint8_t>>> GetTelemetryKey(
      std::string_view device_id) override {
    CUSTOS_ASSIGN_OR_RETURN(
        Statement query, db_->Prepare("SELECT spki FROM fleet_telemetry_keys WHERE device_id = ?"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, device_id));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<std::vector<uint8_t>>();
    return std::optional<std::vector<uint8_t>>(query.ColumnBlob(0));
  }

  Status RecordRotation(std::string_view device_id, std::string_view serial) override {
    CUSTOS_RETURN_IF_ERROR(CheckDeviceId(device_id));
    CUSTOS_RETURN_IF_ERROR(CheckSerial(serial));
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
    CUSTOS_RETURN_IF_ERROR(RequireUnrevoked(device_id));
    {
      CUSTOS_ASSIGN_OR_RETURN(
          Statement update,
          db_->Prepare("UPDATE fleet_devices SET certificate_serial = ? WHERE id = ?"));
      CUSTOS_RETURN_IF_ERROR(update.BindAll(serial, device_id));
      CUSTOS_RETURN_IF_ERROR(update.Run());
    }
    return txn.Commit();
  }

  Status SetStatus(std::string_view device_id, std::string_view status) override {
    CUSTOS_RETURN_IF_ERROR(CheckDeviceId(device_id));
    CUSTOS_RETURN_IF_ERROR(CheckStatusName(status));
    if (status == kDeviceRevoked) {
      return InvalidArgumentError("a device is revoked with MarkRevoked, not by its status");
    }
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
    CUSTOS_RETURN_IF_ERROR(RequireUnrevoked(device_id));
    {
      CUSTOS_ASSIGN_OR_RETURN(Statement update,
                              db_->Prepare("UPDATE fleet_devices SET status = ? WHERE id = ?"));
      CUSTOS_RETURN_IF_ERROR(update.BindAll(status, device_id));
      CUSTOS_RETURN_IF_ERROR(update.Run());
    }
    return txn.Commit();
  }

  Status MarkRevoked(std::string_view device_id, int64_t at_ms) override {
    CUSTOS_RETURN_IF_ERROR(CheckDeviceId(device_id));
    CUSTOS_ASSIGN_OR_RETURN(
        Statement update,
        db_->Prepare("UPDATE fleet_devices SET status = ?, revoked_at_ms = "
                     "CASE WHEN revoked = 1 THEN revoked_at_ms ELSE ? END, revoked = 1 "
                     "WHERE id = ?"));
    CUSTOS_RETURN_IF_ERROR(update.BindAll(kDeviceRevoked, at_ms, device_id));
    CUSTOS_RETURN_IF_ERROR(update.Run());
    if (db_->Changes() == 0) return UnknownDevice(device_id);
    return OkStatus();
  }

  StatusOr<ActivityResult> RecordActivity(std::span<const DeviceActivity> batch) override {
    for (const DeviceActivity& a : batch) {
      if (a.values_json.size() > kMaxTelemetryJsonBytes) {
        return InvalidArgumentError("telemetry values of device '" + a.device_id + "' are " +
                                    std::to_string(a.values_json.size()) + " bytes, above " +
                                    std::to_string(kMaxTelemetryJsonBytes));
      }
    }
    ActivityResult result;
    if (batch.empty()) return result;
    std::set<std::string_view> unknown;
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
    CUSTOS_ASSIGN_OR_RETURN(
        Statement seen,
        db_->Prepare("UPDATE fleet_devices SET last_seen_ms = max(last_seen_ms, ?) WHERE id = ?"));
    CUSTOS_ASSIGN_OR_RETURN(
        Statement telemetry,
        db_->Prepare(
            "INSERT INTO fleet_telemetry(device_id, message_count, last_sequence, first_at_ms, "
            "last_at_ms, latest_json) VALUES(?, 1, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE "
            "SET message_count = message_count + 1, "
            "last_sequence = CASE WHEN excluded.last_at_ms >= last_at_ms "
            "  THEN excluded.last_sequence ELSE last_sequence END, "
            "latest_json = CASE WHEN excluded.last_at_ms >= last_at_ms "
            "  THEN excluded.latest_json ELSE latest_json END, "
            "first_at_ms = min(first_at_ms, excluded.first_at_ms), "
            "last_at_ms = max(last_at_ms, excluded.last_at_ms)"));
    for (const DeviceActivity& a : batch) {
      CUSTOS_RETURN_IF_ERROR(seen.BindAll(a.at_ms, a.device_id));
      CUSTOS_RETURN_IF_ERROR(seen.Run());
      if (db_->Changes() == 0) {
        unknown.insert(a.device_id);
        continue;
      }
      ++result.applied;
      if (!a.sequence) continue;
      CUSTOS_RETURN_IF_ERROR(
          telemetry.BindAll(a.device_id, *a.sequence, a.at_ms, a.at_ms, a.values_json));
      CUSTOS_RETURN_IF_ERROR(telemetry.Run());
    }
    CUSTOS_RETURN_IF_ERROR(txn.Commit());
    result.unknown_devices.assign(unknown.begin(), unknown.end());
    return result;
  }

  StatusOr<std::optional<DeviceRecord>> GetDevice(std::string_view device_id) override {
    CUSTOS_ASSIGN_OR_RETURN(Statement query, db_->Prepare(std::string("SELECT ") + kDeviceColumns +
                                                          " FROM fleet_devices WHERE id = ?"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, device_id));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<DeviceRecord>();
    return std::optional<DeviceRecord>(DeviceFromRow(query));
  }

  StatusOr<DevicePage> ListDevices(const DeviceQuery& q) override {
    CUSTOS_RETURN_IF_ERROR(CheckLimit(q.limit));
    if (q.status) CUSTOS_RETURN_IF_ERROR(CheckStatusName(*q.status));
    // One row more than asked tells whether another page follows.
    const int64_t fetch = static_cast<int64_t>(q.limit) + 1;
    StatusOr<Statement> query =
        q.status ? db_->Prepare(std::string("SELECT ") + kDeviceColumns +
                                " FROM fleet_devices WHERE status = ? AND id > ? "
                                "ORDER BY id LIMIT ?")
                 : db_->Prepare(std::string("SELECT ") + kDeviceColumns +
                                " FROM fleet_devices WHERE id > ? ORDER BY id LIMIT ?");
    if (!query.ok()) return query.status();
    if (q.status) {
      CUSTOS_RETURN_IF_ERROR(query->BindAll(*q.status, q.after_id, fetch));
    } else {
      CUSTOS_RETURN_IF_ERROR(query->BindAll(q.after_id, fetch));
    }
    DevicePage page;
    for (;;) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, query->Step());
      if (!row) break;
      if (static_cast<int>(page.devices.size()) == q.limit) {
        page.next_after = page.devices.back().id;
        break;
      }
      page.devices.push_back(DeviceFromRow(*query));
    }
    return page;
  }

  StatusOr<std::map<std::string, int64_t>> CountByStatus() override {
    CUSTOS_ASSIGN_OR_RETURN(
        Statement query,
        db_->Prepare("SELECT status, count(*) FROM fleet_devices GROUP BY status"));
    std::map<std::string, int64_t> counts;
    for (;;) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      counts[query.ColumnText(0)] = query.ColumnInt(1);
    }
    return counts;
  }

  StatusOr<std::optional<TelemetrySummary>> GetTelemetry(std::string_view device_id) override {
    CUSTOS_ASSIGN_OR_RETURN(
        Statement query,
        db_->Prepare("SELECT device_id, message_count, last_sequence, first_at_ms, last_at_ms, "
                     "latest_json FROM fleet_telemetry WHERE device_id = ?"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, device_id));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<TelemetrySummary>();
    TelemetrySummary t;
    t.device_id = query.ColumnText(0);
    t.message_count = query.ColumnInt(1);
    t.last_sequence = query.ColumnInt(2);
    t.first_at_ms = query.ColumnInt(3);
    t.last_at_ms = query.ColumnInt(4);
    t.latest_json = query.ColumnText(5);
    return std::optional<TelemetrySummary>(std::move(t));
  }

  StatusOr<int64_t> AppendAudit(const AuditEntry& e) override {
    if (e.actor.empty() || e.action.empty()) {
      return InvalidArgumentError("an audit entry needs an actor and an action");
    }
    if (e.actor.size() > kMaxAuditFieldBytes || e.action.size() > kMaxAuditFieldBytes ||
        e.target.size() > kMaxAuditFieldBytes) {
      return InvalidArgumentError("audit actor, action and target are limited to " +
                                  std::to_string(kMaxAuditFieldBytes) + " bytes");
    }
    if (e.detail_json.size() > kMaxTelemetryJsonBytes) {
      return InvalidArgumentError("audit detail is larger than " +
                                  std::to_string(kMaxTelemetryJsonBytes) + " bytes");
    }
    CUSTOS_ASSIGN_OR_RETURN(
        Statement insert,
        db_->Prepare("INSERT INTO fleet_audit(at_ms, actor, action, target, detail_json) "
                     "VALUES(?, ?, ?, ?, ?)"));
    CUSTOS_RETURN_IF_ERROR(insert.BindAll(e.at_ms, e.actor, e.action, e.target, e.detail_json));
    CUSTOS_RETURN_IF_ERROR(insert.Run());
    return db_->LastInsertRowId();
  }

  StatusOr<std::vector<AuditEntry>> ListAudit(int64_t after_id, int limit) override {
    CUSTOS_RETURN_IF_ERROR(CheckLimit(limit));
    CUSTOS_ASSIGN_OR_RETURN(
        Statement query,
        db_->Prepare("SELECT id, at_ms, actor, action, target, detail_json FROM fleet_audit "
                     "WHERE id > ? ORDER BY id LIMIT ?"));
    CUSTOS_RETURN_IF_ERROR(query.BindAll(after_id, limit));
    std::vector<AuditEntry> out;
    for (;;) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      out.push_back(AuditEntry{query.ColumnInt(0), query.ColumnInt(1), query.ColumnText(2),
                               query.ColumnText(3), query.ColumnText(4), query.ColumnText(5)});
    }
    return out;
  }

 private:
  static Status KeyTooLarge() {
    return InvalidArgumentError("telemetry key larger than " +
                                std::to_string(kMaxTelemetryKeyBytes) + " bytes");
  }

  Status WriteTelemetryKey(std::string_view device_id, std::span<const uint8_t> spki) {
    CUSTOS_ASSIGN_OR_RETURN(
        Statement upsert,
        db_->Prepare("INSERT INTO fleet_telemetry_keys(device_id, spki) VALUES(?, ?) "
                     "ON CONFLICT(device_id) DO UPDATE SET spki = excluded.spki"));
    CUSTOS_RETURN_IF_ERROR(upsert.Bind(1, device_id));
    CUSTOS_RETURN_IF_ERROR(upsert.BindBlob(2, spki));
    return upsert.Run();
  }

  static Status UnknownDevice(std::string_view device_id) {
    return NotFoundError("no device '" + std::string(device_id) + "' in the fleet state");
  }

  // NotFound unless the device exists; FailedPrecondition if it is revoked.
  Status RequireUnrevoked(std::string_view device_id) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<DeviceRecord> device, GetDevice(device_id));
    if (!device) return UnknownDevice(device_id);
    if (device->revoked) {
      return FailedPreconditionError("device '" + std::string(device_id) +
                                     "' is revoked; it must enroll again");
    }
    return OkStatus();
  }

  std::shared_ptr<Database> db_;
};

}  // namespace

std::span<const Migration> FleetMigrations() { return kFleetMigrations; }

StatusOr<std::unique_ptr<FleetState>> NewSqliteFleetState(std::shared_ptr<Database> db) {
  if (db == nullptr) return InvalidArgumentError("no database for the fleet state");
  CUSTOS_RETURN_IF_ERROR(ApplyMigrations(*db, "fleet", FleetMigrations()));
  return std::unique_ptr<FleetState>(std::make_unique<SqliteFleetState>(std::move(db)));
}

StatusOr<std::unique_ptr<FleetState>> OpenSqliteFleetState(const std::string& path,
                                                           const DatabaseOptions& options) {
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, options));
  return NewSqliteFleetState(std::shared_ptr<Database>(std::move(db)));
}

}  // namespace custos::store
