// File: custos/net/https_server.h
//
// HttpsServer: a thin HTTPS server over cpp-httplib (httplib::SSLServer)
// bound to 127.0.0.1, with mutual TLS through custos TLS contexts
// (tls_context.h: key-store keys, CRLs replaceable at run time) and the
// request rules of docs/api.md:
//   - bodies over max_body_bytes -> 413,
//   - a POST route takes only "application/json" -> 415 otherwise,
//   - a body that is not a JSON object -> 400,
//   - a device route without a verified device certificate -> 401,
//   - every error carries {"error": {"code": ..., "message": ...}}.
// Handlers run on the server's worker threads (several at once).
//
// HttpsClient: the matching client (one connection, keep-alive or not),
// with mutual TLS from key-store keys; for the agent, the simulator and
// tests.
#ifndef CUSTOS_NET_HTTPS_SERVER_H_
#define CUSTOS_NET_HTTPS_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/net/https_json.h"
#include "custos/net/tls_context.h"

namespace httplib {
class SSLServer;
class SSLClient;
struct Request;
}  // namespace httplib

namespace custos::net {

// Who may call a route.
enum class RouteAccess {
  kAnyone,  // any TLS client (operator routes add their token check)
  kDevice,  // only a client with a verified device certificate
};

// One request as a handler sees it. (nlohmann::json members throw only when
// out of memory, hence the NOLINT.)
struct HttpsRequest {  // NOLINT(bugprone-exception-escape)
  std::string method;
  std::string path;
  // The device id of the verified client certificate, if any.
  std::optional<std::string> device_id;
  // The parsed body of a POST route (an object); null for GET.
  nlohmann::json json;
  // The raw request (headers, query parameters, body).
  const httplib::Request* raw = nullptr;
  // The value of header `name`, or "" if absent.
  std::string Header(std::string_view name) const;
};

// What a handler answers.
struct HttpsResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";

  // `value` as compact JSON with `status`.
  static HttpsResponse Json(const nlohmann::json& value, int status = 200);
  // The error body for `status` (HttpStatusOf, ErrorCodeName, its message).
  static HttpsResponse Error(const Status& status);
};

using HttpsHandler = std::function<HttpsResponse(const HttpsRequest&)>;

struct HttpsServerOptions {
  // The server's certificate chain and key (see TlsServerOptions); client
  // certificates are asked for but optional at the TLS level, and device
  // routes require one.
  TlsServerOptions tls;
  // 0: any free port (see port()).
  int port = 0;
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
  // Seconds an idle keep-alive connection is kept.
  int read_timeout_seconds = 5;
};

class HttpsServer {
 public:
  // A server with `options` (not yet listening). InvalidArgument/Internal
  // if the TLS context cannot be built (see ConfigureServerContext).
  static StatusOr<std::unique_ptr<HttpsServer>> Create(HttpsServerOptions options);
  ~HttpsServer();  // Stop()s
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Registers a route (an exact path, or a regular expression as
  // cpp-httplib takes them). Register before Start.
  void Get(const std::string& path, RouteAccess access, HttpsHandler handler);
  // A POST route whose body must be an application/json object.
  void Post(const std::string& path, RouteAccess access, HttpsHandler handler);

  // Binds 127.0.0.1:port and serves on a background thread. Unavailable if
  // the port cannot be bound; FailedPrecondition if already started.
  Status Start();
  // The bound port (after Start).
  int port() const { return port_; }
  // Stops accepting, lets running requests finish, joins the thread.
  // Idempotent.
  void Stop();

 private:
  explicit HttpsServer(HttpsServerOptions options);
  void Handle(const httplib::Request& request, void* response, RouteAccess access, bool json,
              const HttpsHandler& handler) const;

  HttpsServerOptions options_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

struct HttpsClientOptions {
  int port = 0;                           // on 127.0.0.1
  std::string server_name = "localhost";  // checked against the server certificate
  std::shared_ptr<PeerVerifier> server_verifier;
  // Optional client identity (mutual TLS): chain and key (borrowed; the
  // client's SSL_CTX takes a reference).
  std::vector<identity::Certificate> chain;
  EVP_PKEY* key = nullptr;
  bool keep_alive = true;  // false: a new connection (and handshake) per request
  int timeout_seconds = 5;
};

// A response as the client sees it.
struct HttpsResult {
  int status = 0;
  std::string body;
  std::string content_type;
};

// Not thread-safe: one client per thread.
class HttpsClient {
 public:
  static StatusOr<std::unique_ptr<HttpsClient>> Create(const HttpsClientOptions& options);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Unavailable naming cpp-httplib's error when no response came (refused
  // connection, failed handshake, timeout); otherwise the response, whatever
  // its status.
  StatusOr<HttpsResult> Get(const std::string& path,
                            const std::map<std::string, std::string>& headers = {});
  StatusOr<HttpsResult> Post(const std::string& path, const std::string& body,
                             const std::string& content_type = "application/json",
                             const std::map<std::string, std::string>& headers = {});

 private:
  HttpsClient() = default;
  std::unique_ptr<httplib::SSLClient> client_;
};

}  // namespace custos::net

#endif  // CUSTOS_NET_HTTPS_SERVER_H_
