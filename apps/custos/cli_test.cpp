// End-to-end tests of the custos command line: the exact forms, outputs and
// exit statuses other tools rely on.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "custos/core/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/run_program.h"
#include "testing/test_data.h"

namespace custos {
namespace {

using ::custos::testing::LoadKat;
using ::testing::HasSubstr;

using RunResult = testing::ProgramResult;

// Runs the custos binary with `args`, feeding `input` on standard input.
RunResult RunCustos(const std::vector<std::string>& args, const std::string& input = "") {
  return testing::RunProgram(CUSTOS_BINARY, args, input);
}

std::string Hex(const KatRecord& record, const char* field) {
  auto bytes = record.GetBytes(field);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? HexEncode(*bytes) : "";
}

TEST(CliTest, HelpOnEveryCommand) {
  for (const char* sub : {"list", "aead-seal", "aead-open", "hash", "mac", "block", "stream",
                          "seal", "open", "keygen", "rotate", "bench"}) {
    RunResult r = RunCustos({"crypto", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_THAT(r.out, HasSubstr("usage: custos crypto " + std::string(sub))) << sub;
  }
  EXPECT_EQ(RunCustos({"--help"}).exit_code, 0);
  EXPECT_EQ(RunCustos({"demo", "--help"}).exit_code, 0);
  EXPECT_EQ(RunCustos({"crypto", "--help"}).exit_code, 0);
  EXPECT_EQ(RunCustos({"nonsense"}).exit_code, 2);
}

// The JSON report of `custos demo --json` is a contract other tools read:
// these names must stay.
TEST(CliTest, DemoJsonReportHasTheContractFields) {
  RunResult r = RunCustos({"demo", "--devices", "8", "--telemetry-seconds", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json report = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << r.out;
  EXPECT_EQ(report["devices"], 8);
  EXPECT_EQ(report["enrolled"], 8);
  EXPECT_EQ(report["connected"], 8);
  EXPECT_EQ(report["rotated"], 8);
  ASSERT_TRUE(report["revoked"].is_object()) << r.out;
  EXPECT_TRUE(report["revoked"]["device"].is_string());
  EXPECT_TRUE(report["revoked"]["cut_off_ms"].is_number());
  ASSERT_TRUE(report["telemetry"].is_object()) << r.out;
  EXPECT_TRUE(report["telemetry"]["messages"].is_number_integer());
  EXPECT_TRUE(report["telemetry"]["latency_ms"]["p50"].is_number());
  EXPECT_TRUE(report["telemetry"]["latency_ms"]["p99"].is_number());

  RunResult bad = RunCustos({"demo", "--devices", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--devices"));
}

TEST(CliTest, ListNamesEveryAlgorithmOfTheContract) {
  RunResult r = RunCustos({"crypto", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json list = nlohmann::json::parse(r.out);
  std::set<std::string> names;
  for (const auto& entry : list) names.insert(entry["name"].get<std::string>());
  for (const char* name : {"ascon-aead128",
                           "ascon-hash256",
                           "ascon-xof128",
                           "ascon-cxof128",
                           "gift-cofb",
                           "grain128-aead-v2",
                           "photon-beetle-aead128",
                           "photon-beetle-hash256",
                           "present80",
                           "present128",
                           "speck32-64",
                           "speck48-72",
                           "speck48-96",
                           "speck64-96",
                           "speck64-128",
                           "speck96-96",
                           "speck96-144",
                           "speck128-128",
                           "speck128-192",
                           "speck128-256",
                           "simon32-64",
                           "simon128-256",
                           "trivium",
                           "spongent-88",
                           "spongent-128",
                           "spongent-160",
                           "spongent-224",
                           "spongent-256",
                           "aes128-cmac",
                           "hmac-sha256",
                           "aes128-gcm",
                           "chacha20-poly1305",
                           "sha256",
                           "sha3-256"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  RunResult text = RunCustos({"crypto", "list"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("ascon-aead128"));
}

TEST(CliTest, AeadSealAndOpenMatchTheAsconVectors) {
  auto records = LoadKat("kat/ascon/LWC_AEAD_KAT_128_128.txt", KatFormat::kKeyValue);
  ASSERT_GT(records.size(), 600u);
  for (std::size_t i : {std::size_t{0}, std::size_t{33}, std::size_t{600}}) {
    const KatRecord& v = records[i];
    RunResult seal =
        RunCustos({"crypto", "aead-seal", "--alg", "ascon-aead128", "--key", Hex(v, "Key"),
                   "--nonce", Hex(v, "Nonce"), "--ad", Hex(v, "AD"), "--msg", Hex(v, "PT")});
    ASSERT_EQ(seal.exit_code, 0) << seal.err;
    EXPECT_EQ(seal.out, Hex(v, "CT") + "\n");
    RunResult open =
        RunCustos({"crypto", "aead-open", "--alg", "ascon-aead128", "--key", Hex(v, "Key"),
                   "--nonce", Hex(v, "Nonce"), "--ad", Hex(v, "AD"), "--ct", Hex(v, "CT")});
    ASSERT_EQ(open.exit_code, 0) << open.err;
    EXPECT_EQ(open.out, Hex(v, "PT") + "\n");
  }
}

TEST(CliTest, AeadOpenFailsWithStatusOneOnTamper) {
  auto records = LoadKat("kat/ascon/LWC_AEAD_KAT_128_128.txt", KatFormat::kKeyValue);
  ASSERT_FALSE(records.empty());
  const KatRecord& v = records[40];
  std::string ct = Hex(v, "CT");
  ct[0] = ct[0] == '0' ? '1' : '0';
  RunResult r = RunCustos({"crypto", "aead-open", "--alg", "ascon-aead128", "--key", Hex(v, "Key"),
                           "--nonce", Hex(v, "Nonce"), "--ad", Hex(v, "AD"), "--ct", ct});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("authentication failed"));
  EXPECT_EQ(r.out, "");
}

TEST(CliTest, BadInputExitsTwoNamingTheArgument) {
  const std::string key(32, '0'), nonce(32, '0');
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  } cases[] = {
      {{"crypto", "aead-seal", "--alg", "ascon-aead128", "--key", "abc", "--nonce", nonce, "--msg",
        ""},
       "--key"},
      {{"crypto", "aead-seal", "--alg", "ascon-aead128", "--key", key + "00", "--nonce", nonce,
        "--msg", ""},
       "--key"},
      {{"crypto", "aead-seal", "--alg", "ascon-aead128", "--key", key, "--nonce", "00", "--msg",
        ""},
       "--nonce"},
      {{"crypto", "aead-seal", "--alg", "nope", "--key", key, "--nonce", nonce, "--msg", ""},
       "--alg"},
      {{"crypto", "aead-seal", "--alg", "sha256", "--key", key, "--nonce", nonce, "--msg", ""},
       "--alg"},
      {{"crypto", "hash", "--alg", "ascon-hash256", "--msg", "0z"}, "--msg"},
      {{"crypto", "hash", "--alg", "sha256", "--msg", "00", "--out-len", "x"}, "--out-len"},
      {{"crypto", "block", "--alg", "present80", "--key", "00", "--block", "0000000000000000"},
       "--key"},
      {{"crypto", "block", "--alg", "present80", "--key", "00000000000000000000", "--block", "00"},
       "--block"},
      {{"crypto", "stream", "--alg", "trivium", "--key", "00000000000000000000", "--iv", "00",
        "--len", "8"},
       "--iv"},
      {{"crypto", "aead-seal", "--bogus"}, "--bogus"},
      {{"crypto", "seal", "--key-file", "/nonexistent/key"}, "--key-file"},
  };
  for (const Case& c : cases) {
    RunResult r = RunCustos(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[1] << " " << c.expected << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.expected));
  }
}

TEST(CliTest, HashMatchesVectors) {
  auto hash = LoadKat("kat/ascon/LWC_HASH_KAT_128_256.txt", KatFormat::kKeyValue);
  ASSERT_GT(hash.size(), 100u);
  RunResult r =
      RunCustos({"crypto", "hash", "--alg", "ascon-hash256", "--msg", Hex(hash[100], "Msg")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Hex(hash[100], "MD") + "\n");

  auto cxof = LoadKat("kat/ascon/LWC_CXOF_KAT_128_512.txt", KatFormat::kKeyValue);
  ASSERT_GT(cxof.size(), 50u);
  r = RunCustos({"crypto", "hash", "--alg", "ascon-cxof128", "--msg", Hex(cxof[50], "Msg"),
                 "--custom", Hex(cxof[50], "Z"), "--out-len", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Hex(cxof[50], "MD") + "\n");
}

TEST(CliTest, BlockAndStreamMatchVectors) {
  auto speck = LoadKat("kat/speck/speck_eprint2013-404_appendix.txt", KatFormat::kKeyValue);
  ASSERT_EQ(speck.size(), 10u);
  const KatRecord& v = speck[9];  // Speck128/256
  RunResult r = RunCustos({"crypto", "block", "--alg", "speck128-256", "--key", Hex(v, "KeyBytes"),
                           "--block", Hex(v, "PlaintextBytes")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Hex(v, "CiphertextBytes") + "\n");
  r = RunCustos({"crypto", "block", "--alg", "speck128-256", "--key", Hex(v, "KeyBytes"), "--block",
                 Hex(v, "CiphertextBytes"), "--decrypt"});
  EXPECT_EQ(r.out, Hex(v, "PlaintextBytes") + "\n");

  auto trivium = LoadKat("kat/trivium/trivium-80.80.test-vectors", KatFormat::kNessie);
  ASSERT_FALSE(trivium.empty());
  r = RunCustos({"crypto", "stream", "--alg", "trivium", "--key", Hex(trivium[0], "key"), "--iv",
                 Hex(trivium[0], "IV"), "--len", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Hex(trivium[0], "stream[0..63]") + "\n");
}

TEST(CliTest, SealOpenKeygenRotate) {
  char dir[] = "/tmp/custos-cli-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string keyset = std::string(dir) + "/keyset.json";
  RunResult gen = RunCustos({"crypto", "keygen", "--out", keyset});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string message = "telemetry: 21.5 C\n";
  RunResult sealed = RunCustos({"crypto", "seal", "--key-file", keyset, "--ad", "0102"}, message);
  ASSERT_EQ(sealed.exit_code, 0) << sealed.err;
  EXPECT_EQ(sealed.out.size(), 8 + 16 + message.size() + 16);
  RunResult rot =
      RunCustos({"crypto", "rotate", "--key-file", keyset, "--alg", "chacha20-poly1305"});
  ASSERT_EQ(rot.exit_code, 0) << rot.err;
  // The old envelope still opens after rotation.
  RunResult opened =
      RunCustos({"crypto", "open", "--key-file", keyset, "--ad", "0102"}, sealed.out);
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  EXPECT_EQ(opened.out, message);
  // Wrong AD: authentication failed, nothing written.
  RunResult wrong = RunCustos({"crypto", "open", "--key-file", keyset, "--ad", "0103"}, sealed.out);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("authentication failed"));
  EXPECT_EQ(wrong.out, "");
  // A bare hex key file.
  const std::string raw = std::string(dir) + "/raw.key";
  std::ofstream(raw) << std::string(32, 'a') << "\n";
  RunResult raw_sealed = RunCustos({"crypto", "seal", "--key-file", raw}, message);
  ASSERT_EQ(raw_sealed.exit_code, 0) << raw_sealed.err;
  RunResult raw_opened = RunCustos({"crypto", "open", "--key-file", raw}, raw_sealed.out);
  EXPECT_EQ(raw_opened.out, message);
  std::remove(raw.c_str());
  std::remove(keyset.c_str());
  rmdir(dir);
}

TEST(CliTest, BenchJsonHasTheContractFields) {
  RunResult r =
      RunCustos({"crypto", "bench", "--json", "--filter", "ascon-hash", "--time-ms", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json results = nlohmann::json::parse(r.out);
  ASSERT_TRUE(results.is_array());
  ASSERT_EQ(results.size(), 3u);  // three sizes
  for (const auto& entry : results) {
    EXPECT_EQ(entry["alg"], "ascon-hash256");
    EXPECT_TRUE(entry["bytes"].is_number_integer());
    EXPECT_GT(entry["ns_per_byte"].get<double>(), 0);
    EXPECT_GT(entry["mb_per_s"].get<double>(), 0);
  }
}

}  // namespace
}  // namespace custos
