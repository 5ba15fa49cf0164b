// File: custos/net/https_server.cpp
#include "custos/net/https_server.h"

#include <httplib.h>

#include <chrono>
#include <utility>

namespace custos::net {
namespace {

constexpr char kJson[] = "application/json";

// True if `value` is application/json (parameters such as charset allowed).
bool IsJsonContentType(const std::string& value) {
  std::string type = value.substr(0, value.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == kJson;
}

void Write(httplib::Response& response, const HttpsResponse& answer) {
  response.status = answer.status;
  response.set_content(answer.body, answer.content_type.c_str());
}

}  // namespace

std::string HttpsRequest::Header(std::string_view name) const {
  return raw == nullptr ? std::string() : raw->get_header_value(std::string(name));
}

HttpsResponse HttpsResponse::Json(const nlohmann::json& value, int status) {
  return HttpsResponse{status, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       kJson};
}

HttpsResponse HttpsResponse::Error(const Status& status) {
  return HttpsResponse{HttpStatusOf(status.code()),
                       ErrorBody(ErrorCodeName(status.code()), std::string(status.message())),
                       kJson};
}

HttpsServer::HttpsServer(HttpsServerOptions options) : options_(std::move(options)) {}

HttpsServer::~HttpsServer() { Stop(); }

StatusOr<std::unique_ptr<HttpsServer>> HttpsServer::Create(HttpsServerOptions options) {
  std::unique_ptr<HttpsServer> server(new HttpsServer(std::move(options)));
  // Device routes need the certificate; operators connect without one.
  server->options_.tls.require_client_certificate = false;
  Status configured = OkStatus();
  server->server_ = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    configured = ConfigureServerContext(&ctx, server->options_.tls);
    return configured.ok();
  });
  CUSTOS_RETURN_IF_ERROR(configured);
  if (!server->server_->is_valid()) return InternalError("HTTPS: cannot create the TLS server");
  httplib::SSLServer& http = *server->server_;
  http.set_payload_max_length(server->options_.max_body_bytes);
  // Small request/response pairs: without TCP_NODELAY, Nagle and delayed
  // ACKs add about 40 ms to every exchange.
  http.set_tcp_nodelay(true);
  http.set_read_timeout(server->options_.read_timeout_seconds, 0);
  http.set_keep_alive_timeout(server->options_.read_timeout_seconds);
  http.set_error_handler([](const httplib::Request& /*request*/, httplib::Response& response) {
    if (!response.body.empty()) return;
    std::string code = "http_error";
    std::string message = "HTTP status " + std::to_string(response.status);
    if (response.status == 413) code = "payload_too_large";
    if (response.status == 404) code = "not_found";
    if (response.status == 400) code = "invalid_argument";
    response.set_content(ErrorBody(code, message), kJson);
  });
  http.set_exception_handler([](const httplib::Request& /*request*/, httplib::Response& response,
                                const std::exception_ptr& /*error*/) {
    Write(response, HttpsResponse::Error(InternalError("internal error")));
  });
  return server;
}

void HttpsServer::Handle(const httplib::Request& request, void* raw_response, RouteAccess access,
                         bool json, const HttpsHandler& handler) const {
  auto& response = *static_cast<httplib::Response*>(raw_response);
  HttpsRequest in;
  in.method = request.method;
  in.path = request.path;
  in.raw = &request;
  if (StatusOr<std::string> device = PeerDeviceId(request.ssl); device.ok()) {
    in.device_id = *std::move(device);
  }
  if (access == RouteAccess::kDevice && !in.device_id.has_value()) {
    Write(response, HttpsResponse::Error(
                        UnauthenticatedError("this route needs a verified device certificate")));
    return;
  }
  if (json) {
    if (!IsJsonContentType(request.get_header_value("Content-Type"))) {
      Write(response, HttpsResponse{415,
                                    ErrorBody("unsupported_media_type",
                                              "the request body must be application/json"),
                                    kJson});
      return;
    }
    if (request.body.size() > options_.max_body_bytes) {
      Write(response,
            HttpsResponse{413,
                          ErrorBody("payload_too_large",
                                    "the request body exceeds " +
                                        std::to_string(options_.max_body_bytes) + " bytes"),
                          kJson});
      return;
    }
    StatusOr<nlohmann::json> body = ParseJsonBody(request.body, options_.max_body_bytes);
    if (!body.ok()) {
      Write(response, HttpsResponse::Error(body.status()));
      return;
    }
    in.json = *std::move(body);
  }
  Write(response, handler(in));
}

void HttpsServer::Get(const std::string& path, RouteAccess access, HttpsHandler handler) {
  server_->Get(path, [this, access, handler = std::move(handler)](const httplib::Request& request,
                                                                  httplib::Response& response) {
    Handle(request, &response, access, false, handler);
  });
}

void HttpsServer::Post(const std::string& path, RouteAccess access, HttpsHandler handler) {
  server_->Post(path, [this, access, handler = std::move(handler)](const httplib::Request& request,
                                                                   httplib::Response& response) {
    Handle(request, &response, access, true, handler);
  });
}

Status HttpsServer::Start() {
  if (thread_.joinable()) return FailedPreconditionError("HTTPS server already started");
  const std::string host = "127.0.0.1";
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ <= 0) return UnavailableError("HTTPS: cannot bind a port on " + host);
  } else {
    if (!server_->bind_to_port(host, options_.port)) {
      return UnavailableError("HTTPS: cannot bind " + host + ":" + std::to_string(options_.port));
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the listen loop has marked itself
  // running, and the loop would then block in accept() for ever: return only
  // once it runs, so that a Stop() right after Start() always stops it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return UnavailableError("HTTPS: the listener did not start within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return OkStatus();
}

void HttpsServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

HttpsClient::~HttpsClient() = default;

StatusOr<std::unique_ptr<HttpsClient>> HttpsClient::Create(const HttpsClientOptions& options) {
  std::unique_ptr<HttpsClient> client(new HttpsClient);
  client->client_ = std::make_unique<httplib::SSLClient>("127.0.0.1", options.port);
  if (!client->client_->is_valid()) return InternalError("HTTPS: cannot create the TLS client");
  TlsClientOptions tls;
  tls.server_verifier = options.server_verifier;
  tls.server_name = options.server_name;
  tls.chain = options.chain;
  tls.key = options.key;
  CUSTOS_RETURN_IF_ERROR(ConfigureClientContext(client->client_->ssl_context(), tls));
  // Verification is done by the context (SSL_VERIFY_PEER, our verifier,
  // and the server name in its verify parameters), which fails the
  // handshake itself; cpp-httplib's own check would demand an IP SAN for
  // 127.0.0.1 and switch the SSL to SSL_VERIFY_NONE.
  client->client_->enable_server_certificate_verification(false);
  client->client_->set_keep_alive(options.keep_alive);
  client->client_->set_tcp_nodelay(true);
  client->client_->set_connection_timeout(options.timeout_seconds, 0);
  client->client_->set_read_timeout(options.timeout_seconds, 0);
  client->client_->set_write_timeout(options.timeout_seconds, 0);
  return client;
}

namespace {

StatusOr<HttpsResult> ToResult(const httplib::Result& result) {
  if (!result) {
    return UnavailableError("HTTPS request failed: " + httplib::to_string(result.error()));
  }
  return HttpsResult{result->status, result->body, result->get_header_value("Content-Type")};
}

httplib::Headers ToHeaders(const std::map<std::string, std::string>& headers) {
  return httplib::Headers(headers.begin(), headers.end());
}

}  // namespace

StatusOr<HttpsResult> HttpsClient::Get(const std::string& path,
                                       const std::map<std::string, std::string>& headers) {
  return ToResult(client_->Get(path, ToHeaders(headers)));
}

StatusOr<HttpsResult> HttpsClient::Post(const std::string& path, const std::string& body,
                                        const std::string& content_type,
                                        const std::map<std::string, std::string>& headers) {
  return ToResult(client_->Post(path, ToHeaders(headers), body, content_type));
}

}  // namespace custos::net
