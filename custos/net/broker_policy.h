// File: custos/net/broker_policy.h
//
// The policy the custos mosquitto plug-in enforces, kept apart from the
// plug-in's mosquitto glue so that it can be tested on its own:
//   - the topic layout: a device publishes telemetry to
//     devices/<id>/telemetry and receives commands on devices/<id>/commands;
//   - the per-device ACL: a device may publish only to its own telemetry
//     topic and subscribe to / receive only its own commands topic; the
//     privileged identities (custosd) may read and write every topic;
//   - the revocation list: the serials of the PEM CRLs in a file, each CRL
//     accepted only if it is signed by a CA certificate of the broker's CA
//     file.
//
// This file depends on the C++ standard library and OpenSSL only (no custos
// libraries), because the plug-in is a shared object that mosquitto loads and
// the custos libraries are built as non-PIC static archives. Errors are
// therefore returned as message strings rather than custos::Status.
#ifndef CUSTOS_NET_BROKER_POLICY_H_
#define CUSTOS_NET_BROKER_POLICY_H_

#include <openssl/types.h>

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace custos::net {

// The first level of every device topic.
inline constexpr std::string_view kDeviceTopicRoot = "devices";

// "devices/<device_id>/telemetry": where a device publishes.
std::string DeviceTelemetryTopic(std::string_view device_id);

// "devices/<device_id>/commands": where a device receives commands.
std::string DeviceCommandsTopic(std::string_view device_id);

// True if `name` has the form of a custos device id: 1 to 64 characters from
// [A-Za-z0-9._-], not starting with '.' or '-' (the rule of
// identity::ValidateDeviceId, repeated here; net_mqtt_test checks that the two
// agree). Such a name can never contain an MQTT wildcard or level separator,
// so it is safe to splice into a topic.
bool IsDeviceIdentity(std::string_view name);

// What a client asks to do with a topic (mosquitto's MOSQ_ACL_* values).
enum class TopicAccess { kRead = 1, kWrite = 2, kSubscribe = 4, kUnsubscribe = 8 };

// The per-device ACL: true if the device `device_id` may perform `access` on
// `topic` (for kSubscribe, `topic` is the subscription filter, compared
// literally, so wildcards are refused). kUnsubscribe is always allowed.
// False if `device_id` is not a device identity.
bool DeviceMayAccess(std::string_view device_id, std::string_view topic, TopicAccess access);

// The revoked certificates of one or more CRLs.
class RevocationList {
 public:
  // Reads the PEM "X509 CRL" blocks in `crl_path` (at least one, at most
  // 1 MiB in all) and keeps each CRL's revoked serials, after checking that
  // the CRL is signed by a certificate of `ca_path` (PEM certificates) whose
  // subject is the CRL's issuer. Returns nullopt with `*error` naming the
  // problem (unreadable file, no CRL, bad PEM, unknown issuer, bad signature).
  static std::optional<RevocationList> Load(const std::string& crl_path, const std::string& ca_path,
                                            std::string* error);

  // True if `cert`'s (issuer, serial) is listed.
  bool IsRevoked(X509* cert) const;

  // True if `key` (RevocationKey of a certificate) is listed.
  bool IsRevokedKey(const std::string& key) const { return revoked_.count(key) > 0; }

  // The number of revoked entries.
  std::size_t size() const { return revoked_.size(); }

 private:
  // issuer name (DER, hex) + ":" + serial (lowercase hex).
  std::set<std::string> revoked_;
};

// The key RevocationList uses for `cert`: its issuer name and serial.
std::string RevocationKey(X509* cert);

}  // namespace custos::net

#endif  // CUSTOS_NET_BROKER_POLICY_H_
