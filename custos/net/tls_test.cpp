// Tests of custos/net TLS: handshakes over a loopback socket pair whose
// private keys stay in real key stores (in-memory software store, SoftHSM2).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/net/tls_context.h"
#include "custos/net/tls_key.h"
#include "custos/net/tls_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::net {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using keystore::KeyStore;
using keystore::KeyType;
using testing::TestPki;

struct HandshakeResult {
  bool client_ok = false;    // the client completed and got the server's reply
  bool server_ok = false;    // the server completed the handshake
  int version = 0;           // the negotiated protocol (client side)
  std::string peer_device;   // PeerDeviceId on the server, or its error
  std::string server_name;   // the server certificate's subject CN seen by the client
  std::string server_error;  // OpenSSL's errors when a side failed
  std::string client_error;
};

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text += std::string(buffer) + "\n";
  }
  return text;
}

// Runs a handshake between `server` and `client` over a socket pair, then
// one byte each way.
HandshakeResult Handshake(SSL_CTX* server, SSL_CTX* client) {
  HandshakeResult result;
  // A peer that aborts the handshake closes its end; writing to it must
  // fail with EPIPE rather than kill the test.
  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return result;
  SSL* s = SSL_new(server);
  SSL* c = SSL_new(client);
  SSL_set_fd(s, fds[0]);
  SSL_set_fd(c, fds[1]);
  SSL_set_tlsext_host_name(c, "localhost");
  std::thread server_thread([&] {
    if (SSL_accept(s) != 1) {
      result.server_error = OpenSslErrors();
    } else {
      result.server_ok = true;
      StatusOr<std::string> device = PeerDeviceId(s);
      result.peer_device = device.ok() ? *device : std::string(device.status().message());
      char byte = 0;
      if (SSL_read(s, &byte, 1) == 1) SSL_write(s, &byte, 1);
      SSL_shutdown(s);
    }
    shutdown(fds[0], SHUT_RDWR);
  });
  if (SSL_connect(c) != 1) {
    result.client_error = OpenSslErrors();
  } else {
    result.version = SSL_version(c);
    StatusOr<identity::Certificate> peer = PeerCertificate(c);
    if (peer.ok()) result.server_name = peer->subject_common_name();
    char byte = 'x';
    if (SSL_write(c, &byte, 1) == 1 && SSL_read(c, &byte, 1) == 1) result.client_ok = byte == 'x';
  }
  shutdown(fds[1], SHUT_RDWR);
  server_thread.join();
  SSL_free(s);
  SSL_free(c);
  close(fds[0]);
  close(fds[1]);
  return result;
}

// A PKI in `ca_store`, a server key/certificate in `server_store` and a
// device key/certificate in `device_store`, with TLS contexts for both ends.
struct Endpoints {
  std::unique_ptr<TestPki> pki;
  std::optional<identity::Certificate> server_cert;
  std::optional<identity::Certificate> device_cert;
  EvpPkeyPtr server_key;
  EvpPkeyPtr device_key;
  std::shared_ptr<PeerVerifier> client_verifier;  // the server's
  std::shared_ptr<PeerVerifier> server_verifier;  // the client's
  SslCtxPtr server_ctx;
  SslCtxPtr client_ctx;
};

StatusOr<Endpoints> MakeEndpoints(KeyStore& ca_store, KeyStore& server_store,
                                  KeyStore& device_store, KeyType type = KeyType::kEcdsaP256) {
  Endpoints e;
  CUSTOS_ASSIGN_OR_RETURN(TestPki pki, TestPki::Create(ca_store, "acme"));
  e.pki = std::make_unique<TestPki>(std::move(pki));
  CUSTOS_ASSIGN_OR_RETURN(e.server_cert,
                          e.pki->IssueServer(server_store, "server", "localhost", type));
  CUSTOS_ASSIGN_OR_RETURN(e.device_cert, e.pki->IssueDevice(device_store, "device", "dev-1", type));
  CUSTOS_ASSIGN_OR_RETURN(e.server_key, MakeKeyStorePrivateKey(server_store, "server"));
  CUSTOS_ASSIGN_OR_RETURN(e.device_key, MakeKeyStorePrivateKey(device_store, "device"));
  CUSTOS_ASSIGN_OR_RETURN(e.client_verifier, PeerVerifier::Create({e.pki->root()}));
  CUSTOS_ASSIGN_OR_RETURN(e.server_verifier, PeerVerifier::Create({e.pki->root()}));
  TlsServerOptions server;
  server.chain = {*e.server_cert};
  server.key = e.server_key.get();
  server.client_verifier = e.client_verifier;
  CUSTOS_ASSIGN_OR_RETURN(e.server_ctx, MakeServerContext(server));
  TlsClientOptions client;
  client.server_verifier = e.server_verifier;
  client.server_name = "localhost";
  client.chain = {*e.device_cert};
  client.key = e.device_key.get();
  CUSTOS_ASSIGN_OR_RETURN(e.client_ctx, MakeClientContext(client));
  return e;
}

TEST(TlsKeyStoreTest, MutualTls13WithInMemorySoftStoreKeys) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  EXPECT_TRUE(IsKeyStorePrivateKey(e->server_key.get()));
  HandshakeResult r = Handshake(e->server_ctx.get(), e->client_ctx.get());
  EXPECT_TRUE(r.server_ok) << r.server_error;
  EXPECT_TRUE(r.client_ok) << r.client_error;
  EXPECT_EQ(r.version, TLS1_3_VERSION);
  EXPECT_EQ(r.peer_device, "dev-1");
  EXPECT_EQ(r.server_name, "localhost");
}

TEST(TlsKeyStoreTest, SigningGoesThroughTheStore) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  ASSERT_TRUE(Handshake(e->server_ctx.get(), e->client_ctx.get()).client_ok);
  // With the server key gone from the store, the server cannot sign.
  ASSERT_THAT(store->Destroy("server"), IsOk());
  HandshakeResult r = Handshake(e->server_ctx.get(), e->client_ctx.get());
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);
}

TEST(TlsKeyStoreTest, Tls12WithStoreKeys) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  ASSERT_EQ(SSL_CTX_set_max_proto_version(e->client_ctx.get(), TLS1_2_VERSION), 1);
  HandshakeResult r = Handshake(e->server_ctx.get(), e->client_ctx.get());
  EXPECT_TRUE(r.client_ok);
  EXPECT_EQ(r.version, TLS1_2_VERSION);
  EXPECT_EQ(r.peer_device, "dev-1");
}

TEST(TlsKeyStoreTest, Ed25519Keys) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store, KeyType::kEd25519);
  ASSERT_THAT(e, IsOk());
  HandshakeResult r = Handshake(e->server_ctx.get(), e->client_ctx.get());
  EXPECT_TRUE(r.client_ok);
  EXPECT_EQ(r.version, TLS1_3_VERSION);
  EXPECT_EQ(r.peer_device, "dev-1");
}

TEST(TlsKeyStoreTest, MutualTlsWithSoftHsmKeys) {
  auto token = keystore::SoftHsmTestToken::Create("tls-test");
  ASSERT_THAT(token, IsOk());
  auto hsm = keystore::OpenPkcs11KeyStore(token->uri());
  ASSERT_THAT(hsm, IsOk());
  EXPECT_TRUE((*hsm)->HardwareProtected());
  {
    auto ca_store = keystore::NewInMemorySoftKeyStore();
    auto e = MakeEndpoints(*ca_store, **hsm, **hsm);
    ASSERT_THAT(e, IsOk());
    HandshakeResult r = Handshake(e->server_ctx.get(), e->client_ctx.get());
    EXPECT_TRUE(r.server_ok);
    EXPECT_TRUE(r.client_ok);
    EXPECT_EQ(r.version, TLS1_3_VERSION);
    EXPECT_EQ(r.peer_device, "dev-1");
  }
}

TEST(TlsKeyStoreTest, SharedStoreIsKeptAliveByTheKey) {
  std::shared_ptr<KeyStore> store = keystore::NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kEcdsaP256, "k").status(), IsOk());
  auto key = MakeKeyStorePrivateKey(store, "k");
  ASSERT_THAT(key, IsOk());
  std::weak_ptr<KeyStore> weak = store;
  store.reset();
  EXPECT_FALSE(weak.expired());
  // The key still signs through the store it keeps.
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key->get()), 1);
  const unsigned char message[] = "hello";
  unsigned char sig[80];
  size_t sig_len = sizeof(sig);
  ASSERT_EQ(EVP_DigestSign(md, sig, &sig_len, message, sizeof(message)), 1);
  EVP_MD_CTX_free(md);
  // An ordinary OpenSSL verification accepts the DER signature.
  md = EVP_MD_CTX_new();
  auto pub = weak.lock()->ExportPublicKey("k");
  ASSERT_THAT(pub, IsOk());
  const unsigned char* p = pub->data();
  EVP_PKEY* verify_key = d2i_PUBKEY(nullptr, &p, static_cast<long>(pub->size()));
  ASSERT_NE(verify_key, nullptr);
  ASSERT_EQ(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, verify_key), 1);
  EXPECT_EQ(EVP_DigestVerify(md, sig, sig_len, message, sizeof(message)), 1);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(verify_key);
  key->reset();
  EXPECT_TRUE(weak.expired());
}

TEST(TlsKeyStoreTest, KeyErrors) {
  auto store = keystore::NewInMemorySoftKeyStore();
  EXPECT_THAT(MakeKeyStorePrivateKey(*store, "absent"), StatusIs(StatusCode::kNotFound));
  ASSERT_THAT(store->Generate(KeyType::kEcdhP256, "ecdh").status(), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kAes128, "aes").status(), IsOk());
  EXPECT_THAT(MakeKeyStorePrivateKey(*store, "ecdh"), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(MakeKeyStorePrivateKey(*store, "aes"), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(MakeKeyStorePrivateKey(std::shared_ptr<KeyStore>(), "x"),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(TlsContextTest, KeyThatDoesNotMatchTheCertificateIsRefused) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  TlsServerOptions server;
  server.chain = {*e->server_cert};
  server.key = e->device_key.get();
  EXPECT_THAT(MakeServerContext(server), StatusIs(StatusCode::kInvalidArgument));
  server.key = nullptr;
  EXPECT_THAT(MakeServerContext(server), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(PeerVerifier::Create({}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(PeerVerifier::Create({*e->device_cert}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(TlsContextTest, ClientWithoutCertificateIsRefusedWhenRequired) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  TlsClientOptions anonymous;
  anonymous.server_verifier = e->server_verifier;
  anonymous.server_name = "localhost";
  auto client = MakeClientContext(anonymous);
  ASSERT_THAT(client, IsOk());
  HandshakeResult r = Handshake(e->server_ctx.get(), client->get());
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);

  // Optional client certificates: the client connects without an identity.
  TlsServerOptions optional;
  optional.chain = {*e->server_cert};
  optional.key = e->server_key.get();
  optional.client_verifier = e->client_verifier;
  optional.require_client_certificate = false;
  auto server = MakeServerContext(optional);
  ASSERT_THAT(server, IsOk());
  r = Handshake(server->get(), client->get());
  EXPECT_TRUE(r.client_ok);
  EXPECT_THAT(r.peer_device, ::testing::HasSubstr("no certificate"));
}

TEST(TlsContextTest, WrongServerNameOrUntrustedServerIsRefused) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  TlsClientOptions options;
  options.server_verifier = e->server_verifier;
  options.server_name = "other.example";
  options.chain = {*e->device_cert};
  options.key = e->device_key.get();
  auto client = MakeClientContext(options);
  ASSERT_THAT(client, IsOk());
  EXPECT_FALSE(Handshake(e->server_ctx.get(), client->get()).client_ok);

  // A client that trusts another root.
  auto other_store = keystore::NewInMemorySoftKeyStore();
  auto other = TestPki::Create(*other_store, "other");
  ASSERT_THAT(other, IsOk());
  auto other_verifier = PeerVerifier::Create({other->root()});
  ASSERT_THAT(other_verifier, IsOk());
  options.server_name = "localhost";
  options.server_verifier = *other_verifier;
  client = MakeClientContext(options);
  ASSERT_THAT(client, IsOk());
  EXPECT_FALSE(Handshake(e->server_ctx.get(), client->get()).client_ok);
}

TEST(TlsContextTest, RevokedClientIsRefusedOnceTheCrlIsReplaced) {
  auto store = keystore::NewInMemorySoftKeyStore();
  auto e = MakeEndpoints(*store, *store, *store);
  ASSERT_THAT(e, IsOk());
  auto empty_crl = e->pki->IssueCrl({}, 1);
  ASSERT_THAT(empty_crl, IsOk());
  e->client_verifier->ReplaceCrls({*empty_crl});
  EXPECT_TRUE(Handshake(e->server_ctx.get(), e->client_ctx.get()).client_ok);

  auto crl = e->pki->IssueCrl({*e->device_cert}, 2);
  ASSERT_THAT(crl, IsOk());
  e->client_verifier->ReplaceCrls({*crl});
  HandshakeResult r = Handshake(e->server_ctx.get(), e->client_ctx.get());
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);

  // Another device of the same CA still connects.
  auto other = e->pki->IssueDevice(*store, "device-2", "dev-2");
  ASSERT_THAT(other, IsOk());
  auto other_key = MakeKeyStorePrivateKey(*store, "device-2");
  ASSERT_THAT(other_key, IsOk());
  TlsClientOptions options;
  options.server_verifier = e->server_verifier;
  options.server_name = "localhost";
  options.chain = {*other};
  options.key = other_key->get();
  auto client = MakeClientContext(options);
  ASSERT_THAT(client, IsOk());
  r = Handshake(e->server_ctx.get(), client->get());
  EXPECT_TRUE(r.client_ok);
  EXPECT_EQ(r.peer_device, "dev-2");
}

}  // namespace
}  // namespace custos::net
