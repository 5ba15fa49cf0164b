#include "custos/store/sqlite_database.h"

#include <sqlite3.h>

#include <climits>
#include <ctime>
#include <utility>

namespace custos::store {
namespace {

// SQL in messages is cut to this many characters.
constexpr std::size_t kMaxSqlInMessage = 200;

std::string ShortSql(std::string_view sql) {
  std::string out(sql.substr(0, kMaxSqlInMessage));
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (sql.size() > kMaxSqlInMessage) out += "...";
  return out;
}

Status MakeError(int rc, const std::string& message) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
      return UnavailableError(message);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExistsError(message);
      }
      return FailedPreconditionError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDeniedError(message);
    case SQLITE_TOOBIG:
      return InvalidArgumentError(message);
    default:
      return InternalError(message);
  }
}

}  // namespace

// --- Statement ---------------------------------------------------------------

Statement::Statement(sqlite3_stmt* stmt, Database* db, bool* cache_in_use)
    : stmt_(stmt), db_(db), cache_in_use_(cache_in_use) {}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      cache_in_use_(std::exchange(other.cache_in_use_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Close();
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    cache_in_use_ = std::exchange(other.cache_in_use_, nullptr);
  }
  return *this;
}

Statement::~Statement() { Close(); }

void Statement::Close() {
  if (stmt_ == nullptr) return;
  if (cache_in_use_ != nullptr) {
    // Back to the cache: no open read snapshot, no stale bindings.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *cache_in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  cache_in_use_ = nullptr;
}

Status Statement::BindError(int index, int rc) {
  return db_->ErrorFor(rc,
                       std::string(sql()) + " (binding parameter " + std::to_string(index) + ")");
}

Status Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  return rc == SQLITE_OK ? OkStatus() : BindError(index, rc);
}

Status Statement::Bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  return rc == SQLITE_OK ? OkStatus() : BindError(index, rc);
}

Status Statement::Bind(int index, std::string_view text) {
  if (text.size() > INT_MAX) return InvalidArgumentError("text too long to store");
  const int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? OkStatus() : BindError(index, rc);
}

Status Statement::BindBlob(int index, std::span<const uint8_t> bytes) {
  if (bytes.size() > INT_MAX) return InvalidArgumentError("blob too long to store");
  // A zero-length blob, not NULL, for an empty span.
  static constexpr uint8_t kNothing = 0;
  const int rc = sqlite3_bind_blob(stmt_, index, bytes.empty() ? &kNothing : bytes.data(),
                                   static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? OkStatus() : BindError(index, rc);
}

Status Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  return rc == SQLITE_OK ? OkStatus() : BindError(index, rc);
}

Status Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Keep the extended error code and message before the reset clears them.
  Status error = db_->ErrorFor(rc, sql());
  sqlite3_reset(stmt_);
  return error;
}

Status Statement::Run() {
  CUSTOS_ASSIGN_OR_RETURN(bool row, Step());
  sqlite3_reset(stmt_);
  if (row) return InternalError("statement returned a row: " + ShortSql(sql()));
  return OkStatus();
}

void Statement::Reset() { sqlite3_reset(stmt_); }

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::vector<uint8_t> Statement::ColumnBlob(int index) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr) return {};
  return std::vector<uint8_t>(data, data + size);
}

bool Statement::IsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

std::string_view Statement::sql() const {
  const char* text = sqlite3_sql(stmt_);
  return text == nullptr ? std::string_view() : std::string_view(text);
}

// --- Database ----------------------------------------------------------------

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                   const DatabaseOptions& options) {
  if (path.empty()) return InvalidArgumentError("empty database path");
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; the Database owns it.
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) {
    const std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_CANTOPEN && !options.create) {
      return NotFoundError("cannot open database '" + path + "': " + why);
    }
    return MakeError(rc, "cannot open database '" + path + "': " + why);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  // Reading the journal mode is the first read of the file: a file that is
  // not a database fails here (DataLoss).
  {
    CUSTOS_ASSIGN_OR_RETURN(Statement wal, db->Prepare("PRAGMA journal_mode=WAL"));
    CUSTOS_ASSIGN_OR_RETURN(bool row, wal.Step());
    if (!row) return InternalError("PRAGMA journal_mode returned no row");
    db->journal_mode_ = wal.ColumnText(0);
  }
  if (db->journal_mode_ != "wal" && path != ":memory:") {
    return UnavailableError("database '" + path + "' cannot use WAL mode (journal mode is " +
                            db->journal_mode_ + ")");
  }
  CUSTOS_RETURN_IF_ERROR(db->Execute("PRAGMA foreign_keys=ON"));
  CUSTOS_RETURN_IF_ERROR(db->Execute(options.synchronous == Synchronous::kFull
                                         ? "PRAGMA synchronous=FULL"
                                         : "PRAGMA synchronous=NORMAL"));
  return db;
}

Database::~Database() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  cache_.clear();
  // Statements handed out and not yet destroyed would make close fail; v2
  // defers the close until they are finalized.
  sqlite3_close_v2(db_);
}

Status Database::ErrorFor(int rc, std::string_view sql) const {
  const char* message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  const int extended = db_ != nullptr ? sqlite3_extended_errcode(db_) : rc;
  // The connection's code is the precise one when it matches the failure.
  const int code = (extended & 0xff) == (rc & 0xff) ? extended : rc;
  return MakeError(code, "SQLite error in '" + ShortSql(sql) + "' on " + path_ + ": " + message +
                             " (code " + std::to_string(code) + ")");
}

Status Database::Execute(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return ErrorFor(rc, sql);
  return OkStatus();
}

StatusOr<Statement> Database::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Statement(it->second.stmt, this, &it->second.in_use);
  }
  if (sql.size() > INT_MAX) return InvalidArgumentError("SQL too long");
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return ErrorFor(rc, sql);
  }
  if (stmt == nullptr) return InternalError("no statement in '" + ShortSql(sql) + "'");
  if (it == cache_.end()) {
    auto [slot, inserted] = cache_.emplace(std::string(sql), CachedStatement{stmt, true});
    (void)inserted;
    return Statement(stmt, this, &slot->second.in_use);
  }
  return Statement(stmt, this, /*cache_in_use=*/nullptr);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

bool Database::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

// --- Transaction ---------------------------------------------------------------

StatusOr<Transaction> Transaction::Begin(Database& db, TransactionKind kind) {
  if (db.InTransaction()) {
    return FailedPreconditionError("a transaction is already open on " + db.path());
  }
  CUSTOS_RETURN_IF_ERROR(
      db.Execute(kind == TransactionKind::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() { Rollback(); }

Status Transaction::Commit() {
  if (db_ == nullptr) return FailedPreconditionError("transaction already finished");
  Status status = db_->Execute("COMMIT");
  if (!status.ok()) {
    Rollback();
    return status;
  }
  db_ = nullptr;
  return OkStatus();
}

void Transaction::Rollback() {
  if (db_ == nullptr) return;
  // A failed statement may already have rolled SQLite back.
  if (db_->InTransaction()) (void)db_->Execute("ROLLBACK");
  db_ = nullptr;
}

// --- Migrations ------------------------------------------------------------------

namespace {

constexpr std::string_view kSchemaTable =
    "CREATE TABLE IF NOT EXISTS custos_schema ("
    "  name TEXT PRIMARY KEY,"
    "  version INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ")";

}  // namespace

StatusOr<int> SchemaVersion(Database& db, std::string_view schema) {
  CUSTOS_ASSIGN_OR_RETURN(Statement exists,
                          db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                     "name = 'custos_schema'"));
  CUSTOS_ASSIGN_OR_RETURN(bool has_table, exists.Step());
  if (!has_table) return 0;
  CUSTOS_ASSIGN_OR_RETURN(Statement query,
                          db.Prepare("SELECT version FROM custos_schema WHERE name = ?"));
  CUSTOS_RETURN_IF_ERROR(query.Bind(1, schema));
  CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return 0;
  return static_cast<int>(query.ColumnInt(0));
}

Status ApplyMigrations(Database& db, std::string_view schema,
                       std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return InternalError("migrations of schema '" + std::string(schema) +
                           "' are not numbered 1..N (step " + std::to_string(i + 1) +
                           " has version " + std::to_string(migrations[i].version) + ")");
    }
  }
  const int latest = static_cast<int>(migrations.size());
  for (;;) {
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db));
    CUSTOS_RETURN_IF_ERROR(db.Execute(kSchemaTable));
    // Read inside the write transaction: another process may have migrated
    // since we looked.
    CUSTOS_ASSIGN_OR_RETURN(int version, SchemaVersion(db, schema));
    if (version > latest) {
      return FailedPreconditionError("database " + db.path() + " has schema '" +
                                     std::string(schema) + "' version " + std::to_string(version) +
                                     ", newer than this build knows (" + std::to_string(latest) +
                                     "); use a newer custos");
    }
    if (version == latest) return txn.Commit();
    const Migration& step = migrations[static_cast<std::size_t>(version)];
    Status applied = db.Execute(step.sql);
    if (!applied.ok()) {
      return Status(applied.code(), "migration " + std::string(schema) + " v" +
                                        std::to_string(step.version) + " (" +
                                        std::string(step.summary) +
                                        ") failed: " + std::string(applied.message()));
    }
    CUSTOS_ASSIGN_OR_RETURN(
        Statement record,
        db.Prepare("INSERT INTO custos_schema(name, version, updated_at) VALUES(?, ?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET version = excluded.version, "
                   "updated_at = excluded.updated_at"));
    CUSTOS_RETURN_IF_ERROR(
        record.BindAll(schema, step.version, static_cast<int64_t>(std::time(nullptr))));
    CUSTOS_RETURN_IF_ERROR(record.Run());
    CUSTOS_RETURN_IF_ERROR(txn.Commit());
  }
}

Status CheckIntegrity(Database& db) {
  CUSTOS_ASSIGN_OR_RETURN(Statement check, db.Prepare("PRAGMA integrity_check"));
  std::string findings;
  for (;;) {
    CUSTOS_ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row) break;
    const std::string line = check.ColumnText(0);
    if (line == "ok") continue;
    if (!findings.empty()) findings += "; ";
    findings += line;
  }
  if (findings.empty()) return OkStatus();
  return DataLossError("database " + db.path() + " fails its integrity check: " + findings);
}

}  // namespace custos::store
