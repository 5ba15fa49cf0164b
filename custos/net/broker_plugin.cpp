// File: custos/net/broker_plugin.cpp
//
// The custos mosquitto plug-in (mosquitto 2.0 plug-in API version 5), loaded
// by the broker configuration MosquittoBroker writes:
//
//   plugin /path/to/custos_broker_plugin.so
//   plugin_opt_ca_file    DIR/ca.pem     CA certificates that sign the CRLs
//   plugin_opt_crl_file   DIR/crl.pem    the CRL file, watched for changes
//   plugin_opt_privileged custosd:...    privileged identities (comma list)
//   plugin_opt_owner_pid  PID            the process that started the broker
//
// MOSQ_EVT_BASIC_AUTH: the identity is the subject CN of the client
//   certificate TLS already verified (require_certificate); a revoked
//   certificate, a missing certificate, or a CN that is neither a device id
//   nor a privileged identity is refused (CONNACK "not authorized"). The
//   username the client sent is replaced by the CN.
// MOSQ_EVT_ACL_CHECK: privileged identities may do anything; a device only
//   what DeviceMayAccess allows; a client whose certificate has been revoked
//   since it connected may do nothing.
// MOSQ_EVT_TICK: at most every 100 ms, the CRL file's inode, size and
//   modification time are compared with the last load; on a change the file
//   is reloaded and every connected client whose certificate is now revoked is
//   kicked. A file that does not load (missing, malformed, bad signature) is
//   logged and the last good list stays in force.
//   With owner_pid set, the same poll checks that the broker's parent is still
//   that process; when it is gone (custosd crashed or was killed) the broker
//   stops itself (SIGTERM), so that no orphaned broker keeps the port and
//   keeps serving with a revocation list nobody updates any more.
// MOSQ_EVT_DISCONNECT: forgets the client.
//
// The plug-in's state lives in the userdata mosquitto hands back to every
// callback; mosquitto calls them all from its single main thread.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "custos/net/broker_policy.h"

namespace {

using custos::net::DeviceMayAccess;
using custos::net::IsDeviceIdentity;
using custos::net::RevocationList;
using custos::net::TopicAccess;

constexpr long kPollIntervalNs = 100L * 1000 * 1000;

struct ConnectedClient {
  std::string client_id;
  std::string revocation_key;
  bool revoked = false;
};

struct FileStamp {
  ino_t inode = 0;
  off_t size = -1;
  struct timespec mtime = {};
  bool operator==(const FileStamp& other) const {
    return inode == other.inode && size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
           mtime.tv_nsec == other.mtime.tv_nsec;
  }
};

struct PluginState {
  mosquitto_plugin_id_t* id = nullptr;
  std::string ca_file;
  std::string crl_file;
  std::vector<std::string> privileged;
  RevocationList revoked;
  FileStamp stamp;
  long last_poll_ns = 0;
  time_t last_poll_s = 0;
  std::map<const mosquitto*, ConnectedClient> clients;
  pid_t owner_pid = 0;  // 0: not watched
  bool stopping = false;
};

bool StatFile(const std::string& path, FileStamp* stamp) {
  struct stat st = {};
  if (stat(path.c_str(), &st) != 0) return false;
  stamp->inode = st.st_ino;
  stamp->size = st.st_size;
  stamp->mtime = st.st_mtim;
  return true;
}

// Loads the CRL file if it changed; returns true if a new list is in force.
bool Reload(PluginState* state, bool force) {
  FileStamp stamp;
  if (!StatFile(state->crl_file, &stamp)) {
    if (force) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "custos: cannot stat CRL file '%s'",
                           state->crl_file.c_str());
    }
    return false;
  }
  if (!force && stamp == state->stamp) return false;
  state->stamp = stamp;
  std::string error;
  std::optional<RevocationList> list =
      RevocationList::Load(state->crl_file, state->ca_file, &error);
  if (!list) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "custos: keeping the previous revocation list: %s",
                         error.c_str());
    return false;
  }
  state->revoked = std::move(*list);
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "custos: revocation list loaded, %zu revoked certificates",
                       state->revoked.size());
  return true;
}

bool IsPrivileged(const PluginState& state, const char* username) {
  if (username == nullptr) return false;
  for (const std::string& name : state.privileged) {
    if (name == username) return true;
  }
  return false;
}

std::string CommonName(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  const unsigned char* bytes = ASN1_STRING_get0_data(data);
  int length = ASN1_STRING_length(data);
  std::string cn(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
  if (cn.find('\0') != std::string::npos) return {};
  return cn;
}

int OnBasicAuth(int /*event*/, void* event_data, void* userdata) {
  auto* state = static_cast<PluginState*>(userdata);
  auto* auth = static_cast<mosquitto_evt_basic_auth*>(event_data);
  auto* cert = static_cast<X509*>(mosquitto_client_certificate(auth->client));
  const char* address = mosquitto_client_address(auth->client);
  if (cert == nullptr) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "custos: refused %s: no client certificate", address);
    return MOSQ_ERR_AUTH;
  }
  const std::string cn = CommonName(cert);
  const std::string key = custos::net::RevocationKey(cert);
  const bool revoked = state->revoked.IsRevoked(cert);
  X509_free(cert);
  if (!IsPrivileged(*state, cn.c_str()) && !IsDeviceIdentity(cn)) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "custos: refused %s: certificate CN is not an identity",
                         address);
    return MOSQ_ERR_AUTH;
  }
  if (revoked) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "custos: refused '%s' from %s: certificate revoked",
                         cn.c_str(), address);
    return MOSQ_ERR_AUTH;
  }
  if (mosquitto_set_username(auth->client, cn.c_str()) != MOSQ_ERR_SUCCESS) return MOSQ_ERR_AUTH;
  const char* client_id = mosquitto_client_id(auth->client);
  state->clients[auth->client] = ConnectedClient{client_id ? client_id : "", key, false};
  return MOSQ_ERR_SUCCESS;
}

int OnAclCheck(int /*event*/, void* event_data, void* userdata) {
  auto* state = static_cast<PluginState*>(userdata);
  auto* acl = static_cast<mosquitto_evt_acl_check*>(event_data);
  auto it = state->clients.find(acl->client);
  if (it == state->clients.end() || it->second.revoked) return MOSQ_ERR_ACL_DENIED;
  const char* username = mosquitto_client_username(acl->client);
  if (IsPrivileged(*state, username)) return MOSQ_ERR_SUCCESS;
  if (username == nullptr || acl->topic == nullptr) return MOSQ_ERR_ACL_DENIED;
  if (acl->access != MOSQ_ACL_READ && acl->access != MOSQ_ACL_WRITE &&
      acl->access != MOSQ_ACL_SUBSCRIBE && acl->access != MOSQ_ACL_UNSUBSCRIBE) {
    return MOSQ_ERR_ACL_DENIED;
  }
  return DeviceMayAccess(username, acl->topic, static_cast<TopicAccess>(acl->access))
             ? MOSQ_ERR_SUCCESS
             : MOSQ_ERR_ACL_DENIED;
}

int OnTick(int /*event*/, void* /*event_data*/, void* userdata) {
  auto* state = static_cast<PluginState*>(userdata);
  // mosquitto 2.0.11 passes a zeroed mosquitto_evt_tick; use our own clock.
  struct timespec now = {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long elapsed_ns =
      (now.tv_sec - state->last_poll_s) * 1000000000L + (now.tv_nsec - state->last_poll_ns);
  if (elapsed_ns >= 0 && elapsed_ns < kPollIntervalNs) return MOSQ_ERR_SUCCESS;
  state->last_poll_s = now.tv_sec;
  state->last_poll_ns = now.tv_nsec;
  if (state->owner_pid > 0 && !state->stopping && getppid() != state->owner_pid) {
    state->stopping = true;
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "custos: the process that started the broker (pid %d) is gone; stopping",
                         static_cast<int>(state->owner_pid));
    kill(getpid(), SIGTERM);
    return MOSQ_ERR_SUCCESS;
  }
  if (!Reload(state, false)) return MOSQ_ERR_SUCCESS;
  // Kicking ends the connection later in the loop; mark the client first so
  // that it can do nothing meanwhile.
  std::vector<std::string> to_kick;
  for (auto& [client, info] : state->clients) {
    (void)client;
    if (info.revoked) continue;
    if (state->revoked.IsRevokedKey(info.revocation_key)) {
      info.revoked = true;
      to_kick.push_back(info.client_id);
    }
  }
  for (const std::string& client_id : to_kick) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "custos: disconnecting '%s': certificate revoked",
                         client_id.c_str());
    mosquitto_kick_client_by_clientid(client_id.c_str(), false);
  }
  return MOSQ_ERR_SUCCESS;
}

int OnDisconnect(int /*event*/, void* event_data, void* userdata) {
  auto* state = static_cast<PluginState*>(userdata);
  auto* disconnect = static_cast<mosquitto_evt_disconnect*>(event_data);
  state->clients.erase(disconnect->client);
  return MOSQ_ERR_SUCCESS;
}

std::vector<std::string> SplitCommaList(const char* value) {
  std::vector<std::string> out;
  std::string current;
  for (const char* p = value; *p != '\0'; ++p) {
    if (*p == ',') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else if (*p != ' ') {
      current.push_back(*p);
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

}  // namespace

extern "C" {

int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
  for (int i = 0; i < supported_version_count; ++i) {
    if (supported_versions[i] == 5) return 5;
  }
  return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                          struct mosquitto_opt* options, int option_count) {
  auto* state = new PluginState;
  state->id = identifier;
  for (int i = 0; i < option_count; ++i) {
    const char* key = options[i].key;
    const char* value = options[i].value != nullptr ? options[i].value : "";
    if (std::strcmp(key, "ca_file") == 0) {
      state->ca_file = value;
    } else if (std::strcmp(key, "crl_file") == 0) {
      state->crl_file = value;
    } else if (std::strcmp(key, "privileged") == 0) {
      state->privileged = SplitCommaList(value);
    } else if (std::strcmp(key, "owner_pid") == 0) {
      state->owner_pid = static_cast<pid_t>(std::strtol(value, nullptr, 10));
    }
  }
  if (state->ca_file.empty() || state->crl_file.empty()) {
    mosquitto_log_printf(MOSQ_LOG_ERR,
                         "custos: plugin_opt_ca_file and plugin_opt_crl_file are required");
    delete state;
    return MOSQ_ERR_INVAL;
  }
  if (!Reload(state, true)) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "custos: no valid revocation list at start");
    delete state;
    return MOSQ_ERR_INVAL;
  }
  *userdata = state;
  int rc =
      mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, OnBasicAuth, nullptr, state);
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, OnAclCheck, nullptr, state);
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_callback_register(identifier, MOSQ_EVT_TICK, OnTick, nullptr, state);
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, OnDisconnect, nullptr, state);
  }
  return rc;
}

int mosquitto_plugin_cleanup(void* userdata, struct mosquitto_opt* /*options*/,
                             int /*option_count*/) {
  auto* state = static_cast<PluginState*>(userdata);
  if (state == nullptr) return MOSQ_ERR_SUCCESS;
  mosquitto_callback_unregister(state->id, MOSQ_EVT_BASIC_AUTH, OnBasicAuth, nullptr);
  mosquitto_callback_unregister(state->id, MOSQ_EVT_ACL_CHECK, OnAclCheck, nullptr);
  mosquitto_callback_unregister(state->id, MOSQ_EVT_TICK, OnTick, nullptr);
  mosquitto_callback_unregister(state->id, MOSQ_EVT_DISCONNECT, OnDisconnect, nullptr);
  delete state;
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
