// File: custos/net/mqtt_npm_test.cpp
//
// The custos broker (mosquitto with the custos plug-in) against an
// independent MQTT client: the npm `mqtt` package (MQTT.js over Node's TLS),
// installed by scripts/install-deps.sh into testing/node. The script
// testing/node/mqtt_refusals.mjs connects without a certificate, with one
// from another CA, with a revoked one, and as a valid device that tries
// another device's topics; it checks each refusal and two positive controls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "custos/identity/x509_certificate.h"
#include "custos/net/broker_process.h"
#include "custos/net/mqtt_test_util.h"
#include "testing/run_program.h"
#include "testing/status_matchers.h"

namespace custos::net {
namespace {

using ::custos::net::testing::Credential;
using ::custos::net::testing::kPrivilegedIdentity;
using ::custos::net::testing::TempFolder;
using ::custos::net::testing::TestFleetPki;
using ::custos::testing::IsOk;

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Writes `credential` as DIR/NAME.pem and DIR/NAME.key and returns the JSON
// the script reads ({"id", "cert", "key"}).
nlohmann::json WriteCredential(const std::string& dir, const std::string& name,
                               const std::string& id, const Credential& credential) {
  const std::string cert = dir + "/" + name + ".pem";
  const std::string key = dir + "/" + name + ".key";
  WriteFile(cert, credential.cert.ToPem());
  const SecretBytes key_pem = credential.KeyPem();
  WriteFile(key, std::string_view(reinterpret_cast<const char*>(key_pem.data()), key_pem.size()));
  return {{"id", id}, {"cert", cert}, {"key", key}};
}

TEST(MqttNpmClientTest, BrokerRefusesWhatAnIndependentClientMustNotDo) {
  const std::string node_dir = CUSTOS_NODE_TESTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(node_dir + "/node_modules/mqtt/package.json"))
      << "the npm mqtt package is missing from " << node_dir
      << "/node_modules: run scripts/install-deps.sh";

  TempFolder temp;
  ASSERT_FALSE(temp.path().empty());
  auto pki = TestFleetPki::Create();
  ASSERT_THAT(pki, IsOk());
  auto broker = testing::StartTestBroker(**pki, temp.path());
  ASSERT_THAT(broker, IsOk());

  auto valid = (*pki)->Device("sensor-npm-1");
  auto revoked = (*pki)->Device("sensor-npm-2");
  auto observer = (*pki)->Client(kPrivilegedIdentity);
  auto rogue_pki = TestFleetPki::Create("Rogue CA");
  ASSERT_THAT(valid, IsOk());
  ASSERT_THAT(revoked, IsOk());
  ASSERT_THAT(observer, IsOk());
  ASSERT_THAT(rogue_pki, IsOk());
  auto foreign = (*rogue_pki)->Device("sensor-npm-3");
  ASSERT_THAT(foreign, IsOk());
  auto crl = (*pki)->CrlPem({&revoked->cert});
  ASSERT_THAT(crl, IsOk());
  ASSERT_THAT((*broker)->UpdateCrl(*crl), IsOk());

  const std::string ca_path = temp.path() + "/ca.pem";
  WriteFile(ca_path, (*pki)->ca().ToPem());
  nlohmann::json config = {
      {"host", (*broker)->host()},
      {"port", (*broker)->port()},
      {"ca", ca_path},
      {"servername", "localhost"},
      {"valid", WriteCredential(temp.path(), "valid", "sensor-npm-1", *valid)},
      {"revoked", WriteCredential(temp.path(), "revoked", "sensor-npm-2", *revoked)},
      {"foreign", WriteCredential(temp.path(), "foreign", "sensor-npm-3", *foreign)},
      {"observer", WriteCredential(temp.path(), "observer", "observer", *observer)},
      {"other_device", "sensor-npm-2"},
  };
  const std::string config_path = temp.path() + "/config.json";
  WriteFile(config_path, config.dump());

  // The plug-in polls the CRL file every 100 ms: let it load the new one.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const custos::testing::ProgramResult result =
      custos::testing::RunProgram("node", {node_dir + "/mqtt_refusals.mjs", config_path});
  std::cout << "mqtt_refusals.mjs: " << result.out << result.err;
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const nlohmann::json report = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << result.out;
  for (const char* check :
       {"no_certificate_refused", "foreign_ca_refused", "revoked_refused", "observer_connects",
        "valid_device_connects", "own_topic_delivered", "other_device_topic_refused",
        "other_device_commands_subscription_refused", "wildcard_subscription_refused"}) {
    ASSERT_TRUE(report["checks"].contains(check)) << check << " missing: " << result.out;
    EXPECT_TRUE(report["checks"][check]["passed"].get<bool>())
        << check << ": " << report["checks"][check]["detail"];
  }
}

}  // namespace
}  // namespace custos::net
