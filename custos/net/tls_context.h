// File: custos/net/tls_context.h
//
// TLS contexts for custos endpoints: TLS 1.2 minimum (1.3 preferred), AEAD
// ECDHE cipher suites only (AES-GCM, ChaCha20-Poly1305), X25519 / P-256 key
// exchange, no renegotiation, no compression, no session tickets. Keys may
// be key-store keys (MakeKeyStorePrivateKey) or ordinary EVP_PKEYs.
//
// Peer certificates are verified by a PeerVerifier: trust anchors plus CRLs
// that can be replaced while the context is in use. Each handshake takes the
// verifier's current snapshot, so a replaced CRL takes effect for every new
// connection at once (existing connections are not affected).
//
// Process-wide state: one SSL_CTX ex_data index, allocated on first use.
#ifndef CUSTOS_NET_TLS_CONTEXT_H_
#define CUSTOS_NET_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/crl.h"
#include "custos/identity/x509_certificate.h"

namespace custos::net {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
// An owned SSL_CTX.
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// Trust anchors and the current CRLs for verifying a peer's certificate
// chain. Thread-safe: ReplaceCrls may run while handshakes verify.
class PeerVerifier {
 public:
  // `anchors`: the CA certificates to trust (at least one, each a CA).
  // `crls`: CRLs to check the peer's certificate against; when not empty,
  // a peer certificate whose issuer has no CRL here is refused (fail
  // closed). Each CRL must verify under one of the anchors or intermediates
  // the peer sends (OpenSSL checks its signature and validity period).
  static StatusOr<std::shared_ptr<PeerVerifier>> Create(std::vector<identity::Certificate> anchors,
                                                        std::vector<identity::Crl> crls = {});

  // Replaces the CRLs; every handshake that starts afterwards uses them.
  void ReplaceCrls(std::vector<identity::Crl> crls);

  // Verifies `store_ctx` (prepared by OpenSSL for a handshake) against the
  // current anchors and CRLs. Returns 1 if the chain verifies, 0 otherwise
  // (the X509_STORE_CTX error says why). For the TLS verify callback.
  int Verify(X509_STORE_CTX* store_ctx) const;

  ~PeerVerifier();
  PeerVerifier(const PeerVerifier&) = delete;
  PeerVerifier& operator=(const PeerVerifier&) = delete;

 private:
  struct Snapshot;
  PeerVerifier() = default;

  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
};

// What a TLS server presents and whom it accepts.
struct TlsServerOptions {
  // The server certificate first, then intermediates (at least one).
  std::vector<identity::Certificate> chain;
  // The private key of chain[0] (borrowed; the SSL_CTX takes a reference).
  EVP_PKEY* key = nullptr;
  // Verifies client certificates; null: no client certificate is asked for.
  std::shared_ptr<PeerVerifier> client_verifier;
  // With a client_verifier: refuse clients that send no certificate (false:
  // a client without a certificate connects, and has no peer identity).
  bool require_client_certificate = true;
};

// What a TLS client trusts and presents.
struct TlsClientOptions {
  // Verifies the server's chain (required).
  std::shared_ptr<PeerVerifier> server_verifier;
  // The name the server certificate must carry as a SAN DNS name (required).
  std::string server_name;
  // Optional client certificate chain (leaf first) and its key (borrowed).
  std::vector<identity::Certificate> chain;
  EVP_PKEY* key = nullptr;
};

// Applies `options` to `ctx` (a server context made by SSL_CTX_new, e.g.
// the one cpp-httplib creates). InvalidArgument for missing pieces or a key
// that does not match chain[0]; Internal for OpenSSL failures.
Status ConfigureServerContext(SSL_CTX* ctx, const TlsServerOptions& options);
// A new server context (TLS_server_method) configured by
// ConfigureServerContext.
StatusOr<SslCtxPtr> MakeServerContext(const TlsServerOptions& options);

// Applies `options` to a client context: peer verification is on (the
// handshake fails unless the server chain verifies and names server_name).
// InvalidArgument for missing pieces or a mismatched key.
Status ConfigureClientContext(SSL_CTX* ctx, const TlsClientOptions& options);
// A new client context (TLS_client_method) configured by
// ConfigureClientContext. Set the SNI with SSL_set_tlsext_host_name per SSL.
StatusOr<SslCtxPtr> MakeClientContext(const TlsClientOptions& options);

// The verified peer certificate of an established connection: NotFound if
// the peer sent none, Unauthenticated if it did not verify, InvalidArgument
// if it does not parse as a custos certificate.
StatusOr<identity::Certificate> PeerCertificate(const SSL* ssl);
// The device id (subject CN = SAN urn:custos:device:<id>) of the verified
// peer certificate; NotFound if there is no certificate or it names no
// device; errors as PeerCertificate.
StatusOr<std::string> PeerDeviceId(const SSL* ssl);

}  // namespace custos::net

#endif  // CUSTOS_NET_TLS_CONTEXT_H_
