#include "custos/keystore/tpm/tpm_key_store.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "custos/core/ct.h"
#include "custos/core/random.h"

namespace custos::keystore {

namespace internal {

// What the store knows about one key: from its NV record.
struct TpmKeyRecord {
  uint32_t slot = 0;
  KeyType type = KeyType::kEcdsaP256;
  std::string label;
  std::vector<uint8_t> name;      // TPM Name of the key object
  std::vector<uint8_t> mac_name;  // aes-128 only: TPM Name of the HMAC key
};

// The ESAPI context, its TCTI, and a label -> record cache. The cache is only
// a hint: every use checks the object's Name against the record.
struct TpmConnection {
  std::string tcti_config;
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* esys = nullptr;
  std::map<std::string, TpmKeyRecord, std::less<>> cache;

  TpmConnection() = default;
  TpmConnection(const TpmConnection&) = delete;
  TpmConnection& operator=(const TpmConnection&) = delete;
  ~TpmConnection() {
    if (esys != nullptr) Esys_Finalize(&esys);
    if (tcti != nullptr) Tss2_TctiLdr_Finalize(&tcti);
  }
};

}  // namespace internal

namespace {

// The custos handle ranges (docs/formats/tpm-keystore.md). All lie in the
// owner's ranges of the TCG handle registry.
constexpr uint32_t kMaxKeys = 256;
constexpr TPM2_HANDLE kKeyHandleBase = 0x817C0000;    // key object of slot s: base + s
constexpr TPM2_HANDLE kMacHandleBase = 0x817C8000;    // aes-128 HMAC key of slot s
constexpr TPM2_HANDLE kRecordIndexBase = 0x013C0000;  // NV record of slot s
constexpr TPM2_HANDLE kCounterIndexBase = 0x013D0000;
constexpr uint32_t kCounterSlots = 4096;

constexpr uint8_t kRecordVersion = 1;
constexpr std::size_t kMaxLabelBytes = 128;
constexpr std::size_t kMaxCounterNameBytes = 128;
constexpr std::size_t kMaxDeriveBytes = 255 * 32;
constexpr std::size_t kMaxAeadBytes = std::size_t{1} << 20;
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kTagBytes = 32;
// TPM2B_MAX_BUFFER holds up to 1024 bytes; CFB chunks stay block-aligned.
constexpr std::size_t kChunkBytes = 1024;

// ---- tpm2-tss helpers ----

struct EsysFree {
  void operator()(void* pointer) const { Esys_Free(pointer); }
};
// Memory returned by an ESAPI call, freed with Esys_Free.
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree>;

// As EsysPtr, but wipes the memory before freeing it (secret outputs).
struct EsysWipeFree {
  std::size_t size;
  void operator()(void* pointer) const {
    if (pointer != nullptr) SecureWipe({static_cast<uint8_t*>(pointer), size});
    Esys_Free(pointer);
  }
};
template <typename T>
using EsysSecretPtr = std::unique_ptr<T, EsysWipeFree>;

std::string Hex32(uint32_t value) {
  std::array<char, 11> text{};
  std::snprintf(text.data(), text.size(), "0x%08x", value);
  return text.data();
}

// The TPM response code without its handle/parameter/session number, for
// comparisons with TPM2_RC_* constants. Codes from other layers stay as they are.
TSS2_RC BaseRc(TSS2_RC rc) {
  if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER) return rc;
  if ((rc & TPM2_RC_FMT1) != 0) return rc & (TPM2_RC_FMT1 | 0x3F);
  return rc & 0xFFFF;
}

std::string Decode(TSS2_RC rc) {
  const char* text = Tss2_RC_Decode(rc);
  return text != nullptr ? text : Hex32(rc);
}

// A Status for a failed ESAPI call: "<what> failed: <decoded rc>".
Status TssError(std::string_view what, TSS2_RC rc) {
  std::string message = std::string(what) + " failed: " + Decode(rc);
  switch (BaseRc(rc)) {
    case TPM2_RC_NV_SPACE:
    case TPM2_RC_OBJECT_MEMORY:
      return ResourceExhaustedError(message);
    case TPM2_RC_LOCALITY:
      return PermissionDeniedError(message);
    default:
      break;
  }
  if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER) return UnavailableError(message);
  return InternalError(message);
}

// An ESYS_TR that is closed (metadata only) or flushed (transient object or
// sequence) when it goes out of scope.
class EsysHandle {
 public:
  EsysHandle(ESYS_CONTEXT* esys, ESYS_TR handle, bool flush)
      : esys_(esys), handle_(handle), flush_(flush) {}
  EsysHandle(const EsysHandle&) = delete;
  EsysHandle& operator=(const EsysHandle&) = delete;
  EsysHandle(EsysHandle&& other) noexcept
      : esys_(other.esys_),
        handle_(std::exchange(other.handle_, ESYS_TR_NONE)),
        flush_(other.flush_) {}
  EsysHandle& operator=(EsysHandle&&) = delete;
  ~EsysHandle() {
    if (handle_ == ESYS_TR_NONE) return;
    if (flush_) {
      Esys_FlushContext(esys_, handle_);
    } else {
      Esys_TR_Close(esys_, &handle_);
    }
  }
  ESYS_TR get() const { return handle_; }
  // Gives up ownership (after a command that consumed the handle).
  void Release() { handle_ = ESYS_TR_NONE; }

 private:
  ESYS_CONTEXT* esys_;
  ESYS_TR handle_;
  bool flush_;
};

// An ESYS_TR for the persistent object or NV index `handle`; NotFound when
// the TPM has nothing there.
StatusOr<EsysHandle> FromTpm(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  ESYS_TR tr = ESYS_TR_NONE;
  const TSS2_RC rc =
      Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
  if (rc != TSS2_RC_SUCCESS) {
    if (BaseRc(rc) == TPM2_RC_HANDLE)
      return NotFoundError("TPM handle " + Hex32(handle) + " is empty");
    return TssError("reading TPM handle " + Hex32(handle), rc);
  }
  return EsysHandle(esys, tr, /*flush=*/false);
}

StatusOr<std::vector<uint8_t>> NameOf(ESYS_CONTEXT* esys, ESYS_TR handle) {
  TPM2B_NAME* raw = nullptr;
  const TSS2_RC rc = Esys_TR_GetName(esys, handle, &raw);
  EsysPtr<TPM2B_NAME> name(raw);
  if (rc != TSS2_RC_SUCCESS) return TssError("Esys_TR_GetName", rc);
  return std::vector<uint8_t>(name->name, name->name + name->size);
}

// Every handle the TPM reports in [first, last] (TPM2_GetCapability over
// TPM_CAP_HANDLES; the range's top byte picks persistent objects or NV
// indices).
StatusOr<std::vector<TPM2_HANDLE>> HandlesIn(ESYS_CONTEXT* esys, TPM2_HANDLE first,
                                             TPM2_HANDLE last) {
  std::vector<TPM2_HANDLE> handles;
  TPM2_HANDLE next = first;
  while (true) {
    TPMI_YES_NO more = TPM2_NO;
    TPMS_CAPABILITY_DATA* raw = nullptr;
    const TSS2_RC rc =
        Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, next,
                           TPM2_MAX_CAP_HANDLES, &more, &raw);
    EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
    if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_GetCapability(handles)", rc);
    const TPML_HANDLE& list = data->data.handles;
    if (list.count == 0) break;
    bool past_end = false;
    for (uint32_t i = 0; i < list.count; ++i) {
      if (list.handle[i] > last) {
        past_end = true;
        break;
      }
      if (list.handle[i] >= first) handles.push_back(list.handle[i]);
    }
    if (past_end || more != TPM2_YES || list.handle[list.count - 1] == UINT32_MAX) break;
    next = list.handle[list.count - 1] + 1;
  }
  return handles;
}

// ---- templates ----

constexpr TPMA_OBJECT kKeyAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH;

// The ECC P-256 storage root key template (TCG TPM v2.0 Provisioning
// Guidance): restricted decryption key, AES-128-CFB, unique = 32 + 32 zero
// bytes. The same template always gives the same key.
TPM2B_PUBLIC SrkTemplate() {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_ECC;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes =
      kKeyAttributes | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  area.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  area.parameters.eccDetail.symmetric.keyBits.aes = 128;
  area.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  area.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  area.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  area.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  area.unique.ecc.x.size = 32;
  area.unique.ecc.y.size = 32;
  return in;
}

TPM2B_PUBLIC EccTemplate(bool sign) {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_ECC;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = kKeyAttributes | (sign ? TPMA_OBJECT_SIGN_ENCRYPT : TPMA_OBJECT_DECRYPT);
  area.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  area.parameters.eccDetail.scheme.scheme = sign ? TPM2_ALG_ECDSA : TPM2_ALG_ECDH;
  area.parameters.eccDetail.scheme.details.anySig.hashAlg = TPM2_ALG_SHA256;
  area.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  area.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return in;
}

TPM2B_PUBLIC AesTemplate() {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_SYMCIPHER;
  area.nameAlg = TPM2_ALG_SHA256;
  // EncryptDecrypt needs both: decrypt to decrypt, sign to encrypt.
  area.objectAttributes = kKeyAttributes | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT;
  area.parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
  area.parameters.symDetail.sym.keyBits.aes = 128;
  area.parameters.symDetail.sym.mode.aes = TPM2_ALG_CFB;
  return in;
}

TPM2B_PUBLIC HmacTemplate() {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_KEYEDHASH;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = kKeyAttributes | TPMA_OBJECT_SIGN_ENCRYPT;
  area.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
  area.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
  return in;
}

// The storage primary key, created for the duration of one operation and
// flushed afterwards (swtpm has no resource manager and only three object
// slots, so nothing transient outlives a call).
StatusOr<EsysHandle> CreateSrk(ESYS_CONTEXT* esys) {
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_PUBLIC in = SrkTemplate();
  const TPM2B_DATA outside{};
  const TPML_PCR_SELECTION pcrs{};
  ESYS_TR srk = ESYS_TR_NONE;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* ticket = nullptr;
  const TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                        ESYS_TR_NONE, &sensitive, &in, &outside, &pcrs, &srk,
                                        &out_public, &creation_data, &creation_hash, &ticket);
  Esys_Free(out_public);
  Esys_Free(creation_data);
  Esys_Free(creation_hash);
  Esys_Free(ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_CreatePrimary(storage root key)", rc);
  return EsysHandle(esys, srk, /*flush=*/true);
}

// Creates a key from `in` under `srk`, makes it persistent at `handle` and
// returns its Name. Nothing transient remains afterwards.
StatusOr<std::vector<uint8_t>> CreatePersistent(ESYS_CONTEXT* esys, const EsysHandle& srk,
                                                const TPM2B_PUBLIC& in, TPM2_HANDLE handle) {
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_DATA outside{};
  const TPML_PCR_SELECTION pcrs{};
  TPM2B_PRIVATE* raw_private = nullptr;
  TPM2B_PUBLIC* raw_public = nullptr;
  TPM2B_CREATION_DATA* creation_data = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* ticket = nullptr;
  TSS2_RC rc = Esys_Create(esys, srk.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sensitive, &in, &outside, &pcrs, &raw_private, &raw_public,
                           &creation_data, &creation_hash, &ticket);
  EsysPtr<TPM2B_PRIVATE> out_private(raw_private);
  EsysPtr<TPM2B_PUBLIC> out_public(raw_public);
  Esys_Free(creation_data);
  Esys_Free(creation_hash);
  Esys_Free(ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_Create", rc);

  ESYS_TR loaded = ESYS_TR_NONE;
  rc = Esys_Load(esys, srk.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, out_private.get(),
                 out_public.get(), &loaded);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_Load", rc);
  EsysHandle transient(esys, loaded, /*flush=*/true);

  ESYS_TR persistent = ESYS_TR_NONE;
  rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, transient.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, handle, &persistent);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError("TPM2_EvictControl(make persistent at " + Hex32(handle) + ")", rc);
  }
  EsysHandle kept(esys, persistent, /*flush=*/false);
  return NameOf(esys, kept.get());
}

// Removes the persistent object at `handle`, if any.
Status EvictPersistent(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  StatusOr<EsysHandle> object = FromTpm(esys, handle);
  if (object.status().code() == StatusCode::kNotFound) return OkStatus();
  if (!object.ok()) return object.status();
  ESYS_TR none = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, object->get(), ESYS_TR_PASSWORD,
                                       ESYS_TR_NONE, ESYS_TR_NONE, handle, &none);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError("TPM2_EvictControl(evict " + Hex32(handle) + ")", rc);
  }
  object->Release();  // ESAPI has invalidated the handle
  return OkStatus();
}

Status UndefineIndex(ESYS_CONTEXT* esys, TPM2_HANDLE index) {
  StatusOr<EsysHandle> nv = FromTpm(esys, index);
  if (nv.status().code() == StatusCode::kNotFound) return OkStatus();
  if (!nv.ok()) return nv.status();
  const TSS2_RC rc = Esys_NV_UndefineSpace(esys, ESYS_TR_RH_OWNER, nv->get(), ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_NV_UndefineSpace(" + Hex32(index) + ")", rc);
  nv->Release();
  return OkStatus();
}

// ---- records ----

uint8_t TypeCode(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256:
      return 1;
    case KeyType::kEcdhP256:
      return 2;
    case KeyType::kAes128:
      return 3;
    default:
      return 0;
  }
}

StatusOr<KeyType> TypeFromCode(uint8_t code) {
  switch (code) {
    case 1:
      return KeyType::kEcdsaP256;
    case 2:
      return KeyType::kEcdhP256;
    case 3:
      return KeyType::kAes128;
    default:
      return DataLossError("unknown key type code " + std::to_string(code));
  }
}

std::vector<uint8_t> EncodeRecord(KeyType type, std::string_view label,
                                  std::span<const uint8_t> name,
                                  std::span<const uint8_t> mac_name) {
  std::vector<uint8_t> out = {kRecordVersion, TypeCode(type), static_cast<uint8_t>(label.size())};
  out.insert(out.end(), label.begin(), label.end());
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  if (type == KeyType::kAes128) {
    out.push_back(static_cast<uint8_t>(mac_name.size()));
    out.insert(out.end(), mac_name.begin(), mac_name.end());
  }
  return out;
}

// A length-prefixed field of `bytes` at `offset`, advancing it.
StatusOr<std::span<const uint8_t>> TakeField(std::span<const uint8_t> bytes, std::size_t& offset) {
  if (offset >= bytes.size()) return DataLossError("record truncated");
  const std::size_t length = bytes[offset++];
  if (length == 0 || bytes.size() - offset < length) return DataLossError("record truncated");
  std::span<const uint8_t> field = bytes.subspan(offset, length);
  offset += length;
  return field;
}

// ---- OpenSSL helpers ----

struct OpensslFree {
  void operator()(unsigned char* pointer) const { OPENSSL_free(pointer); }
};

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// An EVP_PKEY for the uncompressed P-256 point `point` (65 bytes).
StatusOr<PkeyPtr> PkeyFromPoint(std::span<const uint8_t> point) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  std::string group = "prime256v1";
  std::vector<uint8_t> copy(point.begin(), point.end());
  const std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, copy.data(), copy.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY,
                        const_cast<OSSL_PARAM*>(params.data())) != 1) {
    return InternalError("OpenSSL could not import a P-256 public key from the TPM");
  }
  return PkeyPtr(key);
}

std::vector<uint8_t> Sha256(std::span<const uint8_t> message) {
  std::vector<uint8_t> digest(32);
  unsigned int length = 0;
  EVP_Digest(message.data(), message.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

void PutBe64(std::vector<uint8_t>& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

Status CheckName(std::string_view what, std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max) {
    return InvalidArgumentError(std::string(what) + " must be 1 to " + std::to_string(max) +
                                " bytes long (got " + std::to_string(name.size()) + ")");
  }
  return OkStatus();
}

std::string Quoted(std::string_view label) { return "'" + std::string(label) + "'"; }

KeyInfo InfoOf(const internal::TpmKeyRecord& record) {
  KeyInfo info;
  info.label = record.label;
  info.type = record.type;
  if (record.type == KeyType::kAes128) info.aead_algorithm = std::string(kTpmAeadAlgorithm);
  info.extractable = false;
  return info;
}

// The counter's NV authPolicy: binds the counter's name into the index's
// public area, so an index found by probing is known to be this counter's.
std::vector<uint8_t> CounterTag(std::string_view name) {
  std::vector<uint8_t> input = {'c', 'u', 's', 't', 'o', 's', '-', 'c',
                                'o', 'u', 'n', 't', 'e', 'r', 0};
  input.insert(input.end(), name.begin(), name.end());
  return Sha256(input);
}

StatusOr<internal::TpmKeyRecord> DecodeRecordAs(std::span<const uint8_t> bytes, uint32_t slot) {
  if (bytes.size() < 2 || bytes[0] != kRecordVersion) {
    return DataLossError("key record in NV index " + Hex32(kRecordIndexBase + slot) +
                         " has an unknown format");
  }
  internal::TpmKeyRecord record;
  record.slot = slot;
  CUSTOS_ASSIGN_OR_RETURN(record.type, TypeFromCode(bytes[1]));
  std::size_t offset = 2;
  CUSTOS_ASSIGN_OR_RETURN(std::span<const uint8_t> label, TakeField(bytes, offset));
  record.label.assign(label.begin(), label.end());
  CUSTOS_ASSIGN_OR_RETURN(std::span<const uint8_t> name, TakeField(bytes, offset));
  record.name.assign(name.begin(), name.end());
  if (record.type == KeyType::kAes128) {
    CUSTOS_ASSIGN_OR_RETURN(std::span<const uint8_t> mac_name, TakeField(bytes, offset));
    record.mac_name.assign(mac_name.begin(), mac_name.end());
  }
  if (offset != bytes.size()) {
    return DataLossError("key record in NV index " + Hex32(kRecordIndexBase + slot) +
                         " has trailing bytes");
  }
  return record;
}

// Reads the whole of NV index `nv` (at most one TPM2B_MAX_NV_BUFFER).
StatusOr<std::vector<uint8_t>> ReadNv(ESYS_CONTEXT* esys, const EsysHandle& nv, TPM2_HANDLE index) {
  TPM2B_NV_PUBLIC* raw_public = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  TSS2_RC rc = Esys_NV_ReadPublic(esys, nv.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &raw_public, &raw_name);
  EsysPtr<TPM2B_NV_PUBLIC> nv_public(raw_public);
  EsysPtr<TPM2B_NAME> nv_name(raw_name);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_NV_ReadPublic(" + Hex32(index) + ")", rc);
  const uint16_t size = nv_public->nvPublic.dataSize;
  if (size > sizeof(TPM2B_MAX_NV_BUFFER::buffer)) {
    return DataLossError("NV index " + Hex32(index) + " is too large for a key record");
  }
  TPM2B_MAX_NV_BUFFER* raw_data = nullptr;
  rc = Esys_NV_Read(esys, ESYS_TR_RH_OWNER, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                    size, 0, &raw_data);
  EsysPtr<TPM2B_MAX_NV_BUFFER> data(raw_data);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_NV_Read(" + Hex32(index) + ")", rc);
  return std::vector<uint8_t>(data->buffer, data->buffer + data->size);
}

// Defines an owner-read/write NV index of `bytes.size()` bytes (or a counter
// when `counter`) at `index`.
StatusOr<EsysHandle> DefineNv(ESYS_CONTEXT* esys, TPM2_HANDLE index, uint16_t size, bool counter,
                              std::span<const uint8_t> auth_policy) {
  const TPM2B_AUTH auth{};
  TPM2B_NV_PUBLIC info{};
  info.nvPublic.nvIndex = index;
  info.nvPublic.nameAlg = TPM2_ALG_SHA256;
  info.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
  if (counter) info.nvPublic.attributes |= TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT;
  info.nvPublic.authPolicy.size = static_cast<uint16_t>(auth_policy.size());
  std::copy(auth_policy.begin(), auth_policy.end(), info.nvPublic.authPolicy.buffer);
  info.nvPublic.dataSize = size;
  ESYS_TR nv = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &auth, &info, &nv);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_NV_DefineSpace(" + Hex32(index) + ")", rc);
  return EsysHandle(esys, nv, /*flush=*/false);
}

}  // namespace

// ---- opening ----

StatusOr<std::unique_ptr<TpmKeyStore>> OpenTpmKeyStore(std::string_view tcti) {
  // tpm2-tss would log connection errors to stderr; libraries do not print.
  setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
  auto connection = std::make_unique<internal::TpmConnection>();
  connection->tcti_config = std::string(tcti);
  const std::string where = "TPM not reachable at TCTI '" + connection->tcti_config + "': ";
  TSS2_RC rc = Tss2_TctiLdr_Initialize(connection->tcti_config.c_str(), &connection->tcti);
  if (rc != TSS2_RC_SUCCESS) {
    connection->tcti = nullptr;
    return UnavailableError(where + Decode(rc));
  }
  rc = Esys_Initialize(&connection->esys, connection->tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    connection->esys = nullptr;
    return UnavailableError(where + Decode(rc));
  }
  rc = Esys_Startup(connection->esys, TPM2_SU_CLEAR);
  if (rc != TSS2_RC_SUCCESS && BaseRc(rc) != TPM2_RC_INITIALIZE) {
    return UnavailableError(where + Decode(rc));
  }
  return std::unique_ptr<TpmKeyStore>(new TpmKeyStore(std::move(connection)));
}

TpmKeyStore::TpmKeyStore(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

TpmKeyStore::~TpmKeyStore() = default;

std::vector<KeyType> TpmKeyStore::SupportedKeyTypes() const {
  return {KeyType::kEcdsaP256, KeyType::kEcdhP256, KeyType::kAes128};
}

// ---- records ----

StatusOr<std::vector<internal::TpmKeyRecord>> TpmKeyStore::ReadRecords() {
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(std::vector<TPM2_HANDLE> indices,
                          HandlesIn(esys, kRecordIndexBase, kRecordIndexBase + kMaxKeys - 1));
  std::vector<KeyRecord> records;
  for (TPM2_HANDLE index : indices) {
    CUSTOS_ASSIGN_OR_RETURN(EsysHandle nv, FromTpm(esys, index));
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadNv(esys, nv, index));
    CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, DecodeRecordAs(bytes, index - kRecordIndexBase));
    records.push_back(std::move(record));
  }
  std::sort(records.begin(), records.end(),
            [](const KeyRecord& a, const KeyRecord& b) { return a.label < b.label; });
  connection_->cache.clear();
  for (const KeyRecord& record : records) connection_->cache.emplace(record.label, record);
  return records;
}

StatusOr<internal::TpmKeyRecord> TpmKeyStore::FindRecord(std::string_view label) {
  CUSTOS_RETURN_IF_ERROR(CheckName("key label", label, kMaxLabelBytes));
  auto cached = connection_->cache.find(label);
  if (cached != connection_->cache.end()) return cached->second;
  CUSTOS_RETURN_IF_ERROR(ReadRecords().status());
  cached = connection_->cache.find(label);
  if (cached == connection_->cache.end()) {
    return NotFoundError("key " + Quoted(label) + " not found in the TPM at TCTI '" +
                         connection_->tcti_config + "'");
  }
  return cached->second;
}

StatusOr<internal::TpmKeyRecord> TpmKeyStore::FindRecordOfType(std::string_view label, KeyType type,
                                                               std::string_view operation) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecord(label));
  if (record.type != type) {
    return FailedPreconditionError("key " + Quoted(label) + " is a " +
                                   std::string(KeyTypeName(record.type)) + " key and cannot " +
                                   std::string(operation));
  }
  return record;
}

namespace {

// An ESYS_TR for the persistent object at `handle`, checked to be the object
// whose Name the record holds.
StatusOr<EsysHandle> OpenChecked(ESYS_CONTEXT* esys, TPM2_HANDLE handle,
                                 std::span<const uint8_t> expected_name, std::string_view label) {
  StatusOr<EsysHandle> object = FromTpm(esys, handle);
  if (object.status().code() == StatusCode::kNotFound) {
    return DataLossError("key " + Quoted(label) + " is recorded but its persistent handle " +
                         Hex32(handle) + " is empty");
  }
  if (!object.ok()) return object.status();
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> name, NameOf(esys, object->get()));
  if (!std::equal(name.begin(), name.end(), expected_name.begin(), expected_name.end())) {
    return DataLossError("persistent handle " + Hex32(handle) +
                         " holds a different object than the one recorded for key " +
                         Quoted(label));
  }
  return object;
}

}  // namespace

// ---- key management ----

StatusOr<KeyInfo> TpmKeyStore::Generate(KeyType type, std::string_view label) {
  CUSTOS_RETURN_IF_ERROR(CheckName("key label", label, kMaxLabelBytes));
  if (type != KeyType::kEcdsaP256 && type != KeyType::kEcdhP256 && type != KeyType::kAes128) {
    return UnimplementedError("key type '" + std::string(KeyTypeName(type)) +
                              "' is not supported by TPM 2.0 (supported: ecdsa-p256, "
                              "ecdh-p256, aes-128)");
  }
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(std::vector<KeyRecord> records, ReadRecords());
  for (const KeyRecord& record : records) {
    if (record.label == label) {
      return AlreadyExistsError("key " + Quoted(label) + " already exists in the TPM store");
    }
  }

  // A slot is free when neither its record nor any of its objects exist
  // (objects without a record are leftovers that ZeroizeKeys removes).
  CUSTOS_ASSIGN_OR_RETURN(std::vector<TPM2_HANDLE> used_nv,
                          HandlesIn(esys, kRecordIndexBase, kRecordIndexBase + kMaxKeys - 1));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint32_t> used_objects, CustosPersistentHandles());
  uint32_t slot = kMaxKeys;
  for (uint32_t s = 0; s < kMaxKeys && slot == kMaxKeys; ++s) {
    const auto in = [](const std::vector<uint32_t>& v, uint32_t h) {
      return std::find(v.begin(), v.end(), h) != v.end();
    };
    if (!in(used_nv, kRecordIndexBase + s) && !in(used_objects, kKeyHandleBase + s) &&
        !in(used_objects, kMacHandleBase + s)) {
      slot = s;
    }
  }
  if (slot == kMaxKeys) {
    return ResourceExhaustedError("the TPM store is full (" + std::to_string(kMaxKeys) + " keys)");
  }

  CUSTOS_ASSIGN_OR_RETURN(EsysHandle srk, CreateSrk(esys));
  const TPM2_HANDLE key_handle = kKeyHandleBase + slot;
  const TPM2_HANDLE mac_handle = kMacHandleBase + slot;
  const TPM2B_PUBLIC in =
      type == KeyType::kAes128 ? AesTemplate() : EccTemplate(type == KeyType::kEcdsaP256);
  // On any failure below, nothing of the new key stays in the TPM.
  const auto undo = [&](const Status& status) {
    (void)EvictPersistent(esys, key_handle);
    (void)EvictPersistent(esys, mac_handle);
    (void)UndefineIndex(esys, kRecordIndexBase + slot);
    return Annotate(status, "generating key " + Quoted(label));
  };
  StatusOr<std::vector<uint8_t>> name = CreatePersistent(esys, srk, in, key_handle);
  if (!name.ok()) return undo(name.status());
  std::vector<uint8_t> mac_name;
  if (type == KeyType::kAes128) {
    StatusOr<std::vector<uint8_t>> created =
        CreatePersistent(esys, srk, HmacTemplate(), mac_handle);
    if (!created.ok()) return undo(created.status());
    mac_name = *std::move(created);
  }

  const std::vector<uint8_t> bytes = EncodeRecord(type, label, *name, mac_name);
  StatusOr<EsysHandle> nv =
      DefineNv(esys, kRecordIndexBase + slot, static_cast<uint16_t>(bytes.size()), false, {});
  if (!nv.ok()) return undo(nv.status());
  TPM2B_MAX_NV_BUFFER data{};
  data.size = static_cast<uint16_t>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), data.buffer);
  const TSS2_RC rc = Esys_NV_Write(esys, ESYS_TR_RH_OWNER, nv->get(), ESYS_TR_PASSWORD,
                                   ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
  if (rc != TSS2_RC_SUCCESS) return undo(TssError("TPM2_NV_Write(key record)", rc));

  KeyRecord record;
  record.slot = slot;
  record.type = type;
  record.label = std::string(label);
  record.name = *std::move(name);
  record.mac_name = std::move(mac_name);
  KeyInfo info = InfoOf(record);
  connection_->cache.insert_or_assign(record.label, std::move(record));
  return info;
}

StatusOr<std::vector<KeyInfo>> TpmKeyStore::List() {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<KeyRecord> records, ReadRecords());
  std::vector<KeyInfo> infos;
  infos.reserve(records.size());
  for (const KeyRecord& record : records) infos.push_back(InfoOf(record));
  return infos;
}

StatusOr<KeyInfo> TpmKeyStore::Find(std::string_view label) {
  CUSTOS_RETURN_IF_ERROR(CheckName("key label", label, kMaxLabelBytes));
  CUSTOS_RETURN_IF_ERROR(ReadRecords().status());  // fresh: another process may have changed it
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecord(label));
  return InfoOf(record);
}

Status TpmKeyStore::Destroy(std::string_view label) {
  CUSTOS_RETURN_IF_ERROR(CheckName("key label", label, kMaxLabelBytes));
  CUSTOS_RETURN_IF_ERROR(ReadRecords().status());
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecord(label));
  ESYS_CONTEXT* esys = connection_->esys;
  connection_->cache.erase(record.label);
  // The record goes first: an interruption leaves an unreachable object that
  // ZeroizeKeys removes, never a record that points at nothing.
  CUSTOS_RETURN_IF_ERROR(UndefineIndex(esys, kRecordIndexBase + record.slot));
  CUSTOS_RETURN_IF_ERROR(EvictPersistent(esys, kKeyHandleBase + record.slot));
  return EvictPersistent(esys, kMacHandleBase + record.slot);
}

StatusOr<std::size_t> TpmKeyStore::ZeroizeKeys() {
  ESYS_CONTEXT* esys = connection_->esys;
  connection_->cache.clear();
  CUSTOS_ASSIGN_OR_RETURN(std::vector<TPM2_HANDLE> records,
                          HandlesIn(esys, kRecordIndexBase, kRecordIndexBase + kMaxKeys - 1));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint32_t> objects, CustosPersistentHandles());
  // Keep going after a failure so that as much as possible is destroyed.
  Status first_error;
  for (TPM2_HANDLE index : records) first_error.Update(UndefineIndex(esys, index));
  for (uint32_t handle : objects) first_error.Update(EvictPersistent(esys, handle));
  if (!first_error.ok()) return Annotate(first_error, "zeroizing the TPM store");
  return records.size();
}

StatusOr<std::vector<uint32_t>> TpmKeyStore::CustosPersistentHandles() {
  return HandlesIn(connection_->esys, kKeyHandleBase, kMacHandleBase + kMaxKeys - 1);
}

// ---- public keys, signatures ----

StatusOr<std::vector<uint8_t>> TpmKeyStore::PublicPoint(const KeyRecord& record) {
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(
      EsysHandle key, OpenChecked(esys, kKeyHandleBase + record.slot, record.name, record.label));
  TPM2B_PUBLIC* raw_public = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  TPM2B_NAME* raw_qualified = nullptr;
  const TSS2_RC rc = Esys_ReadPublic(esys, key.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     &raw_public, &raw_name, &raw_qualified);
  EsysPtr<TPM2B_PUBLIC> out_public(raw_public);
  Esys_Free(raw_name);
  Esys_Free(raw_qualified);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_ReadPublic", rc);
  const TPMS_ECC_POINT& point = out_public->publicArea.unique.ecc;
  if (out_public->publicArea.type != TPM2_ALG_ECC || point.x.size > 32 || point.y.size > 32) {
    return DataLossError("key " + Quoted(record.label) + " is not a P-256 key in the TPM");
  }
  std::vector<uint8_t> out(65, 0);
  out[0] = 0x04;
  std::copy(point.x.buffer, point.x.buffer + point.x.size, out.begin() + 1 + (32 - point.x.size));
  std::copy(point.y.buffer, point.y.buffer + point.y.size, out.begin() + 33 + (32 - point.y.size));
  return out;
}

StatusOr<std::vector<uint8_t>> TpmKeyStore::Sign(std::string_view label,
                                                 std::span<const uint8_t> message) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecordOfType(label, KeyType::kEcdsaP256, "sign"));
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle key,
                          OpenChecked(esys, kKeyHandleBase + record.slot, record.name, label));
  const std::vector<uint8_t> hash = Sha256(message);
  TPM2B_DIGEST digest{};
  digest.size = 32;
  std::copy(hash.begin(), hash.end(), digest.buffer);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_ECDSA;
  scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  // An unrestricted key signs any digest: the null ticket suffices.
  TPMT_TK_HASHCHECK ticket{};
  ticket.tag = TPM2_ST_HASHCHECK;
  ticket.hierarchy = TPM2_RH_NULL;
  TPMT_SIGNATURE* raw = nullptr;
  const TSS2_RC rc = Esys_Sign(esys, key.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                               &digest, &scheme, &ticket, &raw);
  EsysPtr<TPMT_SIGNATURE> signature(raw);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_Sign with key " + Quoted(label), rc);
  const TPM2B_ECC_PARAMETER& r = signature->signature.ecdsa.signatureR;
  const TPM2B_ECC_PARAMETER& s = signature->signature.ecdsa.signatureS;
  if (r.size > 32 || s.size > 32) return InternalError("TPM returned an oversized ECDSA signature");
  std::vector<uint8_t> out(64, 0);
  std::copy(r.buffer, r.buffer + r.size, out.begin() + (32 - r.size));
  std::copy(s.buffer, s.buffer + s.size, out.begin() + 32 + (32 - s.size));
  return out;
}

Status TpmKeyStore::Verify(std::string_view label, std::span<const uint8_t> message,
                           std::span<const uint8_t> signature) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record,
                          FindRecordOfType(label, KeyType::kEcdsaP256, "verify signatures"));
  if (signature.size() != 64) return UnauthenticatedError("signature does not verify");
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> point, PublicPoint(record));
  CUSTOS_ASSIGN_OR_RETURN(PkeyPtr key, PkeyFromPoint(point));

  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return InternalError("OpenSSL could not build an ECDSA signature");
  }
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig.get(), &der);
  std::unique_ptr<unsigned char, OpensslFree> der_owner(der);
  if (der_length <= 0) return InternalError("OpenSSL could not encode an ECDSA signature");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return InternalError("OpenSSL could not set up ECDSA verification");
  }
  const int ok = EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_length),
                                  message.data(), message.size());
  if (ok != 1) return UnauthenticatedError("signature does not verify");
  return OkStatus();
}

StatusOr<std::vector<uint8_t>> TpmKeyStore::ExportPublicKey(std::string_view label) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecord(label));
  if (record.type == KeyType::kAes128) {
    return FailedPreconditionError("key " + Quoted(label) +
                                   " is a secret key and cannot be exported");
  }
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> point, PublicPoint(record));
  CUSTOS_ASSIGN_OR_RETURN(PkeyPtr key, PkeyFromPoint(point));
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key.get(), &der);
  if (length <= 0) return InternalError("OpenSSL could not encode a SubjectPublicKeyInfo");
  std::vector<uint8_t> out(der, der + length);
  OPENSSL_free(der);
  return out;
}

// ---- ECDH ----

StatusOr<SecretBytes> TpmKeyStore::DeriveSharedKey(std::string_view label,
                                                   std::span<const uint8_t> peer_public_key,
                                                   std::span<const uint8_t> salt,
                                                   std::span<const uint8_t> info,
                                                   std::size_t length) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record,
                          FindRecordOfType(label, KeyType::kEcdhP256, "agree on keys"));
  if (length == 0 || length > kMaxDeriveBytes) {
    return InvalidArgumentError("derived key length must be 1 to " +
                                std::to_string(kMaxDeriveBytes) + " bytes");
  }
  // The peer's point, validated by OpenSSL's decoder.
  const unsigned char* cursor = peer_public_key.data();
  PkeyPtr peer(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(peer_public_key.size())));
  if (peer == nullptr || cursor != peer_public_key.data() + peer_public_key.size()) {
    return InvalidArgumentError("peer public key is not a DER SubjectPublicKeyInfo");
  }
  std::array<char, 32> group{};
  if (!EVP_PKEY_is_a(peer.get(), "EC") ||
      EVP_PKEY_get_utf8_string_param(peer.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.data(),
                                     group.size(), nullptr) != 1 ||
      std::string_view(group.data()) != "prime256v1") {
    return InvalidArgumentError("peer public key is not a P-256 key");
  }
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  TPM2B_ECC_POINT in_point{};
  const bool got = EVP_PKEY_get_bn_param(peer.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
                   EVP_PKEY_get_bn_param(peer.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
                   BN_bn2binpad(x, in_point.point.x.buffer, 32) == 32 &&
                   BN_bn2binpad(y, in_point.point.y.buffer, 32) == 32;
  BN_free(x);
  BN_free(y);
  if (!got) return InvalidArgumentError("peer public key has no usable P-256 point");
  in_point.point.x.size = 32;
  in_point.point.y.size = 32;

  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle key,
                          OpenChecked(esys, kKeyHandleBase + record.slot, record.name, label));
  TPM2B_ECC_POINT* raw = nullptr;
  const TSS2_RC rc = Esys_ECDH_ZGen(esys, key.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &in_point, &raw);
  EsysSecretPtr<TPM2B_ECC_POINT> out_point(raw, EsysWipeFree{sizeof(TPM2B_ECC_POINT)});
  if (rc != TSS2_RC_SUCCESS) {
    if (BaseRc(rc) == TPM2_RC_ECC_POINT) {
      return InvalidArgumentError("peer public key is not a point on P-256 (TPM refused it)");
    }
    return TssError("TPM2_ECDH_ZGen with key " + Quoted(label), rc);
  }
  const TPM2B_ECC_PARAMETER& zx = out_point->point.x;
  if (zx.size > 32) return InternalError("TPM returned an oversized shared secret");
  SecretBytes z(32);
  std::copy(zx.buffer, zx.buffer + zx.size, z.data() + (32 - zx.size));
  out_point.reset();  // wipes the TPM's copy of Z at once

  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(
      kdf != nullptr ? EVP_KDF_CTX_new(kdf.get()) : nullptr, EVP_KDF_CTX_free);
  std::string digest_name = "SHA256";
  std::vector<OSSL_PARAM> params;
  params.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name.data(), 0));
  params.push_back(OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z.data(), z.size()));
  // Empty salt and info are HKDF's defaults (a zero salt, no info).
  std::vector<uint8_t> salt_copy(salt.begin(), salt.end());
  std::vector<uint8_t> info_copy(info.begin(), info.end());
  if (!salt_copy.empty()) {
    params.push_back(
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_copy.data(), salt_copy.size()));
  }
  if (!info_copy.empty()) {
    params.push_back(
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_copy.data(), info_copy.size()));
  }
  params.push_back(OSSL_PARAM_construct_end());
  SecretBytes out(length);
  if (ctx == nullptr || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    return InternalError("OpenSSL HKDF-SHA-256 failed");
  }
  return out;  // z is wiped here by SecretBytes; the KDF context by EVP_KDF_CTX_free
}

// ---- AEAD ----

namespace {

// AES-128-CFB over `input` with the TPM key, in block-aligned chunks whose IV
// chains through ivOut.
StatusOr<std::vector<uint8_t>> RunCfb(ESYS_CONTEXT* esys, ESYS_TR key, bool decrypt,
                                      std::span<const uint8_t> iv, std::span<const uint8_t> input) {
  std::vector<uint8_t> output;
  output.reserve(input.size());
  TPM2B_IV chain{};
  chain.size = static_cast<uint16_t>(iv.size());
  std::copy(iv.begin(), iv.end(), chain.buffer);
  for (std::size_t offset = 0; offset < input.size(); offset += kChunkBytes) {
    const std::size_t n = std::min(kChunkBytes, input.size() - offset);
    TPM2B_MAX_BUFFER in{};
    in.size = static_cast<uint16_t>(n);
    std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(offset), n, in.buffer);
    TPM2B_MAX_BUFFER* raw_out = nullptr;
    TPM2B_IV* raw_iv = nullptr;
    const TSS2_RC rc =
        Esys_EncryptDecrypt2(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &in,
                             decrypt ? TPM2_YES : TPM2_NO, TPM2_ALG_CFB, &chain, &raw_out, &raw_iv);
    SecureWipe({in.buffer, n});
    EsysSecretPtr<TPM2B_MAX_BUFFER> out(raw_out, EsysWipeFree{sizeof(TPM2B_MAX_BUFFER)});
    EsysPtr<TPM2B_IV> next_iv(raw_iv);
    if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_EncryptDecrypt2", rc);
    output.insert(output.end(), out->buffer, out->buffer + out->size);
    chain = *next_iv;
  }
  return output;
}

// HMAC-SHA-256 inside the TPM: one TPM2_HMAC for short input, an HMAC
// sequence otherwise.
StatusOr<std::vector<uint8_t>> RunHmac(ESYS_CONTEXT* esys, ESYS_TR key,
                                       std::span<const uint8_t> input) {
  const auto buffer_of = [&](std::size_t offset, std::size_t n) {
    TPM2B_MAX_BUFFER buffer{};
    buffer.size = static_cast<uint16_t>(n);
    std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(offset), n, buffer.buffer);
    return buffer;
  };
  TPM2B_DIGEST* raw = nullptr;
  if (input.size() <= kChunkBytes) {
    const TPM2B_MAX_BUFFER buffer = buffer_of(0, input.size());
    const TSS2_RC rc = Esys_HMAC(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &buffer,
                                 TPM2_ALG_SHA256, &raw);
    EsysPtr<TPM2B_DIGEST> mac(raw);
    if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_HMAC", rc);
    return std::vector<uint8_t>(mac->buffer, mac->buffer + mac->size);
  }
  const TPM2B_AUTH auth{};
  ESYS_TR sequence_tr = ESYS_TR_NONE;
  TSS2_RC rc = Esys_HMAC_Start(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &auth,
                               TPM2_ALG_SHA256, &sequence_tr);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_HMAC_Start", rc);
  EsysHandle sequence(esys, sequence_tr, /*flush=*/true);
  std::size_t offset = 0;
  while (input.size() - offset > kChunkBytes) {
    const TPM2B_MAX_BUFFER buffer = buffer_of(offset, kChunkBytes);
    rc = Esys_SequenceUpdate(esys, sequence.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                             &buffer);
    if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_SequenceUpdate", rc);
    offset += kChunkBytes;
  }
  const TPM2B_MAX_BUFFER last = buffer_of(offset, input.size() - offset);
  TPMT_TK_HASHCHECK* raw_ticket = nullptr;
  rc = Esys_SequenceComplete(esys, sequence.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                             &last, ESYS_TR_RH_NULL, &raw, &raw_ticket);
  EsysPtr<TPM2B_DIGEST> mac(raw);
  Esys_Free(raw_ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_SequenceComplete", rc);
  sequence.Release();  // the TPM frees a completed sequence
  return std::vector<uint8_t>(mac->buffer, mac->buffer + mac->size);
}

std::vector<uint8_t> MacInput(std::span<const uint8_t> associated_data, std::span<const uint8_t> iv,
                              std::span<const uint8_t> ciphertext) {
  std::vector<uint8_t> input;
  input.reserve(8 + associated_data.size() + iv.size() + ciphertext.size());
  PutBe64(input, associated_data.size());
  input.insert(input.end(), associated_data.begin(), associated_data.end());
  input.insert(input.end(), iv.begin(), iv.end());
  input.insert(input.end(), ciphertext.begin(), ciphertext.end());
  return input;
}

}  // namespace

StatusOr<std::vector<uint8_t>> TpmKeyStore::Seal(std::string_view label,
                                                 std::span<const uint8_t> plaintext,
                                                 std::span<const uint8_t> associated_data) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecordOfType(label, KeyType::kAes128, "encrypt"));
  if (plaintext.size() > kMaxAeadBytes || associated_data.size() > kMaxAeadBytes) {
    return InvalidArgumentError("TPM AEAD input is limited to " + std::to_string(kMaxAeadBytes) +
                                " bytes of plaintext and of associated data");
  }
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle key,
                          OpenChecked(esys, kKeyHandleBase + record.slot, record.name, label));
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle mac_key,
                          OpenChecked(esys, kMacHandleBase + record.slot, record.mac_name, label));
  std::vector<uint8_t> out(kIvBytes);
  CUSTOS_RETURN_IF_ERROR(FillRandom(out));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> ciphertext,
                          RunCfb(esys, key.get(), /*decrypt=*/false, out, plaintext));
  CUSTOS_ASSIGN_OR_RETURN(
      std::vector<uint8_t> tag,
      RunHmac(
          esys, mac_key.get(),
          MacInput(associated_data, std::span<const uint8_t>(out).first(kIvBytes), ciphertext)));
  out.insert(out.end(), ciphertext.begin(), ciphertext.end());
  out.insert(out.end(), tag.begin(), tag.end());
  return out;
}

StatusOr<std::vector<uint8_t>> TpmKeyStore::Open(std::string_view label,
                                                 std::span<const uint8_t> sealed,
                                                 std::span<const uint8_t> associated_data) {
  CUSTOS_ASSIGN_OR_RETURN(KeyRecord record, FindRecordOfType(label, KeyType::kAes128, "decrypt"));
  if (sealed.size() < kIvBytes + kTagBytes) {
    return UnauthenticatedError("sealed message does not authenticate");
  }
  if (sealed.size() > kMaxAeadBytes + kIvBytes + kTagBytes ||
      associated_data.size() > kMaxAeadBytes) {
    return InvalidArgumentError("TPM AEAD input is limited to " + std::to_string(kMaxAeadBytes) +
                                " bytes of plaintext and of associated data");
  }
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle key,
                          OpenChecked(esys, kKeyHandleBase + record.slot, record.name, label));
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle mac_key,
                          OpenChecked(esys, kMacHandleBase + record.slot, record.mac_name, label));
  const std::span<const uint8_t> iv = sealed.first(kIvBytes);
  const std::span<const uint8_t> ciphertext =
      sealed.subspan(kIvBytes, sealed.size() - kIvBytes - kTagBytes);
  const std::span<const uint8_t> tag = sealed.last(kTagBytes);
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> expected,
                          RunHmac(esys, mac_key.get(), MacInput(associated_data, iv, ciphertext)));
  if (!CtEqual(expected, tag)) return UnauthenticatedError("sealed message does not authenticate");
  return RunCfb(esys, key.get(), /*decrypt=*/true, iv, ciphertext);
}

// ---- counters ----

namespace {

struct CounterLocation {
  TPM2_HANDLE index = 0;
  bool defined = false;
};

// Finds the NV counter of `name` by linear probing from a hash of the name;
// the first empty index ends the search (counters are never deleted).
StatusOr<CounterLocation> LocateCounter(ESYS_CONTEXT* esys, std::string_view name) {
  const std::vector<uint8_t> tag = CounterTag(name);
  const uint32_t start = ((uint32_t{tag[0]} << 8) | tag[1]) % kCounterSlots;
  for (uint32_t i = 0; i < kCounterSlots; ++i) {
    const TPM2_HANDLE index = kCounterIndexBase + (start + i) % kCounterSlots;
    StatusOr<EsysHandle> nv = FromTpm(esys, index);
    if (nv.status().code() == StatusCode::kNotFound) return CounterLocation{index, false};
    if (!nv.ok()) return nv.status();
    TPM2B_NV_PUBLIC* raw_public = nullptr;
    TPM2B_NAME* raw_name = nullptr;
    const TSS2_RC rc = Esys_NV_ReadPublic(esys, nv->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                          &raw_public, &raw_name);
    EsysPtr<TPM2B_NV_PUBLIC> nv_public(raw_public);
    Esys_Free(raw_name);
    if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_NV_ReadPublic(" + Hex32(index) + ")", rc);
    const TPM2B_DIGEST& policy = nv_public->nvPublic.authPolicy;
    if (std::equal(tag.begin(), tag.end(), policy.buffer, policy.buffer + policy.size)) {
      return CounterLocation{index, true};
    }
  }
  return ResourceExhaustedError("no free NV index for counter '" + std::string(name) + "'");
}

StatusOr<uint64_t> ReadCounterAt(ESYS_CONTEXT* esys, const EsysHandle& nv, TPM2_HANDLE index) {
  TPM2B_MAX_NV_BUFFER* raw = nullptr;
  const TSS2_RC rc = Esys_NV_Read(esys, ESYS_TR_RH_OWNER, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                  ESYS_TR_NONE, 8, 0, &raw);
  EsysPtr<TPM2B_MAX_NV_BUFFER> data(raw);
  if (rc != TSS2_RC_SUCCESS) {
    if (BaseRc(rc) == TPM2_RC_NV_UNINITIALIZED) return uint64_t{0};
    return TssError("TPM2_NV_Read(counter " + Hex32(index) + ")", rc);
  }
  if (data->size != 8) return DataLossError("counter " + Hex32(index) + " is not 8 bytes");
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | data->buffer[i];
  return value;
}

}  // namespace

StatusOr<uint64_t> TpmKeyStore::ReadCounter(std::string_view name) {
  CUSTOS_RETURN_IF_ERROR(CheckName("counter name", name, kMaxCounterNameBytes));
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(CounterLocation location, LocateCounter(esys, name));
  if (!location.defined) return uint64_t{0};
  CUSTOS_ASSIGN_OR_RETURN(EsysHandle nv, FromTpm(esys, location.index));
  return ReadCounterAt(esys, nv, location.index);
}

StatusOr<uint64_t> TpmKeyStore::IncrementCounter(std::string_view name) {
  CUSTOS_RETURN_IF_ERROR(CheckName("counter name", name, kMaxCounterNameBytes));
  ESYS_CONTEXT* esys = connection_->esys;
  CUSTOS_ASSIGN_OR_RETURN(CounterLocation location, LocateCounter(esys, name));
  StatusOr<EsysHandle> nv =
      location.defined ? FromTpm(esys, location.index)
                       : DefineNv(esys, location.index, 8, /*counter=*/true, CounterTag(name));
  if (!nv.ok()) return Annotate(nv.status(), "counter '" + std::string(name) + "'");
  const TSS2_RC rc = Esys_NV_Increment(esys, ESYS_TR_RH_OWNER, nv->get(), ESYS_TR_PASSWORD,
                                       ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) {
    return TssError("TPM2_NV_Increment(counter '" + std::string(name) + "')", rc);
  }
  return ReadCounterAt(esys, *nv, location.index);
}

// ---- PCRs ----

namespace {

Status CheckPcrIndex(int index) {
  if (index < 0 || index > 23) {
    return InvalidArgumentError("PCR index " + std::to_string(index) + " is not in 0-23");
  }
  return OkStatus();
}

}  // namespace

Status TpmKeyStore::ExtendPcr(int index, const PcrDigest& digest) {
  CUSTOS_RETURN_IF_ERROR(CheckPcrIndex(index));
  TPML_DIGEST_VALUES values{};
  values.count = 1;
  values.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::copy(digest.begin(), digest.end(), values.digests[0].digest.sha256);
  const TSS2_RC rc = Esys_PCR_Extend(connection_->esys, ESYS_TR_PCR0 + static_cast<ESYS_TR>(index),
                                     ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_PCR_Extend(" + std::to_string(index) + ")", rc);
  return OkStatus();
}

StatusOr<PcrDigest> TpmKeyStore::ReadPcr(int index) {
  CUSTOS_RETURN_IF_ERROR(CheckPcrIndex(index));
  TPML_PCR_SELECTION selection{};
  selection.count = 1;
  selection.pcrSelections[0].hash = TPM2_ALG_SHA256;
  selection.pcrSelections[0].sizeofSelect = 3;
  selection.pcrSelections[0].pcrSelect[index / 8] = static_cast<uint8_t>(1u << (index % 8));
  uint32_t update_counter = 0;
  TPML_PCR_SELECTION* raw_selection = nullptr;
  TPML_DIGEST* raw_values = nullptr;
  const TSS2_RC rc = Esys_PCR_Read(connection_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   &selection, &update_counter, &raw_selection, &raw_values);
  EsysPtr<TPML_PCR_SELECTION> out_selection(raw_selection);
  EsysPtr<TPML_DIGEST> values(raw_values);
  if (rc != TSS2_RC_SUCCESS) return TssError("TPM2_PCR_Read(" + std::to_string(index) + ")", rc);
  if (values->count != 1 || values->digests[0].size != 32) {
    return FailedPreconditionError("the TPM has no active SHA-256 PCR bank");
  }
  PcrDigest out{};
  std::copy_n(values->digests[0].buffer, 32, out.begin());
  return out;
}

}  // namespace custos::keystore
