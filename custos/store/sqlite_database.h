// File: custos/store/sqlite_database.h
//
// A small RAII layer over SQLite (Debian's libsqlite3): one connection
// (`Database`), prepared statements with typed binding (`Statement`; values
// are always bound, never spliced into SQL text), explicit transactions
// (`Transaction`; rolled back unless committed, writers take the write lock
// up front with BEGIN IMMEDIATE) and versioned schema migrations
// (`ApplyMigrations`).
//
// A database file is opened in WAL mode (readers do not block the writer and
// the writer does not block readers), with foreign keys enforced, a busy
// timeout (another connection holding the write lock makes a writer wait,
// not fail) and, by default, synchronous=FULL: a transaction whose Commit()
// returned is on stable storage, so a crash, a kill -9 or a power cut loses
// no acknowledged change (docs/store.md has the measurements behind the
// choice).
//
// Errors name the SQL and SQLite's own message. Codes: busy/locked and I/O
// failures -> Unavailable; a UNIQUE or PRIMARY KEY violation -> AlreadyExists;
// another constraint -> FailedPrecondition; a corrupt file or one that is not
// a database -> DataLoss; a schema newer than the code -> FailedPrecondition;
// misuse (bad SQL, wrong column) -> Internal.
//
// Thread safety: a Database and its statements belong to one thread at a
// time (the connection is opened without SQLite's mutexes). Several
// connections, in one process or several, may share one file.
#ifndef CUSTOS_STORE_SQLITE_DATABASE_H_
#define CUSTOS_STORE_SQLITE_DATABASE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace custos::store {

// How hard SQLite works to make a commit durable (PRAGMA synchronous).
enum class Synchronous {
  // fsync of the WAL at every commit: a committed transaction survives a
  // power cut. The default.
  kFull,
  // fsync only at checkpoints: a committed transaction survives a crash or
  // kill -9 of the process, but the last commits may be lost on a power cut.
  kNormal,
};

// How to open a database.
struct DatabaseOptions {
  // Create the file if it does not exist (otherwise NotFound).
  bool create = true;
  Synchronous synchronous = Synchronous::kFull;
  // How long a writer waits for another connection's write lock before
  // Unavailable.
  int busy_timeout_ms = 5000;
};

class Database;

// A prepared statement. Parameters are numbered from 1 (SQLite's "?"),
// columns from 0. Obtained from Database::Prepare; a statement from the
// database's cache is reset (bindings cleared) when this handle is
// destroyed, an uncached one is finalized. Must not outlive its Database.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds a value to parameter `index` (1-based). Internal if the index is
  // out of range. Text and blobs are copied by SQLite.
  Status Bind(int index, int64_t value);
  Status Bind(int index, double value);
  Status Bind(int index, std::string_view text);
  Status BindBlob(int index, std::span<const uint8_t> bytes);
  Status BindNull(int index);
  // Binds `value`, or NULL when nullopt.
  Status Bind(int index, const std::optional<int64_t>& value);

  // Binds every argument in order to parameters 1, 2, ...; each argument is
  // anything one of the Bind overloads above takes (int64_t, int, bool,
  // double, std::string_view, std::string, const char*, optional<int64_t>).
  template <typename... Args>
  Status BindAll(const Args&... args) {
    int index = 0;
    Status status;
    ((status.ok() ? (void)(status = BindOne(++index, args)) : (void)0), ...);
    return status;
  }

  // Runs the statement one step: true if a row is available (read it with
  // the Column* accessors), false when done. An error names the SQL.
  StatusOr<bool> Step();
  // Runs the statement to completion (for INSERT/UPDATE/DELETE/DDL).
  // Internal if it returns a row.
  Status Run();
  // Resets the statement so it can run again; bindings stay.
  void Reset();

  // The value of column `index` of the current row. SQLite converts types as
  // documented (NULL reads as 0 / ""); use IsNull to tell NULL apart.
  int64_t ColumnInt(int index) const;
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  std::vector<uint8_t> ColumnBlob(int index) const;
  bool IsNull(int index) const;
  // The SQL text of the statement (for messages).
  std::string_view sql() const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Database* db, bool* cache_in_use);
  void Close();

  Status BindOne(int index, int64_t value) { return Bind(index, value); }
  Status BindOne(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Status BindOne(int index, bool value) { return Bind(index, static_cast<int64_t>(value)); }
  Status BindOne(int index, uint32_t value) { return Bind(index, static_cast<int64_t>(value)); }
  Status BindOne(int index, double value) { return Bind(index, value); }
  Status BindOne(int index, std::string_view value) { return Bind(index, value); }
  Status BindOne(int index, const std::string& value) {
    return Bind(index, std::string_view(value));
  }
  Status BindOne(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Status BindOne(int index, const std::optional<int64_t>& value) { return Bind(index, value); }
  Status BindError(int index, int rc);

  sqlite3_stmt* stmt_ = nullptr;
  Database* db_ = nullptr;
  // The in-use flag of the database's cache entry, or null if not cached.
  bool* cache_in_use_ = nullptr;
};

// One connection to a SQLite database file.
class Database {
 public:
  // Opens (creating it if `options.create`) the database at `path` and sets
  // WAL mode, foreign keys, the busy timeout and the synchronous level.
  // ":memory:" opens a private in-memory database (no WAL, nothing durable;
  // for tests). NotFound if the file is missing and !create; Unavailable if
  // it cannot be opened; DataLoss if it is not a SQLite database.
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                  const DatabaseOptions& options = {});

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs `sql`, one or more statements without parameters and without
  // results (schema changes, PRAGMAs, BEGIN/COMMIT). Never pass values in
  // `sql`; use Prepare and Bind.
  Status Execute(std::string_view sql);

  // Prepares `sql` (one statement). Statements are cached by their text, so
  // preparing the same SQL again is cheap; if the cached one is still in use
  // (a nested query), a fresh one is prepared. Internal if `sql` is invalid.
  StatusOr<Statement> Prepare(std::string_view sql);

  // The rowid of the last successful INSERT on this connection.
  int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;
  // True inside an explicit transaction.
  bool InTransaction() const;

  // The file path given to Open.
  const std::string& path() const { return path_; }
  // The journal mode in effect ("wal", or "memory" for ":memory:").
  const std::string& journal_mode() const { return journal_mode_; }
  // The raw connection, for what this layer does not wrap.
  sqlite3* native() { return db_; }

  // An error Status for SQLite result `rc` while running `sql`, with the
  // connection's message (used by Statement and Transaction).
  Status ErrorFor(int rc, std::string_view sql) const;

 private:
  friend class Statement;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_;
  std::string path_;
  std::string journal_mode_;
  std::map<std::string, CachedStatement, std::less<>> cache_;
};

// How a transaction takes its locks.
enum class TransactionKind {
  // BEGIN IMMEDIATE: takes the write lock at once (waiting up to the busy
  // timeout), so a read-then-write transaction never fails half-way with
  // SQLITE_BUSY. For every transaction that writes.
  kImmediate,
  // BEGIN DEFERRED: a consistent snapshot for several reads.
  kRead,
};

// An explicit transaction: rolled back on destruction unless Commit()
// succeeded. Must not outlive its Database; transactions do not nest.
class Transaction {
 public:
  // Begins a transaction on `db`. Unavailable if the write lock stays busy
  // beyond the busy timeout; FailedPrecondition if one is already open.
  static StatusOr<Transaction> Begin(Database& db,
                                     TransactionKind kind = TransactionKind::kImmediate);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commits. With Synchronous::kFull the changes are on stable storage when
  // this returns OK. On error the transaction is rolled back.
  Status Commit();
  // Rolls back now (also what the destructor does when not committed).
  void Rollback();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

// One step of a schema: applied once, in order, in its own transaction.
struct Migration {
  int version;               // 1, 2, 3, ... without gaps
  std::string_view summary;  // what the step does, for messages and docs
  std::string_view sql;      // DDL/DML without parameters
};

// Brings the schema `schema` (a name such as "registry"; several schemas may
// share one database) up to the last version in `migrations`. The version
// of each schema is kept in the table custos_schema(name, version,
// updated_at); each missing step runs in one BEGIN IMMEDIATE transaction
// that also records its version, so a crash leaves the schema at a whole
// step and concurrent openers apply each step once. FailedPrecondition if
// the database holds a newer version than `migrations` knows (a newer
// build wrote it); Internal if `migrations` is not numbered 1..N.
Status ApplyMigrations(Database& db, std::string_view schema,
                       std::span<const Migration> migrations);

// The version of `schema` recorded in `db`; 0 if none.
StatusOr<int> SchemaVersion(Database& db, std::string_view schema);

// Runs PRAGMA integrity_check: OK, or DataLoss with SQLite's findings.
Status CheckIntegrity(Database& db);

}  // namespace custos::store

#endif  // CUSTOS_STORE_SQLITE_DATABASE_H_
