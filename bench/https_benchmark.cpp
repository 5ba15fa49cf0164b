// HTTPS requests per second over mutual TLS on loopback: a new connection
// (full TLS 1.3 handshake, both sides signing through their key store) per
// request vs one keep-alive connection, with the server key in the in-memory
// software store or in a SoftHSM2 token (the client key is in a software
// store in both cases).
#include <benchmark/benchmark.h>

#include <csignal>
#include <memory>
#include <mutex>
#include <optional>

#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/net/https_server.h"
#include "custos/net/tls_key.h"
#include "custos/net/tls_test_util.h"

namespace custos::net {
namespace {

// A server with one device route, its PKI and a client identity.
struct Fixture {
  std::optional<keystore::SoftHsmTestToken> token;
  std::unique_ptr<keystore::KeyStore> server_store;
  std::unique_ptr<keystore::KeyStore> client_store;
  std::unique_ptr<testing::TestPki> pki;
  std::optional<identity::Certificate> device_cert;
  EvpPkeyPtr server_key;
  EvpPkeyPtr device_key;
  std::shared_ptr<PeerVerifier> verifier;
  std::unique_ptr<HttpsServer> server;
};

std::unique_ptr<Fixture> MakeFixture(bool softhsm) {
  auto f = std::make_unique<Fixture>();
  if (softhsm) {
    auto token = keystore::SoftHsmTestToken::Create("https-bench");
    if (!token.ok()) return nullptr;
    f->token.emplace(*std::move(token));
    auto store = keystore::OpenPkcs11KeyStore(f->token->uri());
    if (!store.ok()) return nullptr;
    f->server_store = *std::move(store);
  } else {
    f->server_store = keystore::NewInMemorySoftKeyStore();
  }
  f->client_store = keystore::NewInMemorySoftKeyStore();
  auto pki = testing::TestPki::Create(*f->client_store, "bench");
  if (!pki.ok()) return nullptr;
  f->pki = std::make_unique<testing::TestPki>(*std::move(pki));
  auto server_cert = f->pki->IssueServer(*f->server_store, "server", "localhost");
  auto device_cert = f->pki->IssueDevice(*f->client_store, "device", "dev-1");
  if (!server_cert.ok() || !device_cert.ok()) return nullptr;
  f->device_cert.emplace(*device_cert);
  auto server_key = MakeKeyStorePrivateKey(*f->server_store, "server");
  auto device_key = MakeKeyStorePrivateKey(*f->client_store, "device");
  auto verifier = PeerVerifier::Create({f->pki->root()});
  if (!server_key.ok() || !device_key.ok() || !verifier.ok()) return nullptr;
  f->server_key = *std::move(server_key);
  f->device_key = *std::move(device_key);
  f->verifier = *verifier;
  HttpsServerOptions options;
  options.tls.chain = {*server_cert};
  options.tls.key = f->server_key.get();
  options.tls.client_verifier = f->verifier;
  auto server = HttpsServer::Create(options);
  if (!server.ok()) return nullptr;
  f->server = *std::move(server);
  f->server->Post("/v1/echo", RouteAccess::kDevice, [](const HttpsRequest& request) {
    return HttpsResponse::Json({{"device", *request.device_id}, {"n", request.json["n"]}});
  });
  if (!f->server->Start().ok()) return nullptr;
  return f;
}

void BM_HttpsRequest(benchmark::State& state, bool softhsm, bool keep_alive) {
  signal(SIGPIPE, SIG_IGN);
  auto f = MakeFixture(softhsm);
  if (f == nullptr) {
    state.SkipWithError("fixture setup failed");
    return;
  }
  HttpsClientOptions options;
  options.port = f->server->port();
  options.server_verifier = f->verifier;
  options.chain = {*f->device_cert};
  options.key = f->device_key.get();
  options.keep_alive = keep_alive;
  auto client = HttpsClient::Create(options);
  if (!client.ok()) {
    state.SkipWithError("client setup failed");
    return;
  }
  for (auto _ : state) {
    auto result = (*client)->Post("/v1/echo", R"({"n":1})");
    if (!result.ok() || result->status != 200) {
      state.SkipWithError("request failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  client->reset();
  f->server->Stop();
}

BENCHMARK_CAPTURE(BM_HttpsRequest, soft/new_connection, false, false)->UseRealTime();
BENCHMARK_CAPTURE(BM_HttpsRequest, soft/keep_alive, false, true)->UseRealTime();
BENCHMARK_CAPTURE(BM_HttpsRequest, softhsm/new_connection, true, false)->UseRealTime();
BENCHMARK_CAPTURE(BM_HttpsRequest, softhsm/keep_alive, true, true)->UseRealTime();

}  // namespace
}  // namespace custos::net

BENCHMARK_MAIN();
