// File: custos/net/tls_context.cpp
#include "custos/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

namespace custos::net {
namespace {

// TLS 1.2 suites: ECDHE with an AEAD only (the keys custos issues are ECDSA
// P-256 or Ed25519, both signing under the ECDSA suites).
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305";
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char kGroups[] = "X25519:P-256";
constexpr unsigned char kSessionIdContext[] = "custos";

std::string OpenSslReason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return std::string(": ") + buffer;
}

// The SSL_CTX ex_data slot that keeps a context's PeerVerifier alive.
void FreeVerifierSlot(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                      long /*argl*/, void* /*argp*/) {
  delete static_cast<std::shared_ptr<PeerVerifier>*>(ptr);
}

int VerifierIndex() {
  static const int index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr,
                                                   nullptr, &FreeVerifierSlot);
  return index;
}

int VerifyCallback(X509_STORE_CTX* store_ctx, void* arg) {
  return static_cast<const PeerVerifier*>(arg)->Verify(store_ctx);
}

Status InstallVerifier(SSL_CTX* ctx, std::shared_ptr<PeerVerifier> verifier) {
  const int index = VerifierIndex();
  if (index < 0) return InternalError("OpenSSL: no SSL_CTX ex_data index" + OpenSslReason());
  PeerVerifier* raw = verifier.get();
  auto* slot = new std::shared_ptr<PeerVerifier>(std::move(verifier));
  // A context configured twice drops its previous verifier.
  delete static_cast<std::shared_ptr<PeerVerifier>*>(SSL_CTX_get_ex_data(ctx, index));
  if (SSL_CTX_set_ex_data(ctx, index, slot) != 1) {
    delete slot;
    return InternalError("OpenSSL: SSL_CTX_set_ex_data failed" + OpenSslReason());
  }
  SSL_CTX_set_cert_verify_callback(ctx, &VerifyCallback, raw);
  return OkStatus();
}

Status ApplyCommon(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return InternalError("OpenSSL: cannot set TLS versions and cipher suites" + OpenSslReason());
  }
  // No renegotiation, no compression; no session resumption, so that
  // every connection presents and verifies certificates against the CRL
  // current at that moment.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return OkStatus();
}

Status UseChainAndKey(SSL_CTX* ctx, const std::vector<identity::Certificate>& chain,
                      EVP_PKEY* key) {
  if (chain.empty()) return InvalidArgumentError("TLS: the certificate chain is empty");
  if (key == nullptr) return InvalidArgumentError("TLS: no private key for the certificate");
  X509* leaf = chain[0].native();
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    return InternalError("OpenSSL: cannot use certificate '" + chain[0].subject_name() + "'" +
                         OpenSslReason());
  }
  SSL_CTX_clear_chain_certs(ctx);
  for (std::size_t i = 1; i < chain.size(); ++i) {
    X509* cert = chain[i].native();
    if (cert == nullptr || SSL_CTX_add1_chain_cert(ctx, cert) != 1) {
      return InternalError("OpenSSL: cannot add chain certificate '" + chain[i].subject_name() +
                           "'" + OpenSslReason());
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgumentError("TLS: the private key does not match certificate '" +
                                chain[0].subject_name() + "'" + OpenSslReason());
  }
  return OkStatus();
}

}  // namespace

struct PeerVerifier::Snapshot {
  STACK_OF(X509) * anchors = nullptr;
  STACK_OF(X509_CRL) * crls = nullptr;
  // The objects the stacks point into.
  std::vector<identity::Certificate> anchor_certs;
  std::vector<identity::Crl> crl_objects;

  Snapshot() = default;
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  ~Snapshot() {
    sk_X509_free(anchors);
    sk_X509_CRL_free(crls);
  }
};

StatusOr<std::shared_ptr<PeerVerifier>> PeerVerifier::Create(
    std::vector<identity::Certificate> anchors, std::vector<identity::Crl> crls) {
  if (anchors.empty()) return InvalidArgumentError("TLS: no trust anchors given");
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->anchors = sk_X509_new_null();
  if (snapshot->anchors == nullptr) return InternalError("OpenSSL: out of memory");
  for (const identity::Certificate& anchor : anchors) {
    if (!anchor.is_ca()) {
      return InvalidArgumentError("TLS: trust anchor '" + anchor.subject_name() +
                                  "' is not a CA certificate");
    }
    if (anchor.native() == nullptr || sk_X509_push(snapshot->anchors, anchor.native()) <= 0) {
      return InternalError("OpenSSL: cannot add trust anchor" + OpenSslReason());
    }
  }
  snapshot->anchor_certs = std::move(anchors);
  std::shared_ptr<PeerVerifier> verifier(new PeerVerifier);
  verifier->snapshot_ = std::move(snapshot);
  verifier->ReplaceCrls(std::move(crls));
  return verifier;
}

PeerVerifier::~PeerVerifier() = default;

void PeerVerifier::ReplaceCrls(std::vector<identity::Crl> crls) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto next = std::make_shared<Snapshot>();
  // The anchors are shared by reference counting of the X509 objects held in
  // anchor_certs (copies of Certificate share the parsed object).
  next->anchor_certs = snapshot_->anchor_certs;
  next->anchors = sk_X509_new_null();
  next->crls = sk_X509_CRL_new_null();
  if (next->anchors == nullptr || next->crls == nullptr) return;  // keep the old snapshot
  for (const identity::Certificate& anchor : next->anchor_certs) {
    if (sk_X509_push(next->anchors, anchor.native()) <= 0) return;
  }
  for (const identity::Crl& crl : crls) {
    if (sk_X509_CRL_push(next->crls, crl.native()) <= 0) return;
  }
  next->crl_objects = std::move(crls);
  snapshot_ = std::move(next);
}

int PeerVerifier::Verify(X509_STORE_CTX* store_ctx) const {
  std::shared_ptr<const Snapshot> snapshot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot = snapshot_;
  }
  X509_STORE_CTX_set0_trusted_stack(store_ctx, snapshot->anchors);
  if (!snapshot->crl_objects.empty()) {
    X509_STORE_CTX_set0_crls(store_ctx, snapshot->crls);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(store_ctx), X509_V_FLAG_CRL_CHECK);
  }
  int result = X509_verify_cert(store_ctx);
  // The stacks belong to the snapshot, which this frame may outlive.
  X509_STORE_CTX_set0_trusted_stack(store_ctx, nullptr);
  X509_STORE_CTX_set0_crls(store_ctx, nullptr);
  return result == 1 ? 1 : 0;
}

Status ConfigureServerContext(SSL_CTX* ctx, const TlsServerOptions& options) {
  if (ctx == nullptr) return InvalidArgumentError("TLS: null SSL_CTX");
  CUSTOS_RETURN_IF_ERROR(ApplyCommon(ctx));
  CUSTOS_RETURN_IF_ERROR(UseChainAndKey(ctx, options.chain, options.key));
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  if (options.client_verifier == nullptr) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return OkStatus();
  }
  CUSTOS_RETURN_IF_ERROR(InstallVerifier(ctx, options.client_verifier));
  int mode = SSL_VERIFY_PEER;
  if (options.require_client_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  return OkStatus();
}

StatusOr<SslCtxPtr> MakeServerContext(const TlsServerOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) return InternalError("OpenSSL: SSL_CTX_new failed" + OpenSslReason());
  CUSTOS_RETURN_IF_ERROR(ConfigureServerContext(ctx.get(), options));
  return ctx;
}

Status ConfigureClientContext(SSL_CTX* ctx, const TlsClientOptions& options) {
  if (ctx == nullptr) return InvalidArgumentError("TLS: null SSL_CTX");
  if (options.server_verifier == nullptr) {
    return InvalidArgumentError("TLS: a client needs trust anchors for the server");
  }
  if (options.server_name.empty()) return InvalidArgumentError("TLS: no server name to verify");
  CUSTOS_RETURN_IF_ERROR(ApplyCommon(ctx));
  if (!options.chain.empty() || options.key != nullptr) {
    CUSTOS_RETURN_IF_ERROR(UseChainAndKey(ctx, options.chain, options.key));
  }
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_host(param, options.server_name.c_str(), options.server_name.size()) !=
      1) {
    return InvalidArgumentError("TLS: bad server name '" + options.server_name + "'");
  }
  CUSTOS_RETURN_IF_ERROR(InstallVerifier(ctx, options.server_verifier));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return OkStatus();
}

StatusOr<SslCtxPtr> MakeClientContext(const TlsClientOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return InternalError("OpenSSL: SSL_CTX_new failed" + OpenSslReason());
  CUSTOS_RETURN_IF_ERROR(ConfigureClientContext(ctx.get(), options));
  return ctx;
}

StatusOr<identity::Certificate> PeerCertificate(const SSL* ssl) {
  if (ssl == nullptr) return NotFoundError("no TLS connection");
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return NotFoundError("the peer presented no certificate");
  const long result = SSL_get_verify_result(ssl);
  if (result != X509_V_OK) {
    return UnauthenticatedError(std::string("the peer certificate did not verify: ") +
                                X509_verify_cert_error_string(result));
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509(peer, &der);
  if (length <= 0) return InternalError("OpenSSL: cannot encode the peer certificate");
  StatusOr<identity::Certificate> cert = identity::Certificate::FromDer(
      std::span<const uint8_t>(der, static_cast<std::size_t>(length)));
  OPENSSL_free(der);
  return cert;
}

StatusOr<std::string> PeerDeviceId(const SSL* ssl) {
  CUSTOS_ASSIGN_OR_RETURN(identity::Certificate cert, PeerCertificate(ssl));
  if (cert.device_id().empty()) {
    return NotFoundError("the peer certificate '" + cert.subject_name() + "' names no device");
  }
  return cert.device_id();
}

}  // namespace custos::net
