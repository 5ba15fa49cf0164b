// File: custos/net/tls_key.cpp
//
// The "custos-keystore" OpenSSL provider behind MakeKeyStorePrivateKey.
//
// Key manager ("EC", "ED25519"): a key is a KeyData holding a public key
// (an ordinary EVP_PKEY of the default library context, used for every
// public-key question: parameters, size, comparison, export) and, for keys
// made by MakeKeyStorePrivateKey, a StoreKey naming the key in its store.
// Export never includes a private key, so OpenSSL cannot move such a key to
// the default provider; it therefore signs with this provider's signature
// implementation ("ECDSA", "ED25519"), which collects the whole message and
// calls KeyStore::Sign on it.
//
// The provider lives in a private OSSL_LIB_CTX: fetches in the default
// context (TLS's ephemeral keys, certificate checks) never see it.
#include "custos/net/tls_key.h"

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace custos::net {
namespace {

using keystore::KeyType;

constexpr char kProviderName[] = "custos-keystore";
constexpr char kProviderProperties[] = "provider=custos-keystore";
// The import parameter carrying a `const std::shared_ptr<StoreKey>*`. Only
// MakeKeyStorePrivateKey passes it, and only into the private library
// context.
constexpr char kStoreKeyParam[] = "custos-store-key";
// The size of that parameter: one object pointer.
constexpr std::size_t kHolderBytes = sizeof(const void*);
// The largest DER ECDSA-Sig-Value for P-256.
constexpr std::size_t kMaxEcdsaDerBytes = 72;
constexpr std::size_t kEd25519SignatureBytes = 64;
// A bound on a message to sign (TLS signs far less).
constexpr std::size_t kMaxSignedMessageBytes = 1 << 20;

// A key in a store, shared by every KeyData made from it.
struct StoreKey {
  std::shared_ptr<keystore::KeyStore> owner;  // null when borrowed
  keystore::KeyStore* store = nullptr;
  std::string label;
  KeyType type = KeyType::kEcdsaP256;
  std::shared_ptr<std::mutex> mutex;
  std::vector<uint8_t> public_key_der;  // SubjectPublicKeyInfo

  StatusOr<std::vector<uint8_t>> Sign(std::span<const uint8_t> message) const {
    std::lock_guard<std::mutex> lock(*mutex);
    return store->Sign(label, message);
  }
};

struct KeyData {
  bool ed25519 = false;
  std::shared_ptr<const StoreKey> signer;  // null for a public-only key
  EVP_PKEY* public_key = nullptr;          // default library context

  KeyData() = default;
  KeyData(const KeyData&) = delete;
  KeyData& operator=(const KeyData&) = delete;
  ~KeyData() { EVP_PKEY_free(public_key); }
};

void RaiseError(const char* what) {
  ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL, "%s", what);
}

// ---- key manager ----

template <bool kEd25519>
void* KeymgmtNew(void* /*provctx*/) {
  auto* data = new (std::nothrow) KeyData;
  if (data != nullptr) data->ed25519 = kEd25519;
  return data;
}

void KeymgmtFree(void* keydata) { delete static_cast<KeyData*>(keydata); }

int KeymgmtHas(const void* keydata, int selection) {
  const auto* data = static_cast<const KeyData*>(keydata);
  if (data == nullptr) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && data->signer == nullptr) return 0;
  if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) != 0 &&
      data->public_key == nullptr) {
    return 0;
  }
  return 1;
}

int KeymgmtMatch(const void* keydata1, const void* keydata2, int selection) {
  const auto* a = static_cast<const KeyData*>(keydata1);
  const auto* b = static_cast<const KeyData*>(keydata2);
  if (a == nullptr || b == nullptr || a->public_key == nullptr || b->public_key == nullptr) {
    return 0;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
    return EVP_PKEY_eq(a->public_key, b->public_key) == 1 ? 1 : 0;
  }
  return EVP_PKEY_parameters_eq(a->public_key, b->public_key) == 1 ? 1 : 0;
}

EVP_PKEY* PublicKeyFromDer(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (key != nullptr && p != der.data() + der.size()) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

template <bool kEd25519>
int KeymgmtImport(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* data = static_cast<KeyData*>(keydata);
  if (data == nullptr || data->public_key != nullptr) return 0;
  if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, kStoreKeyParam); p != nullptr) {
    const std::shared_ptr<const StoreKey>* holder = nullptr;
    if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size != kHolderBytes) return 0;
    std::memcpy(static_cast<void*>(&holder), p->data, kHolderBytes);
    if (holder == nullptr || *holder == nullptr) return 0;
    data->public_key = PublicKeyFromDer((*holder)->public_key_der);
    if (data->public_key == nullptr) return 0;
    data->signer = *holder;
    return 1;
  }
  // A public key exported by another provider (comparisons against a
  // certificate's key). Private keys are never imported here.
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0 ||
      OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != nullptr) {
    return 0;
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, kEd25519 ? "ED25519" : "EC", nullptr);
  if (ctx == nullptr) return 0;
  int ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
           EVP_PKEY_fromdata(ctx, &data->public_key, EVP_PKEY_PUBLIC_KEY,
                             const_cast<OSSL_PARAM*>(params)) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

template <bool kEd25519>
const OSSL_PARAM* KeymgmtImportTypes(int /*selection*/) {
  static const OSSL_PARAM kEcTypes[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(kStoreKeyParam, nullptr, 0),
      OSSL_PARAM_END};
  static const OSSL_PARAM kEdTypes[] = {
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(kStoreKeyParam, nullptr, 0), OSSL_PARAM_END};
  return kEd25519 ? kEdTypes : kEcTypes;
}

int KeymgmtExport(void* keydata, int selection, OSSL_CALLBACK* callback, void* callback_arg) {
  auto* data = static_cast<KeyData*>(keydata);
  // The private key cannot leave the store: refusing makes OpenSSL sign
  // with this provider instead of moving the key elsewhere.
  if (data == nullptr || data->public_key == nullptr ||
      (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
    return 0;
  }
  OSSL_PARAM* params = nullptr;
  if (EVP_PKEY_todata(data->public_key, EVP_PKEY_PUBLIC_KEY, &params) != 1) return 0;
  int ok = callback(params, callback_arg);
  OSSL_PARAM_free(params);
  return ok;
}

template <bool kEd25519>
const OSSL_PARAM* KeymgmtExportTypes(int /*selection*/) {
  static const OSSL_PARAM kEcTypes[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0), OSSL_PARAM_END};
  static const OSSL_PARAM kEdTypes[] = {
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0), OSSL_PARAM_END};
  return kEd25519 ? kEdTypes : kEcTypes;
}

int KeymgmtGetParams(void* keydata, OSSL_PARAM params[]) {
  auto* data = static_cast<KeyData*>(keydata);
  if (data == nullptr || data->public_key == nullptr) return 0;
  return EVP_PKEY_get_params(data->public_key, params);
}

const OSSL_PARAM* KeymgmtGettableParams(void* /*provctx*/) {
  static const OSSL_PARAM kGettable[] = {
      OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
      OSSL_PARAM_END};
  return kGettable;
}

template <bool kEd25519>
const char* KeymgmtQueryOperationName(int /*operation_id*/) {
  return kEd25519 ? "ED25519" : "ECDSA";
}

void* KeymgmtDup(const void* keydata, int selection) {
  const auto* data = static_cast<const KeyData*>(keydata);
  if (data == nullptr) return nullptr;
  auto* copy = new (std::nothrow) KeyData;
  if (copy == nullptr) return nullptr;
  copy->ed25519 = data->ed25519;
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) copy->signer = data->signer;
  if (data->public_key != nullptr) {
    copy->public_key = data->public_key;
    EVP_PKEY_up_ref(copy->public_key);
  }
  return copy;
}

// OpenSSL's dispatch tables hold function pointers cast to a common type.
template <typename F>
OSSL_DISPATCH Entry(int id, F* function) {
  return OSSL_DISPATCH{id, reinterpret_cast<void (*)()>(function)};  // NOLINT
}

template <bool kEd25519>
const OSSL_DISPATCH* KeymgmtDispatch() {
  static const OSSL_DISPATCH kTable[] = {
      Entry(OSSL_FUNC_KEYMGMT_NEW, &KeymgmtNew<kEd25519>),
      Entry(OSSL_FUNC_KEYMGMT_FREE, &KeymgmtFree),
      Entry(OSSL_FUNC_KEYMGMT_HAS, &KeymgmtHas),
      Entry(OSSL_FUNC_KEYMGMT_MATCH, &KeymgmtMatch),
      Entry(OSSL_FUNC_KEYMGMT_IMPORT, &KeymgmtImport<kEd25519>),
      Entry(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, &KeymgmtImportTypes<kEd25519>),
      Entry(OSSL_FUNC_KEYMGMT_EXPORT, &KeymgmtExport),
      Entry(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, &KeymgmtExportTypes<kEd25519>),
      Entry(OSSL_FUNC_KEYMGMT_GET_PARAMS, &KeymgmtGetParams),
      Entry(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, &KeymgmtGettableParams),
      Entry(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, &KeymgmtQueryOperationName<kEd25519>),
      Entry(OSSL_FUNC_KEYMGMT_DUP, &KeymgmtDup),
      OSSL_DISPATCH{0, nullptr}};
  return kTable;
}

// ---- signature ----

struct SignContext {
  bool ed25519 = false;
  std::shared_ptr<const StoreKey> signer;
  std::vector<uint8_t> message;
};

template <bool kEd25519>
void* SignatureNewContext(void* /*provctx*/, const char* /*propq*/) {
  auto* context = new (std::nothrow) SignContext;
  if (context != nullptr) context->ed25519 = kEd25519;
  return context;
}

void SignatureFreeContext(void* context) { delete static_cast<SignContext*>(context); }

void* SignatureDupContext(void* context) {
  const auto* from = static_cast<const SignContext*>(context);
  return new (std::nothrow) SignContext(*from);
}

bool IsSha256Name(const char* name) {
  return name == nullptr || name[0] == '\0' || OPENSSL_strcasecmp(name, "SHA256") == 0 ||
         OPENSSL_strcasecmp(name, "SHA2-256") == 0 || OPENSSL_strcasecmp(name, "SHA-256") == 0;
}

int SignatureDigestSignInit(void* ctx, const char* mdname, void* provkey,
                            const OSSL_PARAM /*params*/[]) {
  auto* context = static_cast<SignContext*>(ctx);
  const auto* key = static_cast<const KeyData*>(provkey);
  if (context == nullptr || key == nullptr || key->signer == nullptr) {
    RaiseError("custos-keystore: key has no store key to sign with");
    return 0;
  }
  // The store fixes the hash: SHA-256 for ECDSA P-256, none for Ed25519.
  bool digest_ok =
      context->ed25519 ? (mdname == nullptr || mdname[0] == '\0') : IsSha256Name(mdname);
  if (!digest_ok) return 0;
  context->signer = key->signer;
  context->message.clear();
  return 1;
}

int SignatureDigestSignUpdate(void* ctx, const unsigned char* data, size_t length) {
  auto* context = static_cast<SignContext*>(ctx);
  if (context->signer == nullptr || context->message.size() + length > kMaxSignedMessageBytes) {
    return 0;
  }
  context->message.insert(context->message.end(), data, data + length);
  return 1;
}

// Signs context->message into `signature` (DER for ECDSA, raw for Ed25519).
int SignMessage(SignContext* context, unsigned char* signature, size_t* signature_length,
                size_t signature_size) {
  const std::size_t max_size = context->ed25519 ? kEd25519SignatureBytes : kMaxEcdsaDerBytes;
  if (signature == nullptr) {
    *signature_length = max_size;
    return 1;
  }
  if (context->signer == nullptr) return 0;
  StatusOr<std::vector<uint8_t>> raw = context->signer->Sign(context->message);
  if (!raw.ok()) {
    RaiseError(std::string(raw.status().message()).c_str());
    return 0;
  }
  if (context->ed25519) {
    if (raw->size() != kEd25519SignatureBytes || signature_size < raw->size()) return 0;
    std::memcpy(signature, raw->data(), raw->size());
    *signature_length = raw->size();
    return 1;
  }
  if (raw->size() != 64) return 0;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw->data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw->data() + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return 0;
  }
  int der_length = i2d_ECDSA_SIG(sig, nullptr);
  int ok = 0;
  if (der_length > 0 && static_cast<size_t>(der_length) <= signature_size) {
    unsigned char* out = signature;
    ok = i2d_ECDSA_SIG(sig, &out) == der_length ? 1 : 0;
    *signature_length = static_cast<size_t>(der_length);
  }
  ECDSA_SIG_free(sig);
  return ok;
}

int SignatureDigestSignFinal(void* ctx, unsigned char* signature, size_t* signature_length,
                             size_t signature_size) {
  return SignMessage(static_cast<SignContext*>(ctx), signature, signature_length, signature_size);
}

int SignatureDigestSign(void* ctx, unsigned char* signature, size_t* signature_length,
                        size_t signature_size, const unsigned char* tbs, size_t tbs_length) {
  auto* context = static_cast<SignContext*>(ctx);
  if (signature != nullptr) {
    if (tbs_length > kMaxSignedMessageBytes) return 0;
    context->message.assign(tbs, tbs + tbs_length);
  }
  return SignMessage(context, signature, signature_length, signature_size);
}

template <bool kEd25519>
const OSSL_DISPATCH* SignatureDispatch() {
  static const OSSL_DISPATCH kTable[] = {
      Entry(OSSL_FUNC_SIGNATURE_NEWCTX, &SignatureNewContext<kEd25519>),
      Entry(OSSL_FUNC_SIGNATURE_FREECTX, &SignatureFreeContext),
      Entry(OSSL_FUNC_SIGNATURE_DUPCTX, &SignatureDupContext),
      Entry(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, &SignatureDigestSignInit),
      Entry(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, &SignatureDigestSignUpdate),
      Entry(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, &SignatureDigestSignFinal),
      Entry(OSSL_FUNC_SIGNATURE_DIGEST_SIGN, &SignatureDigestSign),
      OSSL_DISPATCH{0, nullptr}};
  return kTable;
}

// ---- provider ----

const OSSL_ALGORITHM* ProviderQueryOperation(void* /*provctx*/, int operation_id, int* no_cache) {
  static const OSSL_ALGORITHM kKeymgmt[] = {
      {"EC:id-ecPublicKey:1.2.840.10045.2.1", kProviderProperties, KeymgmtDispatch<false>(),
       "EC key held in a custos KeyStore"},
      {"ED25519:1.3.101.112", kProviderProperties, KeymgmtDispatch<true>(),
       "Ed25519 key held in a custos KeyStore"},
      {nullptr, nullptr, nullptr, nullptr}};
  static const OSSL_ALGORITHM kSignature[] = {
      {"ECDSA", kProviderProperties, SignatureDispatch<false>(), "ECDSA through KeyStore::Sign"},
      {"ED25519:1.3.101.112", kProviderProperties, SignatureDispatch<true>(),
       "Ed25519 through KeyStore::Sign"},
      {nullptr, nullptr, nullptr, nullptr}};
  *no_cache = 0;
  switch (operation_id) {
    case OSSL_OP_KEYMGMT:
      return kKeymgmt;
    case OSSL_OP_SIGNATURE:
      return kSignature;
    default:
      return nullptr;
  }
}

int ProviderInit(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* /*in*/,
                 const OSSL_DISPATCH** out, void** provctx) {
  static const OSSL_DISPATCH kProvider[] = {
      Entry(OSSL_FUNC_PROVIDER_QUERY_OPERATION, &ProviderQueryOperation),
      OSSL_DISPATCH{0, nullptr}};
  *out = kProvider;
  *provctx = const_cast<OSSL_CORE_HANDLE*>(handle);
  return 1;
}

struct ProviderState {
  OSSL_LIB_CTX* libctx = nullptr;
  OSSL_PROVIDER* provider = nullptr;
};

// The private library context with the provider loaded, created once and
// kept until process exit.
const ProviderState& State() {
  static const ProviderState* const state = [] {
    auto* s = new ProviderState;
    s->libctx = OSSL_LIB_CTX_new();
    if (s->libctx != nullptr &&
        OSSL_PROVIDER_add_builtin(s->libctx, kProviderName, &ProviderInit) == 1) {
      s->provider = OSSL_PROVIDER_load(s->libctx, kProviderName);
    }
    return s;
  }();
  return *state;
}

std::string OpenSslReason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return std::string(": ") + buffer;
}

StatusOr<EvpPkeyPtr> MakeKey(std::shared_ptr<StoreKey> key) {
  const ProviderState& state = State();
  if (state.provider == nullptr) {
    return InternalError("cannot load the custos-keystore OpenSSL provider" + OpenSslReason());
  }
  {
    std::lock_guard<std::mutex> lock(*key->mutex);
    CUSTOS_ASSIGN_OR_RETURN(keystore::KeyInfo info, key->store->Find(key->label));
    if (keystore::PurposeOf(info.type) != keystore::KeyPurpose::kSign) {
      return FailedPreconditionError("key '" + key->label + "' is a " +
                                     std::string(keystore::KeyTypeName(info.type)) +
                                     " key and cannot sign TLS handshakes");
    }
    if (info.type != KeyType::kEcdsaP256 && info.type != KeyType::kEd25519) {
      return UnimplementedError("TLS signing with " +
                                std::string(keystore::KeyTypeName(info.type)) +
                                " keys is not implemented");
    }
    key->type = info.type;
    CUSTOS_ASSIGN_OR_RETURN(key->public_key_der, key->store->ExportPublicKey(key->label));
  }
  const bool ed25519 = key->type == KeyType::kEd25519;
  EVP_PKEY_CTX* ctx =
      EVP_PKEY_CTX_new_from_name(state.libctx, ed25519 ? "ED25519" : "EC", kProviderProperties);
  if (ctx == nullptr)
    return InternalError("OpenSSL: no custos-keystore key manager" + OpenSslReason());
  std::shared_ptr<const StoreKey> shared = std::move(key);
  const std::shared_ptr<const StoreKey>* holder = &shared;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(kStoreKeyParam, static_cast<void*>(&holder), kHolderBytes),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* pkey = nullptr;
  int ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
           EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || pkey == nullptr) {
    return InternalError("OpenSSL: cannot make a key-store key for '" + shared->label + "'" +
                         OpenSslReason());
  }
  return EvpPkeyPtr(pkey);
}

}  // namespace

StatusOr<EvpPkeyPtr> MakeKeyStorePrivateKey(std::shared_ptr<keystore::KeyStore> store,
                                            std::string_view label,
                                            std::shared_ptr<std::mutex> store_mutex) {
  if (store == nullptr) return InvalidArgumentError("MakeKeyStorePrivateKey: null key store");
  auto key = std::make_shared<StoreKey>();
  key->store = store.get();
  key->owner = std::move(store);
  key->label = std::string(label);
  key->mutex = store_mutex != nullptr ? std::move(store_mutex) : std::make_shared<std::mutex>();
  return MakeKey(std::move(key));
}

StatusOr<EvpPkeyPtr> MakeKeyStorePrivateKey(keystore::KeyStore& store, std::string_view label,
                                            std::shared_ptr<std::mutex> store_mutex) {
  auto key = std::make_shared<StoreKey>();
  key->store = &store;
  key->label = std::string(label);
  key->mutex = store_mutex != nullptr ? std::move(store_mutex) : std::make_shared<std::mutex>();
  return MakeKey(std::move(key));
}

bool IsKeyStorePrivateKey(const EVP_PKEY* key) {
  const ProviderState& state = State();
  return key != nullptr && state.provider != nullptr &&
         EVP_PKEY_get0_provider(key) == state.provider;
}

}  // namespace custos::net
