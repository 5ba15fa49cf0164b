// End-to-end tests of `custos ca`, `custos device` and `custos manufacture`:
// the real binary, the CA keys in real SoftHSM2 tokens made by `ca init`,
// device keys in software stores, and OpenSSL's command line as a third-party
// check of the certificates and CRLs.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "custos/core/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/run_program.h"

namespace custos {
namespace {

using ::testing::HasSubstr;

using RunResult = testing::ProgramResult;
using testing::RunProgram;

std::string Slurp(const std::string& path) { return testing::ReadFileOrEmpty(path); }

void Spit(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

class IdentityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "custos-id-cli-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    // Under the sanitizers: SoftHSM 2.6.1 leaks an ASN1 string in each
    // C_SignInit with an Ed25519 key (not ours to fix; see
    // custos/keystore/pkcs11/softhsm_test_token.cpp). The custos processes
    // these tests start get the same suppression; the slow unwinder is
    // needed to see libsofthsm2 in the stack. Other builds ignore both.
    Spit(Path("lsan.supp"), "leak:libsofthsm2.so\n");
    ::setenv("LSAN_OPTIONS", ("suppressions=" + Path("lsan.supp")).c_str(), 1);
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(asan == nullptr ? "" : asan) +
                                (asan == nullptr || *asan == '\0' ? "" : ":") +
                                "fast_unwind_on_malloc=0";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `custos <args...>` and expects `expected_exit`.
  RunResult Custos(const std::vector<std::string>& args, int expected_exit = 0) {
    RunResult r = RunProgram(CUSTOS_BINARY, args);
    EXPECT_EQ(r.exit_code, expected_exit)
        << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << r.err;
    return r;
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // A CA in DIR/<name> with its keys in a new SoftHSM2 token.
  std::string InitCa(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"ca", "init", "--data", Path(name), "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    Custos(args);
    return Path(name);
  }

  std::string Token(const std::string& ca, const std::string& device_id) {
    return FirstLine(Custos({"device", "add", "--data", ca, "--id", device_id}).out);
  }

  // Enrolls `device_id` with a token, its key in soft:DIR/<id>-keys.
  std::string Enroll(const std::string& ca, const std::string& device_id,
                     const std::string& key_type = "ecdsa-p256") {
    const std::string device_dir = Path(device_id);
    Custos({"device", "enroll", "--dir", device_dir, "--id", device_id, "--store",
            "soft:" + Path(device_id + "-keys"), "--key-type", key_type, "--token",
            Token(ca, device_id), "--data", ca});
    return device_dir;
  }

  // `openssl verify` of a device certificate against roots and a chain.
  RunResult OpensslVerify(const std::string& roots, const std::string& chain,
                          const std::string& cert, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"verify", "-CAfile", roots, "-untrusted", chain};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(cert);
    return RunProgram("openssl", args);
  }

  std::string dir_;
};

TEST_F(IdentityCliTest, HelpOnEverySubcommand) {
  for (const char* sub : {"init", "rotate", "crl", "trust-manufacturer", "issue"}) {
    RunResult r = Custos({"ca", sub, "--help"});
    EXPECT_THAT(r.out, HasSubstr("custos ca " + std::string(sub))) << sub;
  }
  for (const char* sub : {"add", "tokens", "enroll", "install", "rotate", "revoke", "show"}) {
    RunResult r = Custos({"device", sub, "--help"});
    EXPECT_THAT(r.out, HasSubstr("custos device " + std::string(sub))) << sub;
  }
  EXPECT_THAT(Custos({"manufacture", "--help"}).out, HasSubstr("--manufacturer-ca"));
  EXPECT_THAT(Custos({"ca", "init"}, 2).err, HasSubstr("missing --data"));
  EXPECT_THAT(Custos({"ca", "frobnicate"}, 2).err, HasSubstr("unknown subcommand"));
}

TEST_F(IdentityCliTest, InitMakesASoftHsmTokenAndRefusesASecondCa) {
  const std::string ca = Path("fleet");
  RunResult init = Custos({"ca", "init", "--data", ca, "--name", "Acme Fleet"});
  EXPECT_THAT(init.out, HasSubstr("Created SoftHSM2 token"));
  EXPECT_TRUE(std::filesystem::exists(ca + "/token/softhsm2.conf"));
  EXPECT_TRUE(std::filesystem::exists(ca + "/roots.pem"));
  // The CA's own certificates pass OpenSSL's checks.
  EXPECT_EQ(OpensslVerify(ca + "/roots.pem", ca + "/roots.pem", ca + "/chain.pem").exit_code, 0);
  const nlohmann::json doc = nlohmann::json::parse(Slurp(ca + "/ca.json"));
  EXPECT_EQ(doc["roots"][0]["key_type"], "ecdsa-p256");
  EXPECT_THAT(doc["store"].get<std::string>(), HasSubstr("pkcs11:token=custos-ca"));
  EXPECT_THAT(Custos({"ca", "init", "--data", ca}, 1).err, HasSubstr("already exists"));
  EXPECT_THAT(Custos({"ca", "init", "--data", Path("x"), "--key-type", "rsa"}, 2).err,
              HasSubstr("--key-type"));
  EXPECT_FALSE(std::filesystem::exists(Path("x")));
}

TEST_F(IdentityCliTest, WrongPinAndMissingTokenAreClearErrorsAndWriteNothing) {
  const std::string ca = InitCa("fleet");
  const std::string uri = nlohmann::json::parse(Slurp(ca + "/ca.json"))["store"];
  // A second CA on the same token with a wrong PIN, then a missing token.
  Spit(Path("wrong.pin"), "123456");
  std::string wrong_pin = uri;
  wrong_pin.replace(
      wrong_pin.find("pin-source=file:") + 16,
      wrong_pin.find("&", wrong_pin.find("pin-source")) - (wrong_pin.find("pin-source=file:") + 16),
      Path("wrong.pin"));
  RunResult pin = Custos({"ca", "init", "--data", Path("other"), "--store", wrong_pin}, 1);
  EXPECT_THAT(pin.err, HasSubstr("PIN"));
  EXPECT_FALSE(std::filesystem::exists(Path("other")));
  std::string missing = uri;
  missing.replace(missing.find("custos-ca"), 9, "no-such-token");
  RunResult token = Custos({"ca", "init", "--data", Path("other"), "--store", missing}, 1);
  EXPECT_THAT(token.err, HasSubstr("no-such-token"));
  EXPECT_FALSE(std::filesystem::exists(Path("other")));
  // The existing CA, its PIN file changed: every command says why.
  Spit(ca + "/token/user.pin", "000000");
  RunResult add = Custos({"device", "add", "--data", ca, "--id", "dev-1"}, 1);
  EXPECT_THAT(add.err, HasSubstr("PIN"));
  EXPECT_EQ(add.out, "");
}

TEST_F(IdentityCliTest, TokenEnrollmentAndAReusedToken) {
  const std::string ca = InitCa("fleet");
  const std::string token = Token(ca, "dev-1");
  EXPECT_THAT(token, ::testing::StartsWith("cet1-"));
  // Only the hash is stored.
  EXPECT_EQ(Slurp(ca + "/registry.jsonl").find(token), std::string::npos);
  const std::string device = Path("dev-1");
  RunResult enroll =
      Custos({"device", "enroll", "--dir", device, "--id", "dev-1", "--store",
              "soft:" + Path("dev-1-keys"), "--token", token, "--data", ca, "--json"});
  const nlohmann::json out = nlohmann::json::parse(enroll.out);
  EXPECT_EQ(out["device_id"], "dev-1");
  EXPECT_EQ(OpensslVerify(ca + "/roots.pem", ca + "/chain.pem", device + "/cert.pem",
                          {"-purpose", "sslclient"})
                .exit_code,
            0);
  RunResult text = RunProgram("openssl", {"x509", "-in", device + "/cert.pem", "-noout", "-text"});
  EXPECT_THAT(text.out, HasSubstr("URI:urn:custos:device:dev-1"));
  EXPECT_THAT(text.out, HasSubstr("CN = dev-1"));

  // The same token again, for another device: refused, nothing written.
  RunResult again = Custos({"device", "enroll", "--dir", Path("dev-2"), "--id", "dev-2", "--store",
                            "soft:" + Path("dev-2-keys"), "--token", token, "--data", ca},
                           1);
  EXPECT_THAT(again.err, HasSubstr("already used"));
  EXPECT_FALSE(std::filesystem::exists(Path("dev-2")));
  EXPECT_EQ(Custos({"keys", "list", "--store", "soft:" + Path("dev-2-keys")}).out, "");
  EXPECT_THAT(Custos({"device", "show", "--data", ca, "--id", "dev-2"}, 1).err,
              HasSubstr("never issued"));
  const nlohmann::json show = nlohmann::json::parse(
      Custos({"device", "show", "--data", ca, "--id", "dev-1", "--json"}).out);
  EXPECT_EQ(show["active_serial"], out["serial"]);
  EXPECT_EQ(show["certificates"][0]["method"], "token");

  RunResult many = Custos({"device", "tokens", "--data", ca, "--count", "5", "--json"});
  EXPECT_EQ(nlohmann::json::parse(many.out)["tokens"].size(), 5u);
  EXPECT_THAT(Custos({"device", "tokens", "--data", ca, "--count", "0"}, 2).err,
              HasSubstr("--count"));
}

TEST_F(IdentityCliTest, ReEnrollsWithANewKeyAfterATamperResponse) {
  const std::string ca = InitCa("fleet");
  const std::string device = Enroll(ca, "dev-1");
  const std::string first = Slurp(device + "/cert.pem");
  const std::string keys = Path("dev-1-keys");
  Custos({"keys", "zeroize", "--store", "soft:" + keys});
  EXPECT_TRUE(std::filesystem::exists(keys + "/needs-reenrollment"));
  // Without its key the device cannot rotate; a new token enrolls it again.
  EXPECT_EQ(Custos({"device", "rotate", "--dir", device, "--data", ca}, 1).exit_code, 1);
  Custos({"device", "enroll", "--dir", device, "--token", Token(ca, "dev-1"), "--data", ca});
  EXPECT_NE(Slurp(device + "/cert.pem"), first);
  EXPECT_FALSE(std::filesystem::exists(keys + "/needs-reenrollment"));
  EXPECT_THAT(Custos({"keys", "list", "--store", "soft:" + keys}).out,
              HasSubstr("custos-device-dev-1-g2"));
}

TEST_F(IdentityCliTest, AnExpiredTokenIsRefused) {
  const std::string ca = InitCa("fleet");
  const std::string token =
      FirstLine(Custos({"device", "add", "--data", ca, "--id", "dev-1", "--ttl-seconds", "1"}).out);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  RunResult r = Custos({"device", "enroll", "--dir", Path("dev-1"), "--id", "dev-1", "--store",
                        "soft:" + Path("keys"), "--token", token, "--data", ca},
                       1);
  EXPECT_THAT(r.err, HasSubstr("expired"));
  EXPECT_FALSE(std::filesystem::exists(Path("dev-1")));
}

TEST_F(IdentityCliTest, ATamperedCsrIsRefusedThroughRequestFiles) {
  const std::string ca = InitCa("fleet");
  const std::string device = Path("dev-1");
  Custos({"device", "enroll", "--dir", device, "--id", "dev-1", "--store", "soft:" + Path("keys"),
          "--token", Token(ca, "dev-1"), "--request-out", Path("req.json")});
  nlohmann::json request = nlohmann::json::parse(Slurp(Path("req.json")));
  auto csr = Base64Decode(request["csr"].get<std::string>());
  ASSERT_TRUE(csr.ok());
  (*csr)[csr->size() - 3] ^= 0x01;  // inside the signature
  nlohmann::json tampered = request;
  tampered["csr"] = Base64Encode(*csr);
  Spit(Path("bad.json"), tampered.dump());
  RunResult bad = Custos(
      {"ca", "issue", "--data", ca, "--request", Path("bad.json"), "--out", Path("resp.json")}, 1);
  EXPECT_THAT(bad.err, HasSubstr("signature"));
  EXPECT_FALSE(std::filesystem::exists(Path("resp.json")));
  Spit(Path("garbage.json"), "{\"type\":\"custos.enrollment.request\"");
  EXPECT_THAT(Custos({"ca", "issue", "--data", ca, "--request", Path("garbage.json")}, 2).err,
              HasSubstr("not valid JSON"));
  // The untouched request still works: the token was not spent.
  Custos({"ca", "issue", "--data", ca, "--request", Path("req.json"), "--out", Path("resp.json")});
  Custos({"device", "install", "--dir", device, "--response", Path("resp.json")});
  EXPECT_EQ(OpensslVerify(ca + "/roots.pem", ca + "/chain.pem", device + "/cert.pem").exit_code, 0);
}

TEST_F(IdentityCliTest, RotationRevocationAndCrls) {
  const std::string ca = InitCa("fleet");
  const std::string device = Enroll(ca, "dev-1");
  const std::string old_cert = Slurp(device + "/cert.pem");
  Custos({"device", "rotate", "--dir", device, "--key-type", "ed25519", "--data", ca});
  EXPECT_NE(Slurp(device + "/cert.pem"), old_cert);
  RunResult text = RunProgram("openssl", {"x509", "-in", device + "/cert.pem", "-noout", "-text"});
  EXPECT_THAT(text.out, HasSubstr("ED25519"));
  // The old key is gone from the device's store.
  RunResult keys = Custos({"keys", "list", "--store", "soft:" + Path("dev-1-keys")});
  EXPECT_THAT(keys.out, HasSubstr("custos-device-dev-1-g2"));
  EXPECT_THAT(keys.out, ::testing::Not(HasSubstr("-g1")));
  nlohmann::json show = nlohmann::json::parse(
      Custos({"device", "show", "--data", ca, "--id", "dev-1", "--json"}).out);
  ASSERT_EQ(show["certificates"].size(), 2u);
  EXPECT_THAT(show["certificates"][0]["state"].get<std::string>(), HasSubstr("superseded"));
  EXPECT_EQ(show["certificates"][1]["replaces"], show["certificates"][0]["serial"]);

  Custos({"device", "revoke", "--data", ca, "--id", "dev-1", "--reason", "key-compromise"});
  show = nlohmann::json::parse(
      Custos({"device", "show", "--data", ca, "--id", "dev-1", "--json"}).out);
  EXPECT_EQ(show["active_serial"], "");
  EXPECT_EQ(show["certificates"][1]["state"], "revoked");
  Custos({"ca", "crl", "--data", ca, "--out", Path("crl.pem")});
  RunResult crl = RunProgram("openssl", {"crl", "-in", Path("crl.pem"), "-noout", "-text"});
  EXPECT_THAT(crl.out, HasSubstr("Key Compromise"));
  // OpenSSL, given the CRL, refuses the revoked certificate.
  Spit(Path("roots+crl.pem"), Slurp(ca + "/roots.pem") + Slurp(Path("crl.pem")));
  RunResult verify =
      OpensslVerify(Path("roots+crl.pem"), ca + "/chain.pem", device + "/cert.pem", {"-crl_check"});
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.out + verify.err, HasSubstr("revoked"));
  // A revoked device cannot rotate.
  EXPECT_THAT(Custos({"device", "rotate", "--dir", device, "--data", ca}, 1).err,
              HasSubstr("revoked"));
}

TEST_F(IdentityCliTest, ACertificateFromAnUnknownCaIsRefused) {
  const std::string ca = InitCa("fleet");
  const std::string other = Path("other");
  // Another CA in a software store (one SoftHSM2 configuration per process).
  Custos({"ca", "init", "--data", other, "--store", "soft:" + Path("other-keys")});
  const std::string device = Enroll(other, "dev-1");
  RunResult r = Custos({"device", "rotate", "--dir", device, "--data", ca}, 1);
  EXPECT_THAT(r.err, HasSubstr("not trusted"));
  EXPECT_NE(OpensslVerify(ca + "/roots.pem", ca + "/chain.pem", device + "/cert.pem").exit_code, 0);
}

TEST_F(IdentityCliTest, ReKeyedCaIsTrustedThroughCrossCertificates) {
  const std::string ca = InitCa("fleet");
  const std::string device = Enroll(ca, "dev-1");
  const std::string old_roots = Slurp(ca + "/roots.pem");
  Spit(Path("old-roots.pem"), old_roots);
  RunResult rotated = Custos({"ca", "rotate", "--data", ca, "--root", "--key-type", "ed25519"});
  EXPECT_THAT(rotated.out, HasSubstr("cross-signed"));
  // The device trusts only the old root, and accepts the new CA's certificate.
  Custos({"device", "rotate", "--dir", device, "--data", ca});
  RunResult text =
      RunProgram("openssl", {"x509", "-in", device + "/cert.pem", "-noout", "-issuer"});
  EXPECT_THAT(text.out, HasSubstr("Issuing CA G2"));
  EXPECT_EQ(OpensslVerify(Path("old-roots.pem"), ca + "/chain.pem", device + "/cert.pem").exit_code,
            0);
  Custos({"ca", "rotate", "--data", ca});
  Custos({"device", "rotate", "--dir", device, "--data", ca});
  EXPECT_EQ(OpensslVerify(Path("old-roots.pem"), ca + "/chain.pem", device + "/cert.pem").exit_code,
            0);
}

TEST_F(IdentityCliTest, ZeroTouchEnrollmentOfAManufacturedDevice) {
  // The manufacturer's CA keys in a software store, the fleet's in SoftHSM2:
  // `manufacture` and `device enroll` each open one of them.
  const std::string maker = Path("maker");
  Custos({"ca", "init", "--data", maker, "--name", "Acme Manufacturing", "--store",
          "soft:" + Path("maker-keys")});
  const std::string fleet = InitCa("fleet", {"--key-type", "ed25519"});
  const std::string device = Path("dev-7");
  Custos({"manufacture", "--manufacturer-ca", maker, "--store", "soft:" + Path("dev-7-keys"),
          "--device-id", "dev-7", "--key-type", "ecdsa-p256", "--out", device});
  EXPECT_EQ(
      OpensslVerify(maker + "/roots.pem", maker + "/chain.pem", device + "/birth.pem").exit_code,
      0);
  EXPECT_THAT(Custos({"manufacture", "--manufacturer-ca", maker, "--store",
                      "soft:" + Path("dev-7-keys"), "--device-id", "dev-7", "--out", device},
                     1)
                  .err,
              HasSubstr("already holds a device"));
  EXPECT_THAT(Custos({"device", "enroll", "--dir", device, "--data", fleet}, 1).err,
              HasSubstr("trusts no manufacturer"));
  Custos({"ca", "trust-manufacturer", "--data", fleet, "--root", maker + "/roots.pem"});
  Custos({"device", "enroll", "--dir", device, "--data", fleet});
  // A mixed fleet: an ECDSA device key certified by an Ed25519 CA.
  RunResult text = RunProgram("openssl", {"x509", "-in", device + "/cert.pem", "-noout", "-text"});
  EXPECT_THAT(text.out, HasSubstr("Signature Algorithm: ED25519"));
  EXPECT_THAT(text.out, HasSubstr("prime256v1"));
  const nlohmann::json show = nlohmann::json::parse(
      Custos({"device", "show", "--data", fleet, "--id", "dev-7", "--json"}).out);
  EXPECT_EQ(show["certificates"][0]["method"], "birth-certificate");
  EXPECT_EQ(show["certificates"][0]["issuer_key_type"], "ed25519");
  EXPECT_EQ(show["certificates"][0]["key_type"], "ecdsa-p256");
}

}  // namespace
}  // namespace custos
