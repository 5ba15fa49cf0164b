#include "custos/store/sqlite_device_registry.h"

#include <cstdint>
#include <limits>
#include <set>
#include <utility>

namespace custos::store {
namespace {

using identity::DeviceRegistry;
using identity::IssuedCertificateRecord;
using identity::RegistryUpdate;
using identity::Revocation;
using identity::TokenRecord;

// Same bound as the file registry's documents.
constexpr std::size_t kMaxDocumentBytes = 4 * 1024 * 1024;

constexpr Migration kRegistryMigrations[] = {
    {1, "tokens, issued certificates, CRL number, documents",
     R"sql(
CREATE TABLE registry_tokens (
  hash TEXT PRIMARY KEY,
  hash_algorithm TEXT NOT NULL,
  device_id TEXT NOT NULL,          -- '' when the token is unbound
  created_at INTEGER NOT NULL,      -- unix seconds
  expires_at INTEGER NOT NULL,
  consumed INTEGER NOT NULL DEFAULT 0 CHECK (consumed IN (0, 1)),
  consumed_at INTEGER NOT NULL DEFAULT 0,
  consumed_by TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE registry_certificates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- issue order ("oldest first")
  serial TEXT NOT NULL UNIQUE,            -- lower-case hex
  device_id TEXT NOT NULL,
  key_type TEXT NOT NULL,
  issuer_key_type TEXT NOT NULL,
  issuer_generation INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  method TEXT NOT NULL,
  replaces TEXT NOT NULL,
  certificate_der_base64 TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  revoked_at INTEGER NOT NULL DEFAULT 0,
  revocation_effective_at INTEGER NOT NULL DEFAULT 0,
  revocation_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX registry_certificates_by_device ON registry_certificates(device_id, seq);
CREATE INDEX registry_certificates_revoked ON registry_certificates(serial) WHERE revoked = 1;

CREATE TABLE registry_crl (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_number INTEGER NOT NULL
);
INSERT INTO registry_crl(id, last_number) VALUES (1, 0);

CREATE TABLE registry_documents (
  name TEXT PRIMARY KEY,
  content BLOB NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
};

constexpr char kCertificateColumns[] =
    "serial, device_id, key_type, issuer_key_type, issuer_generation, fingerprint, issued_at, "
    "not_before, not_after, method, replaces, certificate_der_base64, revoked, revoked_at, "
    "revocation_effective_at, revocation_reason";

constexpr char kTokenColumns[] =
    "hash, hash_algorithm, device_id, created_at, expires_at, consumed, consumed_at, consumed_by";

IssuedCertificateRecord CertificateFromRow(const Statement& row) {
  IssuedCertificateRecord c;
  c.serial = row.ColumnText(0);
  c.device_id = row.ColumnText(1);
  c.key_type = row.ColumnText(2);
  c.issuer_key_type = row.ColumnText(3);
  c.issuer_generation = static_cast<int>(row.ColumnInt(4));
  c.fingerprint = row.ColumnText(5);
  c.issued_at = row.ColumnInt(6);
  c.not_before = row.ColumnInt(7);
  c.not_after = row.ColumnInt(8);
  c.method = row.ColumnText(9);
  c.replaces = row.ColumnText(10);
  c.certificate_der_base64 = row.ColumnText(11);
  c.revoked = row.ColumnInt(12) != 0;
  c.revoked_at = row.ColumnInt(13);
  c.revocation_effective_at = row.ColumnInt(14);
  c.revocation_reason = row.ColumnText(15);
  return c;
}

TokenRecord TokenFromRow(const Statement& row) {
  TokenRecord t;
  t.hash = row.ColumnText(0);
  t.hash_algorithm = row.ColumnText(1);
  t.device_id = row.ColumnText(2);
  t.created_at = row.ColumnInt(3);
  t.expires_at = row.ColumnInt(4);
  t.consumed = row.ColumnInt(5) != 0;
  t.consumed_at = row.ColumnInt(6);
  t.consumed_by = row.ColumnText(7);
  return t;
}

Status CheckDocumentName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.';
  for (char c : name) {
    ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  }
  if (!ok) return InvalidArgumentError("bad registry document name '" + std::string(name) + "'");
  return OkStatus();
}

class SqliteDeviceRegistry final : public DeviceRegistry {
 public:
  explicit SqliteDeviceRegistry(std::shared_ptr<Database> db) : db_(std::move(db)) {}

  Status Apply(const RegistryUpdate& update) override {
    if (update.crl_number &&
        *update.crl_number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError("CRL number " + std::to_string(*update.crl_number) +
                                  " is too large to store");
    }
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
    CUSTOS_RETURN_IF_ERROR(Validate(update));
    CUSTOS_RETURN_IF_ERROR(Write(update));
    return txn.Commit();
  }

  StatusOr<std::optional<TokenRecord>> FindToken(std::string_view hash) override {
    CUSTOS_ASSIGN_OR_RETURN(Statement query, db_->Prepare(std::string("SELECT ") + kTokenColumns +
                                                          " FROM registry_tokens WHERE hash = ?"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, hash));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(TokenFromRow(query));
  }

  StatusOr<std::optional<IssuedCertificateRecord>> FindCertificate(
      std::string_view serial) override {
    CUSTOS_ASSIGN_OR_RETURN(Statement query,
                            db_->Prepare(std::string("SELECT ") + kCertificateColumns +
                                         " FROM registry_certificates WHERE serial = ?"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, serial));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<IssuedCertificateRecord>();
    return std::optional<IssuedCertificateRecord>(CertificateFromRow(query));
  }

  StatusOr<std::vector<IssuedCertificateRecord>> CertificatesOf(
      std::string_view device_id) override {
    CUSTOS_ASSIGN_OR_RETURN(
        Statement query,
        db_->Prepare(std::string("SELECT ") + kCertificateColumns +
                     " FROM registry_certificates WHERE device_id = ? ORDER BY seq"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, device_id));
    return Certificates(query);
  }

  StatusOr<std::vector<IssuedCertificateRecord>> RevokedCertificates() override {
    CUSTOS_ASSIGN_OR_RETURN(
        Statement query,
        db_->Prepare(std::string("SELECT ") + kCertificateColumns +
                     " FROM registry_certificates WHERE revoked = 1 ORDER BY serial"));
    return Certificates(query);
  }

  StatusOr<std::vector<TokenRecord>> Tokens() override {
    CUSTOS_ASSIGN_OR_RETURN(Statement query, db_->Prepare(std::string("SELECT ") + kTokenColumns +
                                                          " FROM registry_tokens ORDER BY hash"));
    std::vector<TokenRecord> out;
    for (;;) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      out.push_back(TokenFromRow(query));
    }
    return out;
  }

  StatusOr<uint64_t> LastCrlNumber() override {
    CUSTOS_ASSIGN_OR_RETURN(Statement query,
                            db_->Prepare("SELECT last_number FROM registry_crl WHERE id = 1"));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return DataLossError("the registry in " + db_->path() + " has no CRL number row");
    return static_cast<uint64_t>(query.ColumnInt(0));
  }

  StatusOr<std::optional<std::string>> ReadDocument(std::string_view name) override {
    CUSTOS_RETURN_IF_ERROR(CheckDocumentName(name));
    CUSTOS_ASSIGN_OR_RETURN(Statement query,
                            db_->Prepare("SELECT content FROM registry_documents WHERE name = ?"));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, name));
    CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return std::optional<std::string>();
    std::vector<uint8_t> bytes = query.ColumnBlob(0);
    return std::optional<std::string>(std::string(bytes.begin(), bytes.end()));
  }

  Status WriteDocument(std::string_view name, std::string_view content) override {
    CUSTOS_RETURN_IF_ERROR(CheckDocumentName(name));
    if (content.size() > kMaxDocumentBytes) {
      return InvalidArgumentError("registry document '" + std::string(name) + "' is larger than " +
                                  std::to_string(kMaxDocumentBytes) + " bytes");
    }
    CUSTOS_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
    {
      CUSTOS_ASSIGN_OR_RETURN(
          Statement write,
          db_->Prepare("INSERT INTO registry_documents(name, content, updated_at) "
                       "VALUES(?, ?, strftime('%s', 'now')) ON CONFLICT(name) DO UPDATE SET "
                       "content = excluded.content, updated_at = excluded.updated_at"));
      CUSTOS_RETURN_IF_ERROR(write.Bind(1, name));
      CUSTOS_RETURN_IF_ERROR(
          write.BindBlob(2, std::span<const uint8_t>(
                                reinterpret_cast<const uint8_t*>(content.data()), content.size())));
      CUSTOS_RETURN_IF_ERROR(write.Run());
    }
    return txn.Commit();
  }

 private:
  static StatusOr<std::vector<IssuedCertificateRecord>> Certificates(Statement& query) {
    std::vector<IssuedCertificateRecord> out;
    for (;;) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      out.push_back(CertificateFromRow(query));
    }
    return out;
  }

  StatusOr<bool> Exists(std::string_view sql, std::string_view key) {
    CUSTOS_ASSIGN_OR_RETURN(Statement query, db_->Prepare(sql));
    CUSTOS_RETURN_IF_ERROR(query.Bind(1, key));
    return query.Step();
  }

  // The checks of identity::RegistryUpdate, in its order, against the rows
  // as seen inside the write transaction.
  Status Validate(const RegistryUpdate& u) {
    std::set<std::string_view> new_hashes;
    for (const TokenRecord& t : u.new_tokens) {
      CUSTOS_ASSIGN_OR_RETURN(bool known,
                              Exists("SELECT 1 FROM registry_tokens WHERE hash = ?", t.hash));
      if (known || !new_hashes.insert(t.hash).second) {
        return AlreadyExistsError("an enrollment token with this hash is already recorded");
      }
    }
    if (u.consume_token) {
      CUSTOS_ASSIGN_OR_RETURN(std::optional<TokenRecord> found, FindToken(u.consume_token->hash));
      if (!found) return UnauthenticatedError("enrollment token not recognised");
      CUSTOS_RETURN_IF_ERROR(identity::CheckTokenUse(*found, *u.consume_token));
    }
    if (u.issued) {
      CUSTOS_ASSIGN_OR_RETURN(
          bool known,
          Exists("SELECT 1 FROM registry_certificates WHERE serial = ?", u.issued->serial));
      if (known) {
        return AlreadyExistsError("a certificate with serial " + u.issued->serial +
                                  " is already recorded");
      }
    }
    for (const Revocation& r : u.revocations) {
      if (u.issued && u.issued->serial == r.serial) continue;
      CUSTOS_ASSIGN_OR_RETURN(
          bool known, Exists("SELECT 1 FROM registry_certificates WHERE serial = ?", r.serial));
      if (!known) {
        return NotFoundError("no certificate with serial " + r.serial + " was issued by this CA");
      }
    }
    if (u.crl_number) {
      CUSTOS_ASSIGN_OR_RETURN(uint64_t last, LastCrlNumber());
      if (*u.crl_number <= last) {
        return FailedPreconditionError("CRL number " + std::to_string(*u.crl_number) +
                                       " is not above the last one (" + std::to_string(last) + ")");
      }
    }
    return OkStatus();
  }

  Status Write(const RegistryUpdate& u) {
    for (const TokenRecord& t : u.new_tokens) {
      CUSTOS_ASSIGN_OR_RETURN(
          Statement insert,
          db_->Prepare("INSERT INTO registry_tokens(hash, hash_algorithm, device_id, created_at, "
                       "expires_at, consumed, consumed_at, consumed_by) "
                       "VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
      CUSTOS_RETURN_IF_ERROR(insert.BindAll(t.hash, t.hash_algorithm, t.device_id, t.created_at,
                                            t.expires_at, t.consumed, t.consumed_at,
                                            t.consumed_by));
      CUSTOS_RETURN_IF_ERROR(insert.Run());
    }
    if (u.consume_token) {
      CUSTOS_ASSIGN_OR_RETURN(
          Statement consume,
          db_->Prepare("UPDATE registry_tokens SET consumed = 1, consumed_at = ?, consumed_by = ? "
                       "WHERE hash = ? AND consumed = 0"));
      CUSTOS_RETURN_IF_ERROR(
          consume.BindAll(u.consume_token->at, u.consume_token->device_id, u.consume_token->hash));
      CUSTOS_RETURN_IF_ERROR(consume.Run());
      if (db_->Changes() != 1) return InternalError("enrollment token changed during its use");
    }
    if (u.issued) {
      const IssuedCertificateRecord& c = *u.issued;
      CUSTOS_ASSIGN_OR_RETURN(
          Statement insert,
          db_->Prepare(std::string("INSERT INTO registry_certificates(") + kCertificateColumns +
                       ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      CUSTOS_RETURN_IF_ERROR(insert.BindAll(
          c.serial, c.device_id, c.key_type, c.issuer_key_type, c.issuer_generation, c.fingerprint,
          c.issued_at, c.not_before, c.not_after, c.method, c.replaces, c.certificate_der_base64,
          c.revoked, c.revoked_at, c.revocation_effective_at, c.revocation_reason));
      CUSTOS_RETURN_IF_ERROR(insert.Run());
    }
    for (const Revocation& r : u.revocations) {
      // A later revocation may only bring the effective time forward.
      CUSTOS_ASSIGN_OR_RETURN(
          Statement revoke,
          db_->Prepare("UPDATE registry_certificates SET revoked = 1, revoked_at = ?, "
                       "revocation_effective_at = ?, revocation_reason = ? "
                       "WHERE serial = ? AND (revoked = 0 OR revocation_effective_at > ?)"));
      CUSTOS_RETURN_IF_ERROR(
          revoke.BindAll(r.recorded_at, r.effective_at, r.reason, r.serial, r.effective_at));
      CUSTOS_RETURN_IF_ERROR(revoke.Run());
    }
    if (u.crl_number) {
      CUSTOS_ASSIGN_OR_RETURN(Statement crl,
                              db_->Prepare("UPDATE registry_crl SET last_number = ? WHERE id = 1"));
      CUSTOS_RETURN_IF_ERROR(crl.Bind(1, static_cast<int64_t>(*u.crl_number)));
      CUSTOS_RETURN_IF_ERROR(crl.Run());
    }
    return OkStatus();
  }

  std::shared_ptr<Database> db_;
};

}  // namespace

std::span<const Migration> RegistryMigrations() { return kRegistryMigrations; }

StatusOr<std::unique_ptr<DeviceRegistry>> NewSqliteDeviceRegistry(std::shared_ptr<Database> db) {
  if (db == nullptr) return InvalidArgumentError("no database for the registry");
  CUSTOS_RETURN_IF_ERROR(ApplyMigrations(*db, "registry", RegistryMigrations()));
  return std::unique_ptr<DeviceRegistry>(std::make_unique<SqliteDeviceRegistry>(std::move(db)));
}

StatusOr<std::unique_ptr<DeviceRegistry>> OpenSqliteDeviceRegistry(const std::string& path,
                                                                   const DatabaseOptions& options) {
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, options));
  return NewSqliteDeviceRegistry(std::shared_ptr<Database>(std::move(db)));
}

}  // namespace custos::store
