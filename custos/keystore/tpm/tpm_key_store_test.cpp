// Tests of TpmKeyStore against a real swtpm started per test.
#include "custos/keystore/tpm/tpm_key_store.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "custos/keystore/tpm/swtpm_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr ParseSpki(std::span<const uint8_t> der) {
  const unsigned char* cursor = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
}

std::vector<uint8_t> ToSpki(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  std::vector<uint8_t> out(der, der + std::max(length, 0));
  OPENSSL_free(der);
  return out;
}

// Verifies a raw r || s P-256 signature with OpenSSL alone (differential check).
bool OpenSslVerify(std::span<const uint8_t> spki, std::span<const uint8_t> message,
                   std::span<const uint8_t> raw_signature) {
  PkeyPtr key = ParseSpki(spki);
  if (key == nullptr || raw_signature.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw_signature.data(), 32, nullptr),
                 BN_bin2bn(raw_signature.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_length), message.data(),
                                   message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

PkeyPtr NewKey(const char* group) {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group));
}

// ECDH + HKDF-SHA-256 computed by OpenSSL alone.
std::vector<uint8_t> OpenSslDerive(EVP_PKEY* own, std::span<const uint8_t> peer_spki,
                                   std::span<const uint8_t> salt, std::span<const uint8_t> info,
                                   std::size_t length) {
  PkeyPtr peer = ParseSpki(peer_spki);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(own, nullptr);
  std::vector<uint8_t> z(32);
  std::size_t z_length = z.size();
  EVP_PKEY_derive_init(ctx);
  EVP_PKEY_derive_set_peer(ctx, peer.get());
  EVP_PKEY_derive(ctx, z.data(), &z_length);
  EVP_PKEY_CTX_free(ctx);
  std::vector<uint8_t> out(length);
  EVP_PKEY_CTX* kdf = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  EVP_PKEY_derive_init(kdf);
  EVP_PKEY_CTX_set_hkdf_md(kdf, EVP_sha256());
  EVP_PKEY_CTX_set1_hkdf_key(kdf, z.data(), static_cast<int>(z.size()));
  if (!salt.empty()) EVP_PKEY_CTX_set1_hkdf_salt(kdf, salt.data(), static_cast<int>(salt.size()));
  if (!info.empty()) EVP_PKEY_CTX_add1_hkdf_info(kdf, info.data(), static_cast<int>(info.size()));
  std::size_t out_length = out.size();
  EVP_PKEY_derive(kdf, out.data(), &out_length);
  EVP_PKEY_CTX_free(kdf);
  return out;
}

PcrDigest HostExtend(const PcrDigest& pcr, const PcrDigest& digest) {
  std::vector<uint8_t> input(pcr.begin(), pcr.end());
  input.insert(input.end(), digest.begin(), digest.end());
  PcrDigest out{};
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

class TpmKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start(options_);
    ASSERT_THAT(tpm, IsOk());
    tpm_ = *std::move(tpm);
    Reopen();
  }

  // Closes the store and opens a fresh connection (swtpm serves one at a time).
  void Reopen() {
    store_.reset();
    StatusOr<std::unique_ptr<TpmKeyStore>> store = OpenTpmKeyStore(tpm_->Tcti());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  SwtpmOptions options_;
  std::unique_ptr<SwtpmProcess> tpm_;
  std::unique_ptr<TpmKeyStore> store_;
};

TEST_F(TpmKeyStoreTest, DescribesItself) {
  EXPECT_EQ(store_->BackendName(), "tpm");
  EXPECT_TRUE(store_->HardwareProtected());
  EXPECT_THAT(store_->SupportedKeyTypes(),
              ElementsAre(KeyType::kEcdsaP256, KeyType::kEcdhP256, KeyType::kAes128));
}

TEST_F(TpmKeyStoreTest, TypesTpmLacksAreUnimplemented) {
  for (KeyType type : {KeyType::kEd25519, KeyType::kX25519, KeyType::kAsconAead128}) {
    EXPECT_THAT(store_->Generate(type, "k"),
                StatusIs(StatusCode::kUnimplemented, HasSubstr(KeyTypeName(type))));
  }
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
}

TEST_F(TpmKeyStoreTest, GenerateListFindDestroy) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "sign"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "agree"), IsOk());
  StatusOr<KeyInfo> aes = store_->Generate(KeyType::kAes128, "box");
  ASSERT_THAT(aes, IsOk());
  EXPECT_EQ(aes->aead_algorithm, kTpmAeadAlgorithm);
  EXPECT_FALSE(aes->extractable);
  EXPECT_THAT(store_->Generate(KeyType::kEcdsaP256, "sign"),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("'sign'")));

  StatusOr<std::vector<KeyInfo>> keys = store_->List();
  ASSERT_THAT(keys, IsOk());
  EXPECT_THAT(*keys, ElementsAre(Field(&KeyInfo::label, "agree"), Field(&KeyInfo::label, "box"),
                                 Field(&KeyInfo::label, "sign")));
  EXPECT_THAT(store_->Find("agree"), IsOkAndHolds(Field(&KeyInfo::type, KeyType::kEcdhP256)));
  // ecdsa + ecdh + aes (two objects).
  EXPECT_THAT(store_->CustosPersistentHandles(), IsOkAndHolds(SizeIs(4)));

  EXPECT_THAT(store_->Destroy("box"), IsOk());
  EXPECT_THAT(store_->Find("box"), StatusIs(StatusCode::kNotFound, HasSubstr("'box'")));
  EXPECT_THAT(store_->Destroy("box"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->CustosPersistentHandles(), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(store_->Seal("box", Bytes("x"), {}), StatusIs(StatusCode::kNotFound));
  // The freed slot is reused.
  EXPECT_THAT(store_->Generate(KeyType::kAes128, "box2"), IsOk());
}

TEST_F(TpmKeyStoreTest, LabelsAreChecked) {
  EXPECT_THAT(store_->Generate(KeyType::kEcdsaP256, ""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->Generate(KeyType::kEcdsaP256, std::string(129, 'a')),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("1 to 128")));
  EXPECT_THAT(store_->Generate(KeyType::kEcdsaP256, std::string(128, 'a')), IsOk());
  EXPECT_THAT(store_->Find("missing"), StatusIs(StatusCode::kNotFound, HasSubstr("'missing'")));
}

TEST_F(TpmKeyStoreTest, EcdsaSignaturesVerifyInOpenSsl) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "device"), IsOk());
  const std::vector<uint8_t> message = Bytes("firmware manifest v1");
  StatusOr<std::vector<uint8_t>> signature = store_->Sign("device", message);
  ASSERT_THAT(signature, IsOk());
  ASSERT_THAT(*signature, SizeIs(64));
  StatusOr<std::vector<uint8_t>> spki = store_->ExportPublicKey("device");
  ASSERT_THAT(spki, IsOk());
  EXPECT_TRUE(OpenSslVerify(*spki, message, *signature));
  EXPECT_THAT(store_->Verify("device", message, *signature), IsOk());

  std::vector<uint8_t> tampered_message = message;
  tampered_message[0] ^= 1;
  EXPECT_THAT(store_->Verify("device", tampered_message, *signature),
              StatusIs(StatusCode::kUnauthenticated));
  std::vector<uint8_t> tampered_signature = *signature;
  tampered_signature[40] ^= 0x80;
  EXPECT_THAT(store_->Verify("device", message, tampered_signature),
              StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->Verify("device", message, std::span(*signature).first(63)),
              StatusIs(StatusCode::kUnauthenticated));
  // ECDSA is randomised: two signatures differ, both verify.
  StatusOr<std::vector<uint8_t>> second = store_->Sign("device", message);
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(*second, *signature);
  EXPECT_TRUE(OpenSslVerify(*spki, message, *second));
}

TEST_F(TpmKeyStoreTest, EcdhMatchesOpenSslPeer) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "kex"), IsOk());
  StatusOr<std::vector<uint8_t>> tpm_public = store_->ExportPublicKey("kex");
  ASSERT_THAT(tpm_public, IsOk());
  PkeyPtr peer = NewKey("P-256");
  ASSERT_NE(peer, nullptr);
  const std::vector<uint8_t> salt = Bytes("salt");
  const std::vector<uint8_t> info = Bytes("custos session");
  StatusOr<SecretBytes> derived =
      store_->DeriveSharedKey("kex", ToSpki(peer.get()), salt, info, 42);
  ASSERT_THAT(derived, IsOk());
  const std::vector<uint8_t> expected = OpenSslDerive(peer.get(), *tpm_public, salt, info, 42);
  EXPECT_EQ(std::vector<uint8_t>(derived->span().begin(), derived->span().end()), expected);
  // Empty salt and info are HKDF's defaults.
  StatusOr<SecretBytes> plain = store_->DeriveSharedKey("kex", ToSpki(peer.get()), {}, {}, 32);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(std::vector<uint8_t>(plain->span().begin(), plain->span().end()),
            OpenSslDerive(peer.get(), *tpm_public, {}, {}, 32));
}

TEST_F(TpmKeyStoreTest, EcdhRejectsBadPeersAndLengths) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "kex"), IsOk());
  PkeyPtr p384 = NewKey("P-384");
  EXPECT_THAT(store_->DeriveSharedKey("kex", ToSpki(p384.get()), {}, {}, 32),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("P-256")));
  std::vector<uint8_t> garbage = ToSpki(NewKey("P-256").get());
  garbage.back() ^= 0x55;  // moves the point off the curve
  EXPECT_THAT(store_->DeriveSharedKey("kex", garbage, {}, {}, 32),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->DeriveSharedKey("kex", Bytes("not der"), {}, {}, 32),
              StatusIs(StatusCode::kInvalidArgument));
  const std::vector<uint8_t> good = ToSpki(NewKey("P-256").get());
  EXPECT_THAT(store_->DeriveSharedKey("kex", good, {}, {}, 0),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->DeriveSharedKey("kex", good, {}, {}, 255 * 32 + 1),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(TpmKeyStoreTest, AeadRoundTripsAndRejectsTampering) {
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "box"), IsOk());
  const std::vector<uint8_t> ad = Bytes("header");
  // Empty, short, and longer than one TPM buffer (chunked CFB, HMAC sequence).
  for (std::size_t size : {std::size_t{0}, std::size_t{5}, std::size_t{3000}}) {
    std::vector<uint8_t> plaintext(size);
    for (std::size_t i = 0; i < size; ++i) plaintext[i] = static_cast<uint8_t>(i * 7);
    StatusOr<std::vector<uint8_t>> sealed = store_->Seal("box", plaintext, ad);
    ASSERT_THAT(sealed, IsOk());
    ASSERT_EQ(sealed->size(), 16 + size + 32);
    EXPECT_THAT(store_->Open("box", *sealed, ad), IsOkAndHolds(plaintext));
    EXPECT_THAT(store_->Open("box", *sealed, Bytes("other")),
                StatusIs(StatusCode::kUnauthenticated));
    for (std::size_t position : {std::size_t{0}, 16 + size / 2, sealed->size() - 1}) {
      std::vector<uint8_t> tampered = *sealed;
      tampered[position] ^= 1;
      EXPECT_THAT(store_->Open("box", tampered, ad), StatusIs(StatusCode::kUnauthenticated))
          << "size " << size << " position " << position;
    }
  }
  StatusOr<std::vector<uint8_t>> a = store_->Seal("box", Bytes("same"), {});
  StatusOr<std::vector<uint8_t>> b = store_->Seal("box", Bytes("same"), {});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);  // fresh IV each time
  EXPECT_THAT(store_->Open("box", std::span(*a).first(47), {}),
              StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(TpmKeyStoreTest, SecretKeysAreNotExportedAndTypesAreSeparate) {
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "box"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "kex"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "sig"), IsOk());
  EXPECT_THAT(store_->ExportPublicKey("box"),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("cannot be exported")));
  EXPECT_THAT(store_->Sign("kex", Bytes("m")), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->Sign("box", Bytes("m")), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->Seal("sig", Bytes("m"), {}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->DeriveSharedKey("sig", ToSpki(NewKey("P-256").get()), {}, {}, 32),
              StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(TpmKeyStoreTest, CountersAreMonotonicAndIndependent) {
  EXPECT_THAT(store_->ReadCounter("firmware"), IsOkAndHolds(0u));
  StatusOr<uint64_t> first = store_->IncrementCounter("firmware");
  ASSERT_THAT(first, IsOk());
  EXPECT_GE(*first, 1u);
  EXPECT_THAT(store_->IncrementCounter("firmware"), IsOkAndHolds(*first + 1));
  EXPECT_THAT(store_->ReadCounter("firmware"), IsOkAndHolds(*first + 1));
  EXPECT_THAT(store_->ReadCounter("config"), IsOkAndHolds(0u));
  StatusOr<uint64_t> other = store_->IncrementCounter("config");
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(store_->ReadCounter("firmware"), IsOkAndHolds(*first + 1));
  Reopen();
  EXPECT_THAT(store_->ReadCounter("firmware"), IsOkAndHolds(*first + 1));
  EXPECT_THAT(store_->ReadCounter("config"), IsOkAndHolds(*other));
  EXPECT_THAT(store_->ReadCounter(""), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(TpmKeyStoreTest, ZeroizeDestroysEveryKeyButKeepsCounters) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "a"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "b"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "c"), IsOk());
  StatusOr<uint64_t> counter = store_->IncrementCounter("rollback");
  ASSERT_THAT(counter, IsOk());
  ASSERT_THAT(store_->CustosPersistentHandles(), IsOkAndHolds(SizeIs(4)));

  EXPECT_THAT(store_->ZeroizeKeys(), IsOkAndHolds(3u));

  // A fresh connection sees no key, no record and no persistent object.
  Reopen();
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->CustosPersistentHandles(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->Sign("a", Bytes("m")), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->ReadCounter("rollback"), IsOkAndHolds(*counter));
  EXPECT_THAT(store_->ZeroizeKeys(), IsOkAndHolds(0u));
}

// Defines NV index `index` holding `content` through a separate raw ESAPI
// connection (the store must be closed: swtpm serves one connection at a time).
bool WriteRawNv(const std::string& tcti, TPM2_HANDLE index, const std::vector<uint8_t>& content) {
  TSS2_TCTI_CONTEXT* tcti_context = nullptr;
  ESYS_CONTEXT* esys = nullptr;
  if (Tss2_TctiLdr_Initialize(tcti.c_str(), &tcti_context) != TSS2_RC_SUCCESS) return false;
  bool ok = Esys_Initialize(&esys, tcti_context, nullptr) == TSS2_RC_SUCCESS;
  if (ok) {
    const TPM2B_AUTH auth{};
    TPM2B_NV_PUBLIC info{};
    info.nvPublic.nvIndex = index;
    info.nvPublic.nameAlg = TPM2_ALG_SHA256;
    info.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
    info.nvPublic.dataSize = static_cast<uint16_t>(content.size());
    ESYS_TR nv = ESYS_TR_NONE;
    TPM2B_MAX_NV_BUFFER data{};
    data.size = static_cast<uint16_t>(content.size());
    std::copy(content.begin(), content.end(), data.buffer);
    ok = Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                             &auth, &info, &nv) == TSS2_RC_SUCCESS &&
         Esys_NV_Write(esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                       &data, 0) == TSS2_RC_SUCCESS;
    Esys_Finalize(&esys);
  }
  Tss2_TctiLdr_Finalize(&tcti_context);
  return ok;
}

TEST_F(TpmKeyStoreTest, CorruptRecordIsDataLossAndZeroizeClearsIt) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "good"), IsOk());
  store_.reset();
  // Slot 7's record: version 1, type 9 (unknown), truncated.
  ASSERT_TRUE(WriteRawNv(tpm_->Tcti(), 0x013C0007, {1, 9, 4, 'b'}));
  Reopen();
  EXPECT_THAT(store_->List(), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(store_->ZeroizeKeys(), IsOkAndHolds(2u));
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
}

TEST_F(TpmKeyStoreTest, PcrExtendReplaysOnTheHost) {
  constexpr int kPcr = 16;  // the debug PCR: extendable and resettable at locality 0
  StatusOr<PcrDigest> start = store_->ReadPcr(kPcr);
  ASSERT_THAT(start, IsOk());
  PcrDigest expected = *start;
  for (uint8_t seed : {1, 2, 3}) {
    PcrDigest measurement{};
    measurement.fill(seed);
    ASSERT_THAT(store_->ExtendPcr(kPcr, measurement), IsOk());
    expected = HostExtend(expected, measurement);
  }
  EXPECT_THAT(store_->ReadPcr(kPcr), IsOkAndHolds(expected));
  EXPECT_THAT(store_->ReadPcr(24), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->ExtendPcr(-1, PcrDigest{}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(TpmKeyStoreRestartTest, KeysSurviveProcessAndTpmRestart) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("tpm_restart_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  SwtpmOptions options;
  options.state_dir = dir.string();
  std::vector<uint8_t> spki;
  std::vector<uint8_t> sealed;
  {
    StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start(options);
    ASSERT_THAT(tpm, IsOk());
    StatusOr<std::unique_ptr<TpmKeyStore>> store = OpenTpmKeyStore((*tpm)->Tcti());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Generate(KeyType::kEcdsaP256, "identity"), IsOk());
    ASSERT_THAT((*store)->Generate(KeyType::kAes128, "vault"), IsOk());
    StatusOr<std::vector<uint8_t>> exported = (*store)->ExportPublicKey("identity");
    ASSERT_THAT(exported, IsOk());
    spki = *exported;
    StatusOr<std::vector<uint8_t>> box = (*store)->Seal("vault", Bytes("secret"), {});
    ASSERT_THAT(box, IsOk());
    sealed = *box;
    store->reset();
    ASSERT_THAT((*tpm)->Stop(), IsOk());
  }
  StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start(options);
  ASSERT_THAT(tpm, IsOk());
  StatusOr<std::unique_ptr<TpmKeyStore>> store = OpenTpmKeyStore((*tpm)->Tcti());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->List(), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT((*store)->ExportPublicKey("identity"), IsOkAndHolds(spki));
  StatusOr<std::vector<uint8_t>> signature = (*store)->Sign("identity", Bytes("after restart"));
  ASSERT_THAT(signature, IsOk());
  EXPECT_TRUE(OpenSslVerify(spki, Bytes("after restart"), *signature));
  EXPECT_THAT((*store)->Open("vault", sealed, {}), IsOkAndHolds(Bytes("secret")));
  store->reset();
  tpm->reset();
  std::filesystem::remove_all(dir);
}

TEST(TpmKeyStoreOpenTest, UnreachableTpmIsUnavailable) {
  uint16_t port = 0;
  {
    StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start();
    ASSERT_THAT(tpm, IsOk());
    port = (*tpm)->port();
  }  // stopped: nothing listens there now
  const std::string tcti = "swtpm:host=127.0.0.1,port=" + std::to_string(port);
  EXPECT_THAT(
      OpenTpmKeyStore(tcti),
      StatusIs(StatusCode::kUnavailable, HasSubstr("TPM not reachable at TCTI '" + tcti + "': ")));
  EXPECT_THAT(OpenTpmKeyStore("no-such-tcti-module"), StatusIs(StatusCode::kUnavailable));
}

}  // namespace
}  // namespace custos::keystore
