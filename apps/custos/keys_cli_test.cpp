// End-to-end tests of `custos keys`: the real binary against real stores.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "custos/core/hex.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/tamper_monitor.h"
#include "custos/keystore/tpm/swtpm_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/run_program.h"

namespace custos {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using RunResult = testing::ProgramResult;

// Runs the custos binary with `args` and an empty standard input.
RunResult RunCustos(const std::vector<std::string>& args) {
  return testing::RunProgram(CUSTOS_BINARY, args);
}

std::string Slurp(const std::string& path) { return testing::ReadFileOrEmpty(path); }

class KeysCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "custos-keys-cli-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `custos keys <args...>` and expects success.
  RunResult Keys(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), "keys");
    RunResult r = RunCustos(args);
    EXPECT_EQ(r.exit_code, expected_exit) << args[1] << ": " << r.err;
    return r;
  }

  std::string dir_;
};

TEST_F(KeysCliTest, HelpOnEverySubcommand) {
  for (const char* sub :
       {"info", "gen", "list", "sign", "verify", "export-public", "zeroize", "init-token"}) {
    RunResult r = RunCustos({"keys", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_THAT(r.out, HasSubstr("usage: custos keys " + std::string(sub))) << sub;
  }
  RunResult help = RunCustos({"keys", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("NO hardware protection"));
  EXPECT_EQ(RunCustos({"keys"}).exit_code, 2);
  EXPECT_EQ(RunCustos({"keys", "frobnicate"}).exit_code, 2);
  EXPECT_THAT(RunCustos({"--help"}).out, HasSubstr("keys"));
}

TEST_F(KeysCliTest, SoftStoreLifecycle) {
  const std::string store = "soft:" + dir_ + "/store";
  RunResult info = Keys({"info", "--store", store});
  EXPECT_THAT(info.out, HasSubstr("backend:    soft"));
  EXPECT_THAT(info.out, HasSubstr("NONE: software store"));
  nlohmann::json info_json = nlohmann::json::parse(Keys({"info", "--store", store, "--json"}).out);
  EXPECT_EQ(info_json["hardware_protected"], false);
  EXPECT_EQ(info_json["key_types"].size(), 6u);

  RunResult gen = Keys({"gen", "--store", store, "--type", "ecdsa-p256", "--label", "device"});
  EXPECT_THAT(gen.out, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  nlohmann::json gen_json = nlohmann::json::parse(
      Keys({"gen", "--store", store, "--type", "aes-128", "--label", "wrap", "--json"}).out);
  EXPECT_EQ(gen_json["aead"], "aes-128-gcm");
  EXPECT_FALSE(gen_json.contains("public_key_der"));
  Keys({"gen", "--store", store, "--type", "ed25519", "--label", "ed"});

  nlohmann::json list = nlohmann::json::parse(Keys({"list", "--store", store, "--json"}).out);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["label"], "device");
  EXPECT_EQ(list[0]["type"], "ecdsa-p256");
  EXPECT_EQ(list[0]["extractable"], false);

  // Sign, verify, and check the signature independently with OpenSSL.
  const std::string message_hex = HexEncode(AsBytes("firmware 1.2.3"));
  RunResult sig = Keys({"sign", "--store", store, "--label", "device", "--message", message_hex});
  const std::string sig_hex = sig.out.substr(0, sig.out.find('\n'));
  EXPECT_EQ(sig_hex.size(), 128u);
  EXPECT_THAT(Keys({"verify", "--store", store, "--label", "device", "--message", message_hex,
                    "--sig", sig_hex})
                  .out,
              HasSubstr("signature OK"));
  std::string bad_sig = sig_hex;
  bad_sig[5] = bad_sig[5] == '0' ? '1' : '0';
  RunResult bad = Keys(
      {"verify", "--store", store, "--label", "device", "--message", message_hex, "--sig", bad_sig},
      1);
  EXPECT_THAT(bad.err, HasSubstr("signature does not verify"));

  const std::string msg_file = dir_ + "/msg", sig_file = dir_ + "/sig", pem_file = dir_ + "/pub";
  { std::ofstream(msg_file) << "firmware 1.2.3"; }
  Keys({"sign", "--store", store, "--label", "ed", "--in", msg_file, "--out", sig_file});
  EXPECT_EQ(Slurp(sig_file).size(), 64u);
  Keys({"verify", "--store", store, "--label", "ed", "--in", msg_file, "--sig-file", sig_file});
  Keys({"export-public", "--store", store, "--label", "ed", "--out", pem_file});
  FILE* pem = fopen(pem_file.c_str(), "r");
  ASSERT_NE(pem, nullptr);
  EVP_PKEY* key = PEM_read_PUBKEY(pem, nullptr, nullptr, nullptr);
  fclose(pem);
  ASSERT_NE(key, nullptr);
  const std::string sig_bytes = Slurp(sig_file);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key), 1);
  EXPECT_EQ(
      EVP_DigestVerify(ctx, reinterpret_cast<const uint8_t*>(sig_bytes.data()), sig_bytes.size(),
                       reinterpret_cast<const uint8_t*>("firmware 1.2.3"), 14),
      1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);

  // Secret keys never leave the store.
  RunResult secret = Keys({"export-public", "--store", store, "--label", "wrap"}, 1);
  EXPECT_THAT(secret.err, HasSubstr("'wrap' (aes-128) is a secret key and cannot be exported"));
  EXPECT_THAT(secret.out, IsEmpty());
}

TEST_F(KeysCliTest, ClearErrors) {
  const std::string store = "soft:" + dir_ + "/store";
  Keys({"gen", "--store", store, "--type", "ecdsa-p256", "--label", "device"});
  RunResult unknown = Keys({"sign", "--store", store, "--label", "nope", "--message", "00"}, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no key 'nope'"));
  RunResult dup = Keys({"gen", "--store", store, "--type", "ed25519", "--label", "device"}, 1);
  EXPECT_THAT(dup.err, HasSubstr("exists already"));
  RunResult type = Keys({"gen", "--store", store, "--type", "rsa", "--label", "x"}, 2);
  EXPECT_THAT(type.err, HasSubstr("unknown key type 'rsa'"));
  RunResult scheme = Keys({"list", "--store", "nfs:/x"}, 2);
  EXPECT_THAT(scheme.err, HasSubstr("valid forms"));
  RunResult missing = Keys({"list"}, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing --store"));
  RunResult both = Keys({"sign", "--store", store, "--label", "device"}, 2);
  EXPECT_THAT(both.err, HasSubstr("--message HEX or --in FILE"));

  // A store with its own passphrase, opened with the wrong one.
  const std::string pass = dir_ + "/pass", wrong = dir_ + "/wrong";
  { std::ofstream(pass) << "right\n"; }
  { std::ofstream(wrong) << "wrong\n"; }
  Keys({"list", "--store", "soft:" + dir_ + "/p?passphrase-source=file:" + pass});
  RunResult bad_pass =
      Keys({"list", "--store", "soft:" + dir_ + "/p?passphrase-source=file:" + wrong}, 1);
  EXPECT_THAT(bad_pass.err, HasSubstr("wrong passphrase for software key store at " + dir_ + "/p"));
}

TEST_F(KeysCliTest, ZeroizeDestroysKeysAndRecordsTheEvent) {
  const std::string dir = dir_ + "/store";
  const std::string store = "soft:" + dir;
  Keys({"gen", "--store", store, "--type", "ecdsa-p256", "--label", "device"});
  Keys({"gen", "--store", store, "--type", "ascon-aead128", "--label", "telemetry"});
  EXPECT_FALSE(keystore::NeedsReenrollment(dir));
  RunResult zero = Keys({"zeroize", "--store", store, "--reason", "case opened", "--json"});
  nlohmann::json out = nlohmann::json::parse(zero.out);
  EXPECT_EQ(out["keys_destroyed"], 2);
  EXPECT_EQ(out["needs_reenrollment"], true);
  EXPECT_THAT(Keys({"list", "--store", store}).out, IsEmpty());
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/keys"));
  EXPECT_TRUE(keystore::NeedsReenrollment(dir));
  auto log = keystore::ReadTamperLog(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].reason, "case opened");
  EXPECT_EQ((*log)[0].keys_destroyed, 2u);

  // Elsewhere with --state.
  const std::string state = dir_ + "/state";
  RunResult other = Keys({"zeroize", "--store", store, "--state", state});
  EXPECT_THAT(other.out, HasSubstr("destroyed 0 key(s)"));
  EXPECT_TRUE(keystore::NeedsReenrollment(state));
  RunResult no_state = Keys({"zeroize", "--store", "soft:mem"}, 2);
  EXPECT_THAT(no_state.err, HasSubstr("--state"));
}

TEST_F(KeysCliTest, ZeroizeDestroysTheKeysOfAStoreThatCannotBeOpened) {
  // An attacker who damages one key file (or deletes store.key) must not be
  // able to stop the tamper response.
  const std::string dir = dir_ + "/store";
  const std::string store = "soft:" + dir;
  Keys({"gen", "--store", store, "--type", "ecdsa-p256", "--label", "device"});
  Keys({"gen", "--store", store, "--type", "aes-128", "--label", "data"});
  std::filesystem::path damaged;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/keys")) {
    damaged = entry.path();
  }
  ASSERT_FALSE(damaged.empty());
  { std::ofstream(damaged, std::ios::trunc) << "{\"not\": \"a key\"}"; }
  RunResult list = Keys({"list", "--store", store}, 1);
  EXPECT_THAT(list.err, HasSubstr("corrupt"));

  RunResult zero = Keys({"zeroize", "--store", store, "--json"});
  EXPECT_THAT(zero.err, HasSubstr("destroying its key files without opening it"));
  EXPECT_EQ(nlohmann::json::parse(zero.out)["keys_destroyed"], 2);
  EXPECT_TRUE(std::filesystem::is_empty(dir + "/keys"));
  EXPECT_TRUE(keystore::NeedsReenrollment(dir));
  auto log = keystore::ReadTamperLog(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].keys_destroyed, 2u);
  EXPECT_THAT(Keys({"list", "--store", store}).out, IsEmpty());

  // A malformed URI is still a usage error, not a zeroization.
  Keys({"zeroize", "--store", "soft:" + dir + "?bogus=1"}, 2);
}

// --- PKCS#11: a SoftHSM2 token made by `keys init-token` -------------------------

TEST_F(KeysCliTest, Pkcs11TokenLifecycleAndZeroize) {
  const std::string token_dir = dir_ + "/token";
  RunResult init = Keys({"init-token", "--dir", token_dir, "--label", "cli-test"});
  const std::string uri = init.out.substr(0, init.out.find('\n'));
  ASSERT_THAT(uri, HasSubstr("pkcs11:token=cli-test"));
  EXPECT_TRUE(std::filesystem::exists(token_dir + "/softhsm2.conf"));
  RunResult again = Keys({"init-token", "--dir", token_dir, "--label", "cli-test"}, 1);
  EXPECT_THAT(again.err, HasSubstr("exist"));

  nlohmann::json info = nlohmann::json::parse(Keys({"info", "--store", uri, "--json"}).out);
  EXPECT_EQ(info["backend"], "pkcs11");
  EXPECT_EQ(info["hardware_protected"], true);

  Keys({"gen", "--store", uri, "--type", "ecdsa-p256", "--label", "device"});
  Keys({"gen", "--store", uri, "--type", "aes-128", "--label", "wrap"});
  const std::string message_hex = HexEncode(AsBytes("boot measurement"));
  RunResult sig = Keys({"sign", "--store", uri, "--label", "device", "--message", message_hex});
  const std::string sig_hex = sig.out.substr(0, sig.out.find('\n'));
  EXPECT_EQ(sig_hex.size(), 128u);
  Keys({"verify", "--store", uri, "--label", "device", "--message", message_hex, "--sig", sig_hex});
  EXPECT_THAT(Keys({"export-public", "--store", uri, "--label", "device"}).out,
              HasSubstr("BEGIN PUBLIC KEY"));
  RunResult secret = Keys({"export-public", "--store", uri, "--label", "wrap"}, 1);
  EXPECT_THAT(secret.err, HasSubstr("'wrap'"));
  EXPECT_THAT(secret.err, HasSubstr("cannot be exported"));

  // Wrong PIN and missing token are named.
  const std::string wrong_pin = dir_ + "/wrong.pin";
  { std::ofstream(wrong_pin) << "00000000"; }
  std::string wrong_uri = uri;
  wrong_uri.replace(wrong_uri.find(token_dir + "/user.pin"), token_dir.size() + 9, wrong_pin);
  RunResult bad_pin = Keys({"list", "--store", wrong_uri}, 1);
  EXPECT_THAT(bad_pin.err, HasSubstr("wrong PIN"));
  std::string missing_uri = uri;
  missing_uri.replace(missing_uri.find("token=cli-test"), 14, "token=absent");
  RunResult missing = Keys({"list", "--store", missing_uri}, 1);
  EXPECT_THAT(missing.err, HasSubstr("'absent'"));

  // zeroize needs a state folder for a token, then empties the token.
  EXPECT_THAT(Keys({"zeroize", "--store", uri}, 2).err, HasSubstr("--state"));
  const std::string state = dir_ + "/state";
  RunResult zero = Keys({"zeroize", "--store", uri, "--state", state, "--json"});
  EXPECT_EQ(nlohmann::json::parse(zero.out)["keys_destroyed"], 2);
  EXPECT_THAT(Keys({"list", "--store", uri}).out, IsEmpty());
  EXPECT_THAT(Keys({"sign", "--store", uri, "--label", "device", "--message", message_hex}, 1).err,
              HasSubstr("'device'"));
  // Seen from this process too: the token holds no key.
  auto store = keystore::OpenKeyStore(uri);
  ASSERT_TRUE(store.ok()) << store.status();
  auto keys = (*store)->List();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, IsEmpty());
  EXPECT_TRUE(keystore::NeedsReenrollment(state));
  auto log = keystore::ReadTamperLog(state);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].backend, "pkcs11");
}

// --- TPM 2.0: a swtpm started by the test on loopback ----------------------------

TEST_F(KeysCliTest, TpmLifecycleAndZeroize) {
  auto swtpm = keystore::SwtpmProcess::Start();
  ASSERT_TRUE(swtpm.ok()) << swtpm.status();
  const std::string store = "tpm:" + (*swtpm)->Tcti();

  nlohmann::json info = nlohmann::json::parse(Keys({"info", "--store", store, "--json"}).out);
  EXPECT_EQ(info["backend"], "tpm");
  EXPECT_EQ(info["hardware_protected"], true);
  EXPECT_THAT(info["key_types"].dump(), Not(HasSubstr("ed25519")));

  Keys({"gen", "--store", store, "--type", "ecdsa-p256", "--label", "device"});
  Keys({"gen", "--store", store, "--type", "aes-128", "--label", "wrap"});
  RunResult no_ed = Keys({"gen", "--store", store, "--type", "ed25519", "--label", "ed"}, 1);
  EXPECT_THAT(no_ed.err, Not(IsEmpty()));
  const std::string message_hex = HexEncode(AsBytes("pcr policy"));
  RunResult sig = Keys({"sign", "--store", store, "--label", "device", "--message", message_hex});
  const std::string sig_hex = sig.out.substr(0, sig.out.find('\n'));
  EXPECT_EQ(sig_hex.size(), 128u);
  Keys({"verify", "--store", store, "--label", "device", "--message", message_hex, "--sig",
        sig_hex});
  RunResult secret = Keys({"export-public", "--store", store, "--label", "wrap"}, 1);
  EXPECT_THAT(secret.err, HasSubstr("'wrap'"));

  const std::string state = dir_ + "/state";
  RunResult zero = Keys({"zeroize", "--store", store, "--state", state, "--json"});
  EXPECT_EQ(nlohmann::json::parse(zero.out)["keys_destroyed"], 2);
  EXPECT_THAT(Keys({"list", "--store", store}).out, IsEmpty());
  EXPECT_TRUE(keystore::NeedsReenrollment(state));
  {
    // Seen from this process: no key and no custos persistent handle is left.
    auto tpm = keystore::OpenKeyStore(store);
    ASSERT_TRUE(tpm.ok()) << tpm.status();
    auto keys = (*tpm)->List();
    ASSERT_TRUE(keys.ok()) << keys.status();
    EXPECT_THAT(*keys, IsEmpty());
  }

  // An unreachable TPM is named.
  swtpm->reset();
  RunResult down = Keys({"list", "--store", store}, 1);
  EXPECT_THAT(down.err, HasSubstr("not reachable"));
}

}  // namespace
}  // namespace custos
