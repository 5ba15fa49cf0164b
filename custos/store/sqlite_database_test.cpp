// Tests of the SQLite layer: open settings, typed binding, errors, RAII
// transactions, the statement cache and schema migrations.
#include "custos/store/sqlite_database.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "custos/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::store {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

std::unique_ptr<Database> OpenOrDie(const std::string& path, const DatabaseOptions& options = {}) {
  auto db = Database::Open(path, options);
  EXPECT_THAT(db, IsOk());
  return db.ok() ? *std::move(db) : nullptr;
}

StatusOr<std::string> PragmaText(Database& db, const std::string& pragma) {
  CUSTOS_ASSIGN_OR_RETURN(Statement query, db.Prepare("PRAGMA " + pragma));
  CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return NotFoundError("no row");
  return query.ColumnText(0);
}

TEST(DatabaseTest, OpensInWalModeWithForeignKeysAndFullSync) {
  TempDir dir;
  auto db = OpenOrDie(dir.path() + "/a.db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->journal_mode(), "wal");
  EXPECT_THAT(PragmaText(*db, "journal_mode"), IsOkAndHolds("wal"));
  EXPECT_THAT(PragmaText(*db, "foreign_keys"), IsOkAndHolds("1"));
  EXPECT_THAT(PragmaText(*db, "synchronous"), IsOkAndHolds("2"));  // FULL
  EXPECT_THAT(PragmaText(*db, "busy_timeout"), IsOkAndHolds("5000"));

  DatabaseOptions normal;
  normal.synchronous = Synchronous::kNormal;
  auto relaxed = OpenOrDie(dir.path() + "/b.db", normal);
  ASSERT_NE(relaxed, nullptr);
  EXPECT_THAT(PragmaText(*relaxed, "synchronous"), IsOkAndHolds("1"));  // NORMAL
}

TEST(DatabaseTest, MissingFileWithoutCreateIsNotFound) {
  TempDir dir;
  DatabaseOptions options;
  options.create = false;
  EXPECT_THAT(Database::Open(dir.path() + "/none.db", options),
              StatusIs(StatusCode::kNotFound, HasSubstr("none.db")));
  EXPECT_THAT(Database::Open(dir.path() + "/no/such/folder/x.db"),
              StatusIs(StatusCode::kUnavailable, HasSubstr("cannot open database")));
}

TEST(DatabaseTest, AFileThatIsNotADatabaseIsDataLoss) {
  TempDir dir;
  const std::string path = dir.path() + "/junk.db";
  {
    std::ofstream out(path);
    out << std::string(4096, 'x');
  }
  EXPECT_THAT(Database::Open(path), StatusIs(StatusCode::kDataLoss, HasSubstr("junk.db")));
}

TEST(DatabaseTest, BindsAndReadsTypedValues) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Execute("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n INTEGER)"), IsOk());
  {
    auto insert = db->Prepare("INSERT INTO t VALUES(?, ?, ?, ?, ?)");
    ASSERT_THAT(insert, IsOk());
    // A value that would break string-built SQL is stored verbatim.
    const std::string tricky = "it's'); DROP TABLE t; --";
    const std::vector<uint8_t> bytes = {0, 1, 2, 255};
    ASSERT_THAT(insert->BindAll(int64_t{-9000000000}, 2.5, tricky), IsOk());
    ASSERT_THAT(insert->BindBlob(4, bytes), IsOk());
    ASSERT_THAT(insert->Bind(5, std::optional<int64_t>()), IsOk());
    ASSERT_THAT(insert->Run(), IsOk());
    EXPECT_EQ(db->Changes(), 1);
    EXPECT_EQ(db->LastInsertRowId(), 1);
  }
  auto query = db->Prepare("SELECT i, d, s, b, n FROM t");
  ASSERT_THAT(query, IsOk());
  ASSERT_THAT(query->Step(), IsOkAndHolds(true));
  EXPECT_EQ(query->ColumnInt(0), -9000000000);
  EXPECT_EQ(query->ColumnDouble(1), 2.5);
  EXPECT_EQ(query->ColumnText(2), "it's'); DROP TABLE t; --");
  EXPECT_EQ(query->ColumnBlob(3), (std::vector<uint8_t>{0, 1, 2, 255}));
  EXPECT_TRUE(query->IsNull(4));
  EXPECT_FALSE(query->IsNull(0));
  EXPECT_THAT(query->Step(), IsOkAndHolds(false));
}

TEST(DatabaseTest, ErrorsNameTheSqlAndSqlitesMessage) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(db->Prepare("SELEKT 1"), StatusIs(StatusCode::kInternal, HasSubstr("SELEKT 1")));
  EXPECT_THAT(db->Execute("SELECT * FROM missing_table"),
              StatusIs(StatusCode::kInternal, HasSubstr("no such table: missing_table")));
  ASSERT_THAT(db->Execute("CREATE TABLE u (k TEXT PRIMARY KEY, v INTEGER NOT NULL)"), IsOk());
  auto insert = db->Prepare("INSERT INTO u VALUES(?, ?)");
  ASSERT_THAT(insert, IsOk());
  ASSERT_THAT(insert->BindAll("a", 1), IsOk());
  ASSERT_THAT(insert->Run(), IsOk());
  EXPECT_THAT(insert->Run(),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("UNIQUE constraint failed: u.k")));
  ASSERT_THAT(insert->BindAll("b"), IsOk());
  ASSERT_THAT(insert->BindNull(2), IsOk());
  EXPECT_THAT(insert->Run(), StatusIs(StatusCode::kFailedPrecondition,
                                      HasSubstr("NOT NULL constraint failed: u.v")));
  EXPECT_THAT(insert->Bind(3, int64_t{1}),
              StatusIs(StatusCode::kInternal, HasSubstr("binding parameter 3")));
  auto select = db->Prepare("SELECT 1");
  ASSERT_THAT(select, IsOk());
  EXPECT_THAT(select->Run(), StatusIs(StatusCode::kInternal, HasSubstr("returned a row")));
}

TEST(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Execute("CREATE TABLE t (v INTEGER)"), IsOk());
  auto count = [&]() -> int64_t {
    auto query = db->Prepare("SELECT count(*) FROM t");
    EXPECT_THAT(query, IsOk());
    EXPECT_THAT(query->Step(), IsOkAndHolds(true));
    return query->ColumnInt(0);
  };
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_THAT(txn, IsOk());
    EXPECT_TRUE(db->InTransaction());
    ASSERT_THAT(db->Execute("INSERT INTO t VALUES(1)"), IsOk());
    EXPECT_THAT(Transaction::Begin(*db), StatusIs(StatusCode::kFailedPrecondition));
  }  // destroyed uncommitted
  EXPECT_FALSE(db->InTransaction());
  EXPECT_EQ(count(), 0);
  {
    auto txn = Transaction::Begin(*db);
    ASSERT_THAT(txn, IsOk());
    ASSERT_THAT(db->Execute("INSERT INTO t VALUES(1)"), IsOk());
    ASSERT_THAT(txn->Commit(), IsOk());
    EXPECT_THAT(txn->Commit(), StatusIs(StatusCode::kFailedPrecondition));
  }
  EXPECT_EQ(count(), 1);
}

TEST(DatabaseTest, AWriterWaitsForTheLockThenReportsBusyAsUnavailable) {
  TempDir dir;
  const std::string path = dir.path() + "/lock.db";
  DatabaseOptions quick;
  quick.busy_timeout_ms = 50;
  auto first = OpenOrDie(path);
  auto second = OpenOrDie(path, quick);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_THAT(first->Execute("CREATE TABLE t (v INTEGER)"), IsOk());
  auto holding = Transaction::Begin(*first);
  ASSERT_THAT(holding, IsOk());
  EXPECT_THAT(Transaction::Begin(*second),
              StatusIs(StatusCode::kUnavailable, HasSubstr("database is locked")));
  // Readers are not blocked by the writer (WAL).
  auto read = second->Prepare("SELECT count(*) FROM t");
  ASSERT_THAT(read, IsOk());
  EXPECT_THAT(read->Step(), IsOkAndHolds(true));
  read->Reset();
  ASSERT_THAT(holding->Commit(), IsOk());
  auto now = Transaction::Begin(*second);
  EXPECT_THAT(now, IsOk());
}

// Statements alive on the connection (cached or handed out).
int CountStatements(Database& db) {
  int count = 0;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db.native(), nullptr); s != nullptr;
       s = sqlite3_next_stmt(db.native(), s)) {
    ++count;
  }
  return count;
}

TEST(DatabaseTest, CachedStatementsAreReusedAndNestedUseGetsAFreshOne) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(db->Execute("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES(1), (2), (3)"), IsOk());
  const std::string sql = "SELECT v FROM t WHERE v >= ? ORDER BY v";
  auto outer = db->Prepare(sql);
  ASSERT_THAT(outer, IsOk());
  ASSERT_THAT(outer->Bind(1, int64_t{1}), IsOk());
  ASSERT_THAT(outer->Step(), IsOkAndHolds(true));
  int rows = 0;
  const int statements = CountStatements(*db);
  {
    // The same SQL while `outer` is mid-iteration: an independent statement.
    auto inner = db->Prepare(sql);
    ASSERT_THAT(inner, IsOk());
    EXPECT_EQ(CountStatements(*db), statements + 1);
    ASSERT_THAT(inner->Bind(1, int64_t{2}), IsOk());
    while (*inner->Step()) ++rows;
  }
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(outer->ColumnInt(0), 1);
  ASSERT_THAT(outer->Step(), IsOkAndHolds(true));
  EXPECT_EQ(outer->ColumnInt(0), 2);
  {
    Statement moved = *std::move(outer);
    (void)moved;
  }
  // Back in the cache: reset and its bindings cleared.
  auto again = db->Prepare(sql);
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(again->Step(), IsOkAndHolds(false));  // ? is NULL now: no row
  // The nested statement was finalized; the cached one was reused.
  EXPECT_EQ(CountStatements(*db), statements);
}

constexpr Migration kSteps[] = {
    {1, "create t", "CREATE TABLE t (a INTEGER)"},
    {2, "add b", "ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x'"},
};

TEST(MigrationTest, AppliesStepsOnceInOrderAndKeepsTheVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/m.db";
  {
    auto db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    EXPECT_THAT(SchemaVersion(*db, "demo"), IsOkAndHolds(0));
    ASSERT_THAT(ApplyMigrations(*db, "demo", std::span(kSteps).first(1)), IsOk());
    EXPECT_THAT(SchemaVersion(*db, "demo"), IsOkAndHolds(1));
    ASSERT_THAT(db->Execute("INSERT INTO t(a) VALUES(7)"), IsOk());
  }
  auto db = OpenOrDie(path);
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(ApplyMigrations(*db, "demo", kSteps), IsOk());
  ASSERT_THAT(ApplyMigrations(*db, "demo", kSteps), IsOk());  // nothing left to do
  EXPECT_THAT(SchemaVersion(*db, "demo"), IsOkAndHolds(2));
  auto query = db->Prepare("SELECT a, b FROM t");
  ASSERT_THAT(query, IsOk());
  ASSERT_THAT(query->Step(), IsOkAndHolds(true));
  EXPECT_EQ(query->ColumnInt(0), 7);
  EXPECT_EQ(query->ColumnText(1), "x");
  // Another schema in the same file has its own version.
  EXPECT_THAT(SchemaVersion(*db, "other"), IsOkAndHolds(0));
}

TEST(MigrationTest, RefusesADatabaseNewerThanTheCode) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  ASSERT_THAT(ApplyMigrations(*db, "demo", kSteps), IsOk());
  EXPECT_THAT(ApplyMigrations(*db, "demo", std::span(kSteps).first(1)),
              StatusIs(StatusCode::kFailedPrecondition,
                       HasSubstr("schema 'demo' version 2, newer than this build knows (1)")));
}

TEST(MigrationTest, AFailedStepLeavesTheSchemaAtTheLastWholeStep) {
  auto db = OpenOrDie(":memory:");
  ASSERT_NE(db, nullptr);
  constexpr Migration kBroken[] = {
      {1, "create t", "CREATE TABLE t (a INTEGER)"},
      {2, "half-broken", "CREATE TABLE u (a INTEGER); INSERT INTO nowhere VALUES(1)"},
  };
  EXPECT_THAT(ApplyMigrations(*db, "demo", kBroken),
              StatusIs(StatusCode::kInternal, HasSubstr("migration demo v2 (half-broken)")));
  EXPECT_THAT(SchemaVersion(*db, "demo"), IsOkAndHolds(1));
  // Step 2's first statement was rolled back with it.
  EXPECT_THAT(db->Execute("SELECT * FROM u"), StatusIs(StatusCode::kInternal));
  constexpr Migration kGap[] = {{1, "a", "SELECT 1"}, {3, "b", "SELECT 1"}};
  EXPECT_THAT(ApplyMigrations(*db, "gap", kGap),
              StatusIs(StatusCode::kInternal, HasSubstr("not numbered 1..N")));
}

TEST(IntegrityTest, ACorruptedPageIsFound) {
  TempDir dir;
  const std::string path = dir.path() + "/c.db";
  {
    auto db = OpenOrDie(path);
    ASSERT_NE(db, nullptr);
    ASSERT_THAT(db->Execute("CREATE TABLE t (v TEXT); CREATE INDEX tv ON t(v);"), IsOk());
    auto txn = Transaction::Begin(*db);
    ASSERT_THAT(txn, IsOk());
    for (int i = 0; i < 2000; ++i) {
      auto insert = db->Prepare("INSERT INTO t VALUES(?)");
      ASSERT_THAT(insert, IsOk());
      ASSERT_THAT(
          insert->Bind(1, std::string(40, static_cast<char>('a' + i % 26)) + std::to_string(i)),
          IsOk());
      ASSERT_THAT(insert->Run(), IsOk());
    }
    ASSERT_THAT(txn->Commit(), IsOk());
    ASSERT_THAT(db->Execute("PRAGMA wal_checkpoint(TRUNCATE)"), IsOk());
    EXPECT_THAT(CheckIntegrity(*db), IsOk());
  }
  // Scribble over the middle of an index page.
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096 * 3 + 100);
    const std::string junk(400, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto db = OpenOrDie(path);
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(CheckIntegrity(*db), StatusIs(StatusCode::kDataLoss, HasSubstr("integrity")));
}

}  // namespace
}  // namespace custos::store
