// `custos crypto ...`: the cryptography of custos from the command line.
// The forms and outputs here are a contract other tools rely on; see
// docs/cli.md.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/subcommand.h"
#include "custos/core/hex.h"
#include "custos/core/secret_bytes.h"
#include "custos/crypto/envelope.h"
#include "custos/crypto/keyset.h"
#include "custos/crypto/registry.h"
#include "custos/crypto/throughput.h"

namespace custos::cli {
namespace {

using lwc::AlgorithmInfo;
using lwc::AlgorithmKind;
using lwc::AlgorithmRegistry;

// Largest input `seal`/`open` read from standard input.
constexpr std::size_t kMaxStreamBytes = std::size_t{1} << 30;

// The context of one subcommand run: its name for messages, and its flags.
// A crypto subcommand's context: the common one plus the algorithm registry.
struct Context : CommandContext {
  std::shared_ptr<const AlgorithmRegistry> registry;
};

std::string MessageOf(const Status& status) { return std::string(status.message()); }

// Decodes a hex flag; a missing optional flag gives an empty value.
std::optional<std::vector<uint8_t>> HexFlag(const Context& ctx, std::string_view name,
                                            bool required, int& exit_code) {
  std::optional<std::string> text = ctx.flags.Get(name);
  if (!text.has_value()) {
    if (required) {
      exit_code = UsageError(ctx, "missing --" + std::string(name));
      return std::nullopt;
    }
    return std::vector<uint8_t>();
  }
  StatusOr<std::vector<uint8_t>> bytes = HexDecode(*text);
  if (!bytes.ok()) {
    exit_code = UsageError(ctx, "--" + std::string(name) + ": " + MessageOf(bytes.status()));
    return std::nullopt;
  }
  return *std::move(bytes);
}

// Decodes the required --key flag into wiped-on-free memory.
std::optional<SecretBytes> KeyFlag(const Context& ctx, int& exit_code) {
  std::optional<std::vector<uint8_t>> key = HexFlag(ctx, "key", true, exit_code);
  if (!key) return std::nullopt;
  SecretBytes secret(*key);
  SecureWipe(*key);
  return secret;
}

// Looks up --alg and checks its kind.
const AlgorithmInfo* AlgFlag(const Context& ctx, const std::vector<AlgorithmKind>& kinds,
                             int& exit_code, const std::optional<std::string>& fallback = {}) {
  std::optional<std::string> name = ctx.flags.Get("alg");
  if (!name.has_value()) name = fallback;
  if (!name.has_value()) {
    exit_code = UsageError(ctx, "missing --alg (see 'custos crypto list')");
    return nullptr;
  }
  StatusOr<const AlgorithmInfo*> info = ctx.registry->Find(*name);
  if (!info.ok()) {
    exit_code =
        UsageError(ctx, "--alg: unknown algorithm '" + *name + "' (see 'custos crypto list')");
    return nullptr;
  }
  for (AlgorithmKind kind : kinds) {
    if ((*info)->kind == kind) return *info;
  }
  std::string wanted;
  for (AlgorithmKind kind : kinds) {
    wanted += (wanted.empty() ? "" : " or ") + std::string(lwc::AlgorithmKindName(kind));
  }
  exit_code = UsageError(ctx, "--alg: '" + *name + "' is a " +
                                  std::string(lwc::AlgorithmKindName((*info)->kind)) +
                                  " algorithm; this command needs " + wanted);
  return nullptr;
}

bool CheckSize(const Context& ctx, std::string_view flag, std::size_t got, std::size_t want,
               const std::string& alg, int& exit_code) {
  if (got == want) return true;
  exit_code = UsageError(ctx, "--" + std::string(flag) + ": " + alg + " needs " +
                                  std::to_string(want) + " bytes, got " + std::to_string(got));
  return false;
}

std::optional<std::size_t> SizeFlag(const Context& ctx, std::string_view name, std::size_t max,
                                    int& exit_code) {
  std::optional<std::string> text = ctx.flags.Get(name);
  if (!text.has_value()) return std::nullopt;
  std::size_t value = 0;
  bool ok = !text->empty() && text->size() <= 12;
  for (char c : *text) {
    if (c < '0' || c > '9') ok = false;
    if (ok) value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  if (!ok || value > max) {
    exit_code = UsageError(ctx, "--" + std::string(name) + ": expected a number of bytes in 0.." +
                                    std::to_string(max) + ", got '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

// --- list -------------------------------------------------------------------

int List(Context& ctx) {
  std::vector<AlgorithmInfo> all = ctx.registry->List();
  if (ctx.flags.Has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const AlgorithmInfo& info : all) {
      out.push_back({{"name", info.name},
                     {"id", info.id},
                     {"kind", std::string(lwc::AlgorithmKindName(info.kind))},
                     {"key_bytes", info.key_size},
                     {"nonce_bytes", info.nonce_size},
                     {"tag_bytes", info.tag_size},
                     {"output_bytes", info.output_size},
                     {"standard", info.standard}});
    }
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(24) << "name" << std::setw(8) << "id" << std::setw(8)
            << "kind" << std::setw(6) << "key" << std::setw(7) << "nonce" << std::setw(5) << "tag"
            << std::setw(8) << "output"
            << "standard\n";
  for (const AlgorithmInfo& info : all) {
    std::ostringstream id;
    id << "0x" << std::hex << std::setw(4) << std::setfill('0') << info.id;
    auto size = [](std::size_t n) { return n == 0 ? std::string("-") : std::to_string(n); };
    std::cout << std::setw(24) << info.name << std::setw(8) << id.str() << std::setw(8)
              << lwc::AlgorithmKindName(info.kind) << std::setw(6) << size(info.key_size)
              << std::setw(7) << size(info.nonce_size) << std::setw(5) << size(info.tag_size)
              << std::setw(8) << size(info.output_size) << info.standard << "\n";
  }
  std::cout << "(sizes in bytes; output = digest, default XOF output or cipher block)\n";
  return kExitOk;
}

// --- aead-seal / aead-open ----------------------------------------------------

int Aead(Context& ctx, bool seal) {
  int rc = kExitOk;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kAead}, rc);
  if (info == nullptr) return rc;
  std::optional<SecretBytes> secret_key = KeyFlag(ctx, rc);
  if (!secret_key) return rc;
  auto nonce = HexFlag(ctx, "nonce", true, rc);
  if (!nonce) return rc;
  auto ad = HexFlag(ctx, "ad", false, rc);
  if (!ad) return rc;
  auto input = HexFlag(ctx, seal ? "msg" : "ct", true, rc);
  if (!input) return rc;
  if (!CheckSize(ctx, "key", secret_key->size(), info->key_size, info->name, rc)) return rc;
  if (!CheckSize(ctx, "nonce", nonce->size(), info->nonce_size, info->name, rc)) return rc;
  StatusOr<std::unique_ptr<lwc::NonceAead>> aead =
      ctx.registry->NewAead(info->name, secret_key->span());
  if (!aead.ok()) return UsageError(ctx, "--key: " + MessageOf(aead.status()));
  if (seal) {
    StatusOr<std::vector<uint8_t>> out = (*aead)->Seal(*nonce, *ad, *input);
    if (!out.ok()) return Failure(ctx, MessageOf(out.status()));
    std::cout << HexEncode(*out) << "\n";
    return kExitOk;
  }
  if (input->size() < info->tag_size) {
    return UsageError(ctx, "--ct: shorter than the " + std::to_string(info->tag_size) +
                               "-byte tag of " + info->name);
  }
  StatusOr<std::vector<uint8_t>> out = (*aead)->Open(*nonce, *ad, *input);
  if (!out.ok()) {
    if (out.status().code() == StatusCode::kUnauthenticated) {
      return Failure(ctx, "authentication failed");
    }
    return Failure(ctx, MessageOf(out.status()));
  }
  std::cout << HexEncode(*out) << "\n";
  SecureWipe(*out);
  return kExitOk;
}

// --- hash ---------------------------------------------------------------------

int HashCommand(Context& ctx) {
  int rc = kExitOk;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kHash, AlgorithmKind::kXof}, rc);
  if (info == nullptr) return rc;
  auto msg = HexFlag(ctx, "msg", true, rc);
  if (!msg) return rc;
  auto custom = HexFlag(ctx, "custom", false, rc);
  if (!custom) return rc;
  std::optional<std::size_t> out_len = SizeFlag(ctx, "out-len", 1 << 20, rc);
  if (rc != kExitOk) return rc;
  if (info->kind == AlgorithmKind::kHash) {
    if (ctx.flags.Has("custom")) {
      return UsageError(ctx, "--custom: " + info->name + " takes no customization string");
    }
    if (out_len.has_value() && *out_len != info->output_size) {
      return UsageError(ctx, "--out-len: " + info->name + " has a fixed " +
                                 std::to_string(info->output_size) + "-byte digest");
    }
    StatusOr<std::unique_ptr<lwc::Hash>> hash = ctx.registry->NewHash(info->name);
    if (!hash.ok()) return Failure(ctx, MessageOf(hash.status()));
    (*hash)->Update(*msg);
    std::cout << HexEncode((*hash)->Final()) << "\n";
    return kExitOk;
  }
  StatusOr<std::unique_ptr<lwc::Xof>> xof = ctx.registry->NewXof(info->name, *custom);
  if (!xof.ok()) return UsageError(ctx, "--custom: " + MessageOf(xof.status()));
  Status status = (*xof)->Update(*msg);
  if (!status.ok()) return Failure(ctx, MessageOf(status));
  std::cout << HexEncode((*xof)->Squeeze(out_len.value_or(info->output_size))) << "\n";
  return kExitOk;
}

// --- mac ----------------------------------------------------------------------

int MacCommand(Context& ctx) {
  int rc = kExitOk;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kMac}, rc);
  if (info == nullptr) return rc;
  std::optional<SecretBytes> secret_key = KeyFlag(ctx, rc);
  if (!secret_key) return rc;
  auto msg = HexFlag(ctx, "msg", true, rc);
  if (!msg) return rc;
  StatusOr<std::unique_ptr<lwc::Mac>> mac = ctx.registry->NewMac(info->name, secret_key->span());
  if (!mac.ok()) return UsageError(ctx, "--key: " + MessageOf(mac.status()));
  (*mac)->Update(*msg);
  std::cout << HexEncode((*mac)->Final()) << "\n";
  return kExitOk;
}

// --- block / stream -------------------------------------------------------------

int Block(Context& ctx) {
  int rc = kExitOk;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kBlockCipher}, rc);
  if (info == nullptr) return rc;
  std::optional<SecretBytes> secret_key = KeyFlag(ctx, rc);
  if (!secret_key) return rc;
  auto block = HexFlag(ctx, "block", true, rc);
  if (!block) return rc;
  if (!CheckSize(ctx, "key", secret_key->size(), info->key_size, info->name, rc)) return rc;
  if (!CheckSize(ctx, "block", block->size(), info->output_size, info->name, rc)) return rc;
  StatusOr<std::unique_ptr<lwc::BlockCipher>> cipher =
      ctx.registry->NewBlockCipher(info->name, secret_key->span());
  if (!cipher.ok()) return UsageError(ctx, "--key: " + MessageOf(cipher.status()));
  std::vector<uint8_t> out(block->size());
  Status status = ctx.flags.Has("decrypt") ? (*cipher)->DecryptBlock(*block, out)
                                           : (*cipher)->EncryptBlock(*block, out);
  if (!status.ok()) return Failure(ctx, MessageOf(status));
  std::cout << HexEncode(out) << "\n";
  return kExitOk;
}

int Stream(Context& ctx) {
  int rc = kExitOk;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kStreamCipher}, rc);
  if (info == nullptr) return rc;
  std::optional<SecretBytes> secret_key = KeyFlag(ctx, rc);
  if (!secret_key) return rc;
  auto iv = HexFlag(ctx, "iv", true, rc);
  if (!iv) return rc;
  if (!ctx.flags.Has("len")) return UsageError(ctx, "missing --len");
  std::optional<std::size_t> length = SizeFlag(ctx, "len", 1 << 24, rc);
  if (!length) return rc;
  if (!CheckSize(ctx, "key", secret_key->size(), info->key_size, info->name, rc)) return rc;
  if (!CheckSize(ctx, "iv", iv->size(), info->nonce_size, info->name, rc)) return rc;
  StatusOr<std::unique_ptr<lwc::StreamCipher>> cipher =
      ctx.registry->NewStreamCipher(info->name, secret_key->span(), *iv);
  if (!cipher.ok()) return UsageError(ctx, MessageOf(cipher.status()));
  std::vector<uint8_t> stream(*length, 0);
  Status status = (*cipher)->Process(stream, stream);
  if (!status.ok()) return Failure(ctx, MessageOf(status));
  std::cout << HexEncode(stream) << "\n";
  return kExitOk;
}

// --- keygen / rotate / seal / open ------------------------------------------------

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > crypto::Keyset::kMaxJsonBytes) {
    return InvalidArgumentError("'" + path + "' is larger than a key file can be");
  }
  return text;
}

// Writes a file readable by its owner only, replacing it atomically.
Status WriteSecretFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  FILE* file = std::fopen(tmp.c_str(), "wx");
  if (file == nullptr) return UnavailableError("cannot create '" + tmp + "'");
  ::fchmod(::fileno(file), 0600);
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  ok = std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0 && ok;
  ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return UnavailableError("cannot write '" + path + "'");
  }
  return OkStatus();
}

// A key file is a keyset (JSON) or one bare hex key.
StatusOr<crypto::Keyset> LoadKeyFile(const Context& ctx, const std::string& path,
                                     const std::string& bare_key_algorithm) {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    return crypto::Keyset::FromJson(text, *ctx.registry);
  }
  std::string hex;
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') hex.push_back(c);
  }
  StatusOr<std::vector<uint8_t>> key = HexDecode(hex);
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(hex.data()), hex.size()));
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  if (!key.ok()) {
    return InvalidArgumentError("not a keyset and not a hex key: " + MessageOf(key.status()));
  }
  StatusOr<crypto::Keyset> keyset =
      crypto::Keyset::FromRawKey(bare_key_algorithm, *key, *ctx.registry);
  SecureWipe(*key);
  return keyset;
}

int Keygen(Context& ctx) {
  int rc = kExitOk;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kAead}, rc, "ascon-aead128");
  if (info == nullptr) return rc;
  StatusOr<crypto::Keyset> keyset = crypto::Keyset::Generate(info->name, *ctx.registry);
  if (!keyset.ok()) return Failure(ctx, MessageOf(keyset.status()));
  std::optional<std::string> out = ctx.flags.Get("out");
  if (!out.has_value()) {
    std::cout << keyset->ToJson();
    return kExitOk;
  }
  Status status = WriteSecretFile(*out, keyset->ToJson());
  if (!status.ok()) return Failure(ctx, MessageOf(status));
  std::cerr << "wrote a " << info->name << " keyset to " << *out << " (key id "
            << keyset->primary_key_id() << ")\n";
  return kExitOk;
}

int Rotate(Context& ctx) {
  int rc = kExitOk;
  std::optional<std::string> path = RequireFlag(ctx, "key-file", rc);
  if (!path) return rc;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kAead}, rc, "ascon-aead128");
  if (info == nullptr) return rc;
  StatusOr<std::string> text = ReadFile(*path);
  if (!text.ok()) return UsageError(ctx, "--key-file: " + MessageOf(text.status()));
  StatusOr<crypto::Keyset> keyset = crypto::Keyset::FromJson(*text, *ctx.registry);
  if (!keyset.ok()) return UsageError(ctx, "--key-file: " + MessageOf(keyset.status()));
  Status status = keyset->Rotate(info->name, *ctx.registry);
  if (status.ok()) status = WriteSecretFile(*path, keyset->ToJson());
  if (!status.ok()) return Failure(ctx, MessageOf(status));
  std::cerr << "new primary key " << keyset->primary_key_id() << " (" << info->name << ") in "
            << *path << "\n";
  return kExitOk;
}

StatusOr<std::vector<uint8_t>> ReadStdin() {
  std::vector<uint8_t> data;
  std::vector<uint8_t> chunk(1 << 16);
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError("cannot read standard input");
    }
    if (n == 0) break;
    data.insert(data.end(), chunk.begin(), chunk.begin() + n);
    if (data.size() > kMaxStreamBytes) return InvalidArgumentError("input is larger than 1 GiB");
  }
  return data;
}

Status WriteStdout(std::span<const uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError("cannot write standard output");
    }
    done += static_cast<std::size_t>(n);
  }
  return OkStatus();
}

int SealOrOpen(Context& ctx, bool seal) {
  int rc = kExitOk;
  std::optional<std::string> path = RequireFlag(ctx, "key-file", rc);
  if (!path) return rc;
  const AlgorithmInfo* info = AlgFlag(ctx, {AlgorithmKind::kAead}, rc, "ascon-aead128");
  if (info == nullptr) return rc;
  auto ad = HexFlag(ctx, "ad", false, rc);
  if (!ad) return rc;
  StatusOr<crypto::Keyset> keyset = LoadKeyFile(ctx, *path, info->name);
  if (!keyset.ok()) return UsageError(ctx, "--key-file: " + MessageOf(keyset.status()));
  const std::string& primary_algorithm = keyset->Find(keyset->primary_key_id())->algorithm;
  if (seal && ctx.flags.Has("alg") && primary_algorithm != info->name) {
    return UsageError(ctx, "--alg: the keyset's primary key is for " + primary_algorithm);
  }
  StatusOr<crypto::EnvelopeAead> envelope = crypto::EnvelopeAead::Create(*keyset, ctx.registry);
  if (!envelope.ok()) return UsageError(ctx, "--key-file: " + MessageOf(envelope.status()));
  StatusOr<std::vector<uint8_t>> input = ReadStdin();
  if (!input.ok()) return Failure(ctx, MessageOf(input.status()));
  StatusOr<std::vector<uint8_t>> output =
      seal ? envelope->Encrypt(*input, *ad) : envelope->Decrypt(*input, *ad);
  if (!output.ok()) {
    if (output.status().code() == StatusCode::kUnauthenticated) {
      return Failure(ctx, "authentication failed");
    }
    return Failure(ctx, MessageOf(output.status()));
  }
  Status status = WriteStdout(*output);
  if (!seal) SecureWipe(*output);
  if (!status.ok()) return Failure(ctx, MessageOf(status));
  return kExitOk;
}

// --- bench ----------------------------------------------------------------------

int Bench(Context& ctx) {
  int rc = kExitOk;
  crypto::ThroughputOptions options;
  if (std::optional<std::string> filter = ctx.flags.Get("filter")) options.filter = *filter;
  if (std::optional<std::size_t> ms = SizeFlag(ctx, "time-ms", 60000, rc)) {
    options.min_time_ms = static_cast<double>(*ms);
  }
  if (rc != kExitOk) return rc;
  StatusOr<std::vector<crypto::ThroughputResult>> results =
      crypto::MeasureThroughput(*ctx.registry, options);
  if (!results.ok()) return Failure(ctx, MessageOf(results.status()));
  if (ctx.flags.Has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *results) {
      out.push_back({{"alg", r.algorithm},
                     {"bytes", r.bytes},
                     {"ns_per_byte", r.ns_per_byte},
                     {"mb_per_s", r.mb_per_s}});
    }
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(24) << "algorithm" << std::right << std::setw(8) << "bytes"
            << std::setw(12) << "ns/byte" << std::setw(12) << "MB/s"
            << "\n";
  std::map<std::pair<std::string, std::size_t>, double> ns;
  for (const auto& r : *results) {
    ns[{r.algorithm, r.bytes}] = r.ns_per_byte;
    std::cout << std::left << std::setw(24) << r.algorithm << std::right << std::setw(8) << r.bytes
              << std::setw(12) << std::fixed << std::setprecision(3) << r.ns_per_byte
              << std::setw(12) << std::setprecision(1) << r.mb_per_s << "\n";
  }
  // The ratios the project tracks (time per byte; lower is faster).
  for (std::size_t bytes : options.sizes) {
    auto ascon = ns.find({"ascon-aead128", bytes});
    auto chacha = ns.find({"chacha20-poly1305", bytes});
    auto batch = ns.find({"ascon-aead128-batch", bytes});
    if (ascon != ns.end() && chacha != ns.end()) {
      std::cout << "ascon-aead128 / chacha20-poly1305 at " << bytes
                << " B: " << std::setprecision(2) << ascon->second / chacha->second
                << "x time per byte\n";
    }
    if (ascon != ns.end() && batch != ns.end()) {
      std::cout << "ascon-aead128 batch speed-up at " << bytes << " B: " << std::setprecision(2)
                << ascon->second / batch->second << "x throughput\n";
    }
  }
  return kExitOk;
}

// --- dispatch --------------------------------------------------------------------

// Runs `body` with the default algorithm registry.
std::function<int(CommandContext&)> WithRegistry(std::function<int(Context&)> body) {
  return [body = std::move(body)](CommandContext& base) {
    StatusOr<std::shared_ptr<const AlgorithmRegistry>> registry = crypto::NewDefaultRegistry();
    if (!registry.ok()) return Failure(base, MessageOf(registry.status()));
    Context ctx{base, *std::move(registry)};
    return body(ctx);
  };
}

std::vector<Subcommand> Subcommands() {
  const FlagSpec json{"json", false, "print JSON"};
  return {
      {"list",
       "custos crypto list [--json]",
       "Lists every algorithm: name, numeric id, kind, key/nonce/tag/output sizes in bytes.",
       {json},
       WithRegistry(List)},
      {"aead-seal",
       "custos crypto aead-seal --alg NAME --key HEX --nonce HEX [--ad HEX] --msg HEX",
       "Encrypts with an explicit nonce and prints the hex of ciphertext||tag.\n"
       "Never reuse a nonce with the same key; 'custos crypto seal' picks nonces for you.",
       {{"alg", true, "an AEAD (see 'custos crypto list')", "NAME"},
        {"key", true, "key", "HEX"},
        {"nonce", true, "nonce", "HEX"},
        {"ad", true, "associated data (default: none)", "HEX"},
        {"msg", true, "plaintext", "HEX"}},
       WithRegistry([](Context& ctx) { return Aead(ctx, true); })},
      {"aead-open",
       "custos crypto aead-open --alg NAME --key HEX --nonce HEX [--ad HEX] --ct HEX",
       "Verifies and decrypts ciphertext||tag and prints the plaintext hex.\n"
       "Exits with status 1 and 'authentication failed' if the tag does not verify.",
       {{"alg", true, "an AEAD (see 'custos crypto list')", "NAME"},
        {"key", true, "key", "HEX"},
        {"nonce", true, "nonce", "HEX"},
        {"ad", true, "associated data (default: none)", "HEX"},
        {"ct", true, "ciphertext||tag", "HEX"}},
       WithRegistry([](Context& ctx) { return Aead(ctx, false); })},
      {"hash",
       "custos crypto hash --alg NAME --msg HEX [--out-len BYTES] [--custom HEX]",
       "Prints the digest (hash) or output (XOF) hex.",
       {{"alg", true, "a hash or XOF (see 'custos crypto list')", "NAME"},
        {"msg", true, "message", "HEX"},
        {"out-len", true, "XOF output length (default 32)", "BYTES"},
        {"custom", true, "customization string (ascon-cxof128)", "HEX"}},
       WithRegistry(HashCommand)},
      {"mac",
       "custos crypto mac --alg NAME --key HEX --msg HEX",
       "Prints the MAC tag hex.",
       {{"alg", true, "a MAC (see 'custos crypto list')", "NAME"},
        {"key", true, "key", "HEX"},
        {"msg", true, "message", "HEX"}},
       WithRegistry(MacCommand)},
      {"block",
       "custos crypto block --alg NAME --key HEX --block HEX [--decrypt]",
       "Encrypts (or decrypts) one block and prints it in hex. Bytes are in the order of the\n"
       "algorithm's reference vectors (SPECK/SIMON: the NSA implementation guide's).",
       {{"alg", true, "a block cipher (see 'custos crypto list')", "NAME"},
        {"key", true, "key", "HEX"},
        {"block", true, "one block", "HEX"},
        {"decrypt", false, "decrypt instead of encrypt"}},
       WithRegistry(Block)},
      {"stream",
       "custos crypto stream --alg NAME --key HEX --iv HEX --len BYTES",
       "Prints the first BYTES bytes of keystream in hex.",
       {{"alg", true, "a stream cipher (see 'custos crypto list')", "NAME"},
        {"key", true, "key", "HEX"},
        {"iv", true, "IV", "HEX"},
        {"len", true, "keystream length", "BYTES"}},
       WithRegistry(Stream)},
      {"keygen",
       "custos crypto keygen [--alg NAME] [--out FILE]",
       "Creates a keyset with one random key (default ascon-aead128) and prints it as JSON,\n"
       "or writes it to FILE with mode 0600. The file holds the key in clear: guard it.",
       {{"alg", true, "an AEAD (default ascon-aead128)", "NAME"},
        {"out", true, "write to this file (must not exist)", "FILE"}},
       WithRegistry(Keygen)},
      {"rotate",
       "custos crypto rotate --key-file FILE [--alg NAME]",
       "Adds a new random primary key to a keyset file; old keys still open old messages.",
       {{"key-file", true, "keyset file (JSON)", "FILE"},
        {"alg", true, "algorithm of the new key (default ascon-aead128)", "NAME"}},
       WithRegistry(Rotate)},
      {"seal",
       "custos crypto seal --key-file FILE [--alg NAME] [--ad HEX] < in > out",
       "Encrypts standard input into a self-describing envelope (docs/formats/envelope.md)\n"
       "under the keyset's primary key with a random nonce. FILE is a keyset (JSON, see\n"
       "'custos crypto keygen') or a bare hex key of algorithm --alg (default ascon-aead128).",
       {{"key-file", true, "keyset or hex key file", "FILE"},
        {"alg", true, "algorithm of a bare hex key (default ascon-aead128)", "NAME"},
        {"ad", true, "associated data, not stored in the envelope", "HEX"}},
       WithRegistry([](Context& ctx) { return SealOrOpen(ctx, true); })},
      {"open",
       "custos crypto open --key-file FILE [--alg NAME] [--ad HEX] < in > out",
       "Opens an envelope from standard input with the key it names. Exits with status 1 and\n"
       "'authentication failed' if it does not verify; nothing is written then.",
       {{"key-file", true, "keyset or hex key file", "FILE"},
        {"alg", true, "algorithm of a bare hex key (default ascon-aead128)", "NAME"},
        {"ad", true, "associated data given when sealing", "HEX"}},
       WithRegistry([](Context& ctx) { return SealOrOpen(ctx, false); })},
      {"bench",
       "custos crypto bench [--json] [--filter TEXT] [--time-ms MS]",
       "Measures every AEAD (seal) and hash at 64 B, 1536 B and 16 KiB in one run, OpenSSL's\n"
       "AES-128-GCM and ChaCha20-Poly1305 included. --json prints one array of\n"
       "{\"alg\", \"bytes\", \"ns_per_byte\", \"mb_per_s\"} objects.",
       {json,
        {"filter", true, "only algorithms whose name contains TEXT", "TEXT"},
        {"time-ms", true, "minimum time per measurement (default 60)", "MS"}},
       WithRegistry(Bench)},
  };
}

std::string CryptoUsage(const std::vector<Subcommand>& subcommands) {
  std::string text = "usage: custos crypto <subcommand> [options]\n\nsubcommands:\n";
  for (const Subcommand& s : subcommands) text += "  " + s.usage + "\n";
  text +=
      "\nEach subcommand takes --help. Exit status: 0 ok, 1 failure (e.g. authentication\n"
      "failed), 2 bad usage or input.\n";
  return text;
}

}  // namespace

int RunCrypto(const std::vector<std::string>& args) {
  const std::vector<Subcommand> subcommands = Subcommands();
  return RunSubcommand("crypto", CryptoUsage(subcommands), subcommands, args);
}

}  // namespace custos::cli
