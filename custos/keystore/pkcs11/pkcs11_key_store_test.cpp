// Tests of the PKCS#11 key store against a real SoftHSM2 token, created per
// test in a temporary folder.
#include "custos/keystore/pkcs11/pkcs11_key_store.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "custos/core/ct.h"
#include "custos/core/hex.h"
#include "custos/keystore/pkcs11/internal/pkcs11_module.h"
#include "custos/keystore/pkcs11/pkcs11_uri.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr ParseSpki(const std::vector<uint8_t>& der) {
  const unsigned char* cursor = der.data();
  return PkeyPtr(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
}

// Verifies a raw r||s ECDSA P-256 / SHA-256 signature with OpenSSL.
bool OpenSslVerifyEcdsa(const std::vector<uint8_t>& spki, std::span<const uint8_t> message,
                        std::span<const uint8_t> raw) {
  PkeyPtr key = ParseSpki(spki);
  if (!key || raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_size = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, der, der_size, message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

bool OpenSslVerifyEd25519(const std::vector<uint8_t>& spki, std::span<const uint8_t> message,
                          std::span<const uint8_t> signature) {
  PkeyPtr key = ParseSpki(spki);
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(),
                                   message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

class Pkcs11KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = SoftHsmTestToken::Create("custos-test");
    ASSERT_THAT(token, IsOk());
    token_ = std::make_unique<SoftHsmTestToken>(*std::move(token));
    auto store = OpenPkcs11KeyStore(token_->uri());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    token_.reset();
  }

  // Closes and reopens the store (a fresh session).
  void Reopen() {
    store_.reset();
    auto store = OpenPkcs11KeyStore(token_->uri());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  std::unique_ptr<SoftHsmTestToken> token_;
  std::unique_ptr<KeyStore> store_;
};

const std::vector<uint8_t> kMessage = {'h', 'e', 'l', 'l', 'o', ' ', 'c', 'u', 's', 't', 'o', 's'};

TEST_F(Pkcs11KeyStoreTest, ReportsBackendAndSupportedTypesFromTheModule) {
  EXPECT_EQ(store_->BackendName(), "pkcs11");
  EXPECT_TRUE(store_->HardwareProtected());
  const std::vector<KeyType> types = store_->SupportedKeyTypes();
  EXPECT_THAT(types, Contains(KeyType::kEcdsaP256));
  EXPECT_THAT(types, Contains(KeyType::kEcdhP256));
  EXPECT_THAT(types, Contains(KeyType::kAes128));
  EXPECT_THAT(types, Not(Contains(KeyType::kAsconAead128)));
  // SoftHSM 2.6.1 offers CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA but no
  // Montgomery mechanism.
  EXPECT_THAT(types, Contains(KeyType::kEd25519));
  EXPECT_THAT(types, Not(Contains(KeyType::kX25519)));
}

TEST_F(Pkcs11KeyStoreTest, UnsupportedTypesAreUnimplemented) {
  EXPECT_THAT(store_->Generate(KeyType::kAsconAead128, "a"),
              StatusIs(StatusCode::kUnimplemented, HasSubstr("ascon-aead128")));
  for (const KeyType type : AllKeyTypes()) {
    const std::vector<KeyType> types = store_->SupportedKeyTypes();
    if (std::find(types.begin(), types.end(), type) != types.end()) continue;
    EXPECT_THAT(store_->Generate(type, "k"), StatusIs(StatusCode::kUnimplemented))
        << KeyTypeName(type);
  }
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
}

TEST_F(Pkcs11KeyStoreTest, EcdsaP256SignsAndVerifiesInsideTheToken) {
  auto info = store_->Generate(KeyType::kEcdsaP256, "device");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->label, "device");
  EXPECT_EQ(info->type, KeyType::kEcdsaP256);
  EXPECT_FALSE(info->extractable);
  EXPECT_TRUE(info->aead_algorithm.empty());

  auto signature = store_->Sign("device", kMessage);
  ASSERT_THAT(signature, IsOk());
  ASSERT_EQ(signature->size(), 64u);
  EXPECT_THAT(store_->Verify("device", kMessage, *signature), IsOk());

  // The same signature checks with OpenSSL against the exported key.
  auto spki = store_->ExportPublicKey("device");
  ASSERT_THAT(spki, IsOk());
  EXPECT_TRUE(OpenSslVerifyEcdsa(*spki, kMessage, *signature));

  std::vector<uint8_t> tampered = kMessage;
  tampered[0] ^= 1;
  EXPECT_THAT(store_->Verify("device", tampered, *signature),
              StatusIs(StatusCode::kUnauthenticated));
  std::vector<uint8_t> bad_signature = *signature;
  bad_signature[10] ^= 0x40;
  EXPECT_THAT(store_->Verify("device", kMessage, bad_signature),
              StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->Verify("device", kMessage, std::span(*signature).first(63)),
              StatusIs(StatusCode::kUnauthenticated));
  EXPECT_FALSE(OpenSslVerifyEcdsa(*spki, tampered, *signature));
}

// The store remembers key handles between signatures; a key destroyed or
// replaced through another session must not be used through a stale handle.
TEST_F(Pkcs11KeyStoreTest, SignsWithTheKeyTheLabelNamesNowAfterChangesInAnotherSession) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "ca"), IsOk());
  auto first_public = store_->ExportPublicKey("ca");
  ASSERT_THAT(first_public, IsOk());
  auto signature = store_->Sign("ca", kMessage);  // the handle is now cached
  ASSERT_THAT(signature, IsOk());
  EXPECT_TRUE(OpenSslVerifyEcdsa(*first_public, kMessage, *signature));

  auto other = OpenPkcs11KeyStore(token_->uri());
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT((*other)->Destroy("ca"), IsOk());
  EXPECT_THAT(store_->Sign("ca", kMessage), StatusIs(StatusCode::kNotFound, HasSubstr("'ca'")));
  EXPECT_THAT(store_->Find("ca"), StatusIs(StatusCode::kNotFound));

  // Re-created with another type under the same label.
  ASSERT_THAT((*other)->Generate(KeyType::kEd25519, "ca"), IsOk());
  EXPECT_THAT(store_->Find("ca"),
              IsOkAndHolds(::testing::Field(&KeyInfo::type, KeyType::kEd25519)));
  signature = store_->Sign("ca", kMessage);
  ASSERT_THAT(signature, IsOk());
  auto second_public = (*other)->ExportPublicKey("ca");
  ASSERT_THAT(second_public, IsOk());
  EXPECT_TRUE(OpenSslVerifyEd25519(*second_public, kMessage, *signature));

  // Replaced again, same type: signatures come from the new key.
  ASSERT_THAT((*other)->Destroy("ca"), IsOk());
  ASSERT_THAT((*other)->Generate(KeyType::kEd25519, "ca"), IsOk());
  auto third_public = (*other)->ExportPublicKey("ca");
  ASSERT_THAT(third_public, IsOk());
  ASSERT_NE(*third_public, *second_public);
  signature = store_->Sign("ca", kMessage);
  ASSERT_THAT(signature, IsOk());
  EXPECT_TRUE(OpenSslVerifyEd25519(*third_public, kMessage, *signature));

  // Destroyed through this store, then a label that is a prefix of another.
  ASSERT_THAT(store_->Destroy("ca"), IsOk());
  EXPECT_THAT(store_->Sign("ca", kMessage), StatusIs(StatusCode::kNotFound));
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "ca-2"), IsOk());
  EXPECT_THAT(store_->Sign("ca", kMessage), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->Sign("ca-2", kMessage), IsOk());
}

TEST_F(Pkcs11KeyStoreTest, Ed25519SignaturesCheckWithOpenSsl) {
  ASSERT_THAT(store_->Generate(KeyType::kEd25519, "ed"), IsOk());
  auto signature = store_->Sign("ed", kMessage);
  ASSERT_THAT(signature, IsOk());
  ASSERT_EQ(signature->size(), 64u);
  // Ed25519 is deterministic.
  EXPECT_THAT(store_->Sign("ed", kMessage), IsOkAndHolds(*signature));
  EXPECT_THAT(store_->Verify("ed", kMessage, *signature), IsOk());
  auto spki = store_->ExportPublicKey("ed");
  ASSERT_THAT(spki, IsOk());
  EXPECT_EQ(spki->size(), 44u);
  EXPECT_TRUE(OpenSslVerifyEd25519(*spki, kMessage, *signature));
  std::vector<uint8_t> bad = *signature;
  bad[63] ^= 1;
  EXPECT_THAT(store_->Verify("ed", kMessage, bad), StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(Pkcs11KeyStoreTest, LabelsAreUniqueAndKeysAreListedFoundAndDestroyed) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "b"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "a"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "c"), IsOk());
  EXPECT_THAT(store_->Generate(KeyType::kEd25519, "b"),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("key 'b'")));
  EXPECT_THAT(store_->Generate(KeyType::kEcdsaP256, ""), StatusIs(StatusCode::kInvalidArgument));

  auto listed = store_->List();
  ASSERT_THAT(listed, IsOk());
  std::vector<std::string> labels;
  for (const KeyInfo& info : *listed) labels.push_back(info.label);
  EXPECT_THAT(labels, ElementsAre("a", "b", "c"));
  EXPECT_EQ((*listed)[0].type, KeyType::kAes128);
  EXPECT_EQ((*listed)[0].aead_algorithm, "aes-128-gcm");
  EXPECT_EQ((*listed)[1].type, KeyType::kEcdsaP256);
  EXPECT_EQ((*listed)[2].type, KeyType::kEcdhP256);

  // Keys are token objects: a new session sees them.
  Reopen();
  auto found = store_->Find("c");
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->type, KeyType::kEcdhP256);
  EXPECT_THAT(store_->Find("zzz"), StatusIs(StatusCode::kNotFound, HasSubstr("'zzz'")));

  ASSERT_THAT(store_->Destroy("b"), IsOk());
  EXPECT_THAT(store_->Find("b"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->Destroy("b"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->Sign("b", kMessage), StatusIs(StatusCode::kNotFound));
  // The label is free again (the public half went too).
  EXPECT_THAT(store_->Generate(KeyType::kEcdsaP256, "b"), IsOk());
}

TEST_F(Pkcs11KeyStoreTest, KeysServeOnlyTheirPurpose) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "sign"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "agree"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "seal"), IsOk());
  EXPECT_THAT(store_->Sign("agree", kMessage),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("ecdh-p256")));
  EXPECT_THAT(store_->Sign("seal", kMessage), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->Seal("sign", kMessage, {}), StatusIs(StatusCode::kFailedPrecondition));
  auto peer = store_->ExportPublicKey("agree");
  ASSERT_THAT(peer, IsOk());
  EXPECT_THAT(store_->DeriveSharedKey("sign", *peer, {}, {}, 32),
              StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(Pkcs11KeyStoreTest, SecretKeysAreNotExportedAndTheTokenRefusesTheirValue) {
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "aes"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "ec"), IsOk());
  EXPECT_THAT(store_->ExportPublicKey("aes"),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("cannot be exported")));

  // Ask the token directly, in a second session, for CKA_VALUE.
  auto uri = ParsePkcs11Uri(token_->uri());
  ASSERT_THAT(uri, IsOk());
  auto module =
      internal::Pkcs11Module::Acquire(*uri->module_path, uri->vendor_query.at("x-softhsm2-conf"));
  ASSERT_THAT(module, IsOk());
  internal::TokenQuery query;
  query.label = token_->label();
  auto slot = internal::FindSlot(**module, query);
  ASSERT_THAT(slot, IsOk());
  auto session = internal::Session::Open(**module, *slot);
  ASSERT_THAT(session, IsOk());
  CK_FUNCTION_LIST* f = (*module)->functions();
  for (const CK_OBJECT_CLASS wanted : {CKO_SECRET_KEY, CKO_PRIVATE_KEY}) {
    CK_OBJECT_CLASS object_class = wanted;
    CK_ATTRIBUTE find = {CKA_CLASS, &object_class, sizeof(object_class)};
    ASSERT_EQ(f->C_FindObjectsInit(session->handle(), &find, 1), CKR_OK);
    CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
    CK_ULONG count = 0;
    ASSERT_EQ(f->C_FindObjects(session->handle(), &object, 1, &count), CKR_OK);
    ASSERT_EQ(f->C_FindObjectsFinal(session->handle()), CKR_OK);
    ASSERT_EQ(count, 1u);
    std::array<uint8_t, 256> value{};
    CK_ATTRIBUTE attribute = {CKA_VALUE, value.data(), value.size()};
    EXPECT_EQ(f->C_GetAttributeValue(session->handle(), object, &attribute, 1),
              CKR_ATTRIBUTE_SENSITIVE);
    CK_BBOOL sensitive = CK_FALSE;
    CK_BBOOL extractable = CK_TRUE;
    CK_BBOOL is_private = CK_FALSE;
    CK_BBOOL token = CK_FALSE;
    std::array<CK_ATTRIBUTE, 4> flags = {{{CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
                                          {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
                                          {CKA_PRIVATE, &is_private, sizeof(is_private)},
                                          {CKA_TOKEN, &token, sizeof(token)}}};
    ASSERT_EQ(f->C_GetAttributeValue(session->handle(), object, flags.data(), flags.size()),
              CKR_OK);
    EXPECT_EQ(sensitive, CK_TRUE);
    EXPECT_EQ(extractable, CK_FALSE);
    EXPECT_EQ(is_private, CK_TRUE);
    EXPECT_EQ(token, CK_TRUE);
    // Neither can the key be made extractable afterwards.
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE make_extractable = {CKA_EXTRACTABLE, &yes, sizeof(yes)};
    EXPECT_NE(f->C_SetAttributeValue(session->handle(), object, &make_extractable, 1), CKR_OK);
  }
}

TEST_F(Pkcs11KeyStoreTest, EcdhAgreesWithTheTokenAndWithOpenSsl) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "alice"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "bob"), IsOk());
  auto alice_public = store_->ExportPublicKey("alice");
  auto bob_public = store_->ExportPublicKey("bob");
  ASSERT_THAT(alice_public, IsOk());
  ASSERT_THAT(bob_public, IsOk());
  const std::vector<uint8_t> salt = {1, 2, 3};
  const std::vector<uint8_t> info = {'c', 't', 'x'};
  auto alice = store_->DeriveSharedKey("alice", *bob_public, salt, info, 48);
  auto bob = store_->DeriveSharedKey("bob", *alice_public, salt, info, 48);
  ASSERT_THAT(alice, IsOk());
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(alice->size(), 48u);
  EXPECT_TRUE(CtEqual(alice->span(), bob->span()));
  auto other_info = store_->DeriveSharedKey("alice", *bob_public, salt, {}, 48);
  ASSERT_THAT(other_info, IsOk());
  EXPECT_FALSE(CtEqual(alice->span(), other_info->span()));

  // A host-side peer: OpenSSL ECDH + HKDF gives the same key.
  EVP_PKEY* peer = EVP_EC_gen("P-256");
  ASSERT_NE(peer, nullptr);
  PkeyPtr peer_key(peer);
  unsigned char* der = nullptr;
  const int der_size = i2d_PUBKEY(peer, &der);
  ASSERT_GT(der_size, 0);
  const std::vector<uint8_t> peer_spki(der, der + der_size);
  OPENSSL_free(der);
  auto token_side = store_->DeriveSharedKey("alice", peer_spki, salt, info, 32);
  ASSERT_THAT(token_side, IsOk());

  PkeyPtr alice_key = ParseSpki(*alice_public);
  ASSERT_TRUE(alice_key);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(peer, nullptr);
  std::array<uint8_t, 32> shared{};
  std::size_t shared_size = shared.size();
  ASSERT_EQ(EVP_PKEY_derive_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx, alice_key.get()), 1);
  ASSERT_EQ(EVP_PKEY_derive(ctx, shared.data(), &shared_size), 1);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_CTX* hkdf = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  std::array<uint8_t, 32> expected{};
  std::size_t expected_size = expected.size();
  ASSERT_EQ(EVP_PKEY_derive_init(hkdf), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_hkdf_md(hkdf, EVP_sha256()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set1_hkdf_salt(hkdf, salt.data(), salt.size()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set1_hkdf_key(hkdf, shared.data(), shared_size), 1);
  ASSERT_EQ(EVP_PKEY_CTX_add1_hkdf_info(hkdf, info.data(), info.size()), 1);
  ASSERT_EQ(EVP_PKEY_derive(hkdf, expected.data(), &expected_size), 1);
  EVP_PKEY_CTX_free(hkdf);
  EXPECT_TRUE(CtEqual(token_side->span(), expected));

  // Bad peer keys and lengths.
  std::vector<uint8_t> garbage(peer_spki.begin(), peer_spki.end());
  garbage[garbage.size() - 5] ^= 0xff;  // off the curve
  EXPECT_THAT(store_->DeriveSharedKey("alice", garbage, salt, info, 32),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->DeriveSharedKey("alice", std::vector<uint8_t>{1, 2, 3}, salt, info, 32),
              StatusIs(StatusCode::kInvalidArgument));
  ASSERT_THAT(store_->Generate(KeyType::kEd25519, "ed"), IsOk());
  auto ed_public = store_->ExportPublicKey("ed");
  ASSERT_THAT(ed_public, IsOk());
  EXPECT_THAT(store_->DeriveSharedKey("alice", *ed_public, salt, info, 32),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("P-256")));
  EXPECT_THAT(store_->DeriveSharedKey("alice", *bob_public, salt, info, 0),
              StatusIs(StatusCode::kInvalidArgument));

  // No derived secret stays behind on the token or in the session.
  auto listed = store_->List();
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->size(), 3u);
}

TEST_F(Pkcs11KeyStoreTest, AesGcmSealsAndRefusesTamperedInput) {
  auto info = store_->Generate(KeyType::kAes128, "data");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->aead_algorithm, "aes-128-gcm");
  const std::vector<uint8_t> ad = {'h', 'd', 'r'};
  auto sealed = store_->Seal("data", kMessage, ad);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->size(), 12 + kMessage.size() + 16);
  EXPECT_THAT(store_->Open("data", *sealed, ad), IsOkAndHolds(kMessage));
  // Fresh nonce every time.
  auto again = store_->Seal("data", kMessage, ad);
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(*sealed, *again);

  for (std::size_t i : {std::size_t{0}, std::size_t{12}, sealed->size() - 1}) {
    std::vector<uint8_t> tampered = *sealed;
    tampered[i] ^= 1;
    EXPECT_THAT(store_->Open("data", tampered, ad), StatusIs(StatusCode::kUnauthenticated)) << i;
  }
  EXPECT_THAT(store_->Open("data", *sealed, {}), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(store_->Open("data", std::span(*sealed).first(20), ad),
              StatusIs(StatusCode::kUnauthenticated));
  // The session still works after failures.
  EXPECT_THAT(store_->Open("data", *sealed, ad), IsOkAndHolds(kMessage));
  auto empty = store_->Seal("data", {}, {});
  ASSERT_THAT(empty, IsOk());
  EXPECT_THAT(store_->Open("data", *empty, {}), IsOkAndHolds(IsEmpty()));
}

TEST_F(Pkcs11KeyStoreTest, CountersAreMonotonicPersistentAndSurviveZeroize) {
  EXPECT_THAT(store_->ReadCounter("fw"), IsOkAndHolds(0u));
  EXPECT_THAT(store_->IncrementCounter("fw"), IsOkAndHolds(1u));
  EXPECT_THAT(store_->IncrementCounter("fw"), IsOkAndHolds(2u));
  EXPECT_THAT(store_->IncrementCounter("other"), IsOkAndHolds(1u));
  Reopen();
  EXPECT_THAT(store_->ReadCounter("fw"), IsOkAndHolds(2u));
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "k"), IsOk());
  ASSERT_THAT(store_->ZeroizeKeys(), IsOkAndHolds(1u));
  EXPECT_THAT(store_->ReadCounter("fw"), IsOkAndHolds(2u));
  EXPECT_THAT(store_->IncrementCounter("fw"), IsOkAndHolds(3u));
  EXPECT_THAT(store_->ReadCounter(""), StatusIs(StatusCode::kInvalidArgument));
  // Counters are not keys.
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
}

TEST_F(Pkcs11KeyStoreTest, ZeroizeDestroysEveryKeyObjectOnTheToken) {
  ASSERT_THAT(store_->Generate(KeyType::kEcdsaP256, "a"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEd25519, "b"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kEcdhP256, "c"), IsOk());
  ASSERT_THAT(store_->Generate(KeyType::kAes128, "d"), IsOk());
  EXPECT_THAT(store_->ZeroizeKeys(), IsOkAndHolds(4u));
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->Sign("a", kMessage), StatusIs(StatusCode::kNotFound));

  // A fresh session finds no key object of any class.
  Reopen();
  EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
  auto uri = ParsePkcs11Uri(token_->uri());
  ASSERT_THAT(uri, IsOk());
  auto module =
      internal::Pkcs11Module::Acquire(*uri->module_path, uri->vendor_query.at("x-softhsm2-conf"));
  ASSERT_THAT(module, IsOk());
  internal::TokenQuery query;
  query.label = token_->label();
  auto slot = internal::FindSlot(**module, query);
  ASSERT_THAT(slot, IsOk());
  auto session = internal::Session::Open(**module, *slot);
  ASSERT_THAT(session, IsOk());
  CK_FUNCTION_LIST* f = (*module)->functions();
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY}) {
    CK_ATTRIBUTE find = {CKA_CLASS, &object_class, sizeof(object_class)};
    ASSERT_EQ(f->C_FindObjectsInit(session->handle(), &find, 1), CKR_OK);
    std::array<CK_OBJECT_HANDLE, 8> objects{};
    CK_ULONG count = 0;
    ASSERT_EQ(f->C_FindObjects(session->handle(), objects.data(), objects.size(), &count), CKR_OK);
    ASSERT_EQ(f->C_FindObjectsFinal(session->handle()), CKR_OK);
    EXPECT_EQ(count, 0u) << "class " << object_class;
  }
}

// Opening errors. These tests hold no other store open, so that the token's
// login state starts empty.
class Pkcs11OpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = SoftHsmTestToken::Create("custos-open");
    ASSERT_THAT(token, IsOk());
    token_ = std::make_unique<SoftHsmTestToken>(*std::move(token));
    auto uri = ParsePkcs11Uri(token_->uri());
    ASSERT_THAT(uri, IsOk());
    conf_ = uri->vendor_query.at("x-softhsm2-conf");
  }
  std::string Uri(const std::string& path, const std::string& query) const {
    return "pkcs11:" + path + "?module-path=" + std::string(kDefaultPkcs11Module) +
           "&x-softhsm2-conf=" + conf_ + query;
  }
  std::unique_ptr<SoftHsmTestToken> token_;
  std::string conf_;
};

TEST_F(Pkcs11OpenTest, WrongPinIsUnauthenticated) {
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("token=custos-open", "&pin-value=not-the-pin")),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("wrong PIN for token 'custos-open' (CKR_PIN_INCORRECT)")));
}

TEST_F(Pkcs11OpenTest, WrongPinIsRefusedWhileTheTokenIsLoggedIn) {
  auto store = OpenPkcs11KeyStore(token_->uri());
  ASSERT_THAT(store, IsOk());
  // The module itself would answer CKR_USER_ALREADY_LOGGED_IN here.
  EXPECT_THAT(
      OpenPkcs11KeyStore(Uri("token=custos-open", "&pin-value=not-the-pin")),
      StatusIs(StatusCode::kUnauthenticated, HasSubstr("wrong PIN for token 'custos-open'")));
  const std::string pin = "&pin-source=file:" + token_->dir() + "/user.pin";
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("token=custos-open", pin)), IsOk());
}

TEST_F(Pkcs11OpenTest, MissingTokenModuleAndPinFileAreNotFound) {
  const std::string pin = "&pin-source=file:" + token_->dir() + "/user.pin";
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("token=nope", pin)),
              StatusIs(StatusCode::kNotFound, HasSubstr("no token 'nope' in module")));
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("serial=0000", pin)),
              StatusIs(StatusCode::kNotFound, HasSubstr("serial '0000'")));
  EXPECT_THAT(OpenPkcs11KeyStore("pkcs11:token=custos-open?module-path=/nonexistent/mod.so" + pin),
              StatusIs(StatusCode::kNotFound, HasSubstr("/nonexistent/mod.so")));
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("token=custos-open", "&pin-source=file:/nonexistent/pin")),
              StatusIs(StatusCode::kNotFound, HasSubstr("/nonexistent/pin")));
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("token=custos-open", "")),
              StatusIs(StatusCode::kNotFound, HasSubstr("no PIN")));
  EXPECT_THAT(OpenPkcs11KeyStore("pkcs11:token=custos-open?module-path=/etc/hostname" + pin),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("cannot load PKCS#11 module")));
  EXPECT_THAT(OpenPkcs11KeyStore("pkcs11:token=a;token=b"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11KeyStore(Uri("object=x", pin)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("names no token")));
}

TEST_F(Pkcs11OpenTest, OpensBySerialAndAnotherConfIsRefusedWhileOpen) {
  const std::string pin = "&pin-source=file:" + token_->dir() + "/user.pin";
  auto store = OpenPkcs11KeyStore(token_->uri());
  ASSERT_THAT(store, IsOk());
  // The same token by serial number.
  auto module = internal::Pkcs11Module::Acquire(std::string(kDefaultPkcs11Module), conf_);
  ASSERT_THAT(module, IsOk());
  internal::TokenQuery query;
  query.label = "custos-open";
  auto slot = internal::FindSlot(**module, query);
  ASSERT_THAT(slot, IsOk());
  CK_TOKEN_INFO info{};
  ASSERT_EQ((*module)->functions()->C_GetTokenInfo(*slot, &info), CKR_OK);
  const std::string serial = internal::TrimPadded(info.serialNumber);
  auto by_serial = OpenPkcs11KeyStore(Uri("serial=" + serial, pin));
  ASSERT_THAT(by_serial, IsOk());
  ASSERT_THAT((*store)->Generate(KeyType::kEcdsaP256, "shared"), IsOk());
  EXPECT_THAT((*by_serial)->Find("shared"), IsOk());

  EXPECT_THAT(
      OpenPkcs11KeyStore("pkcs11:token=custos-open?x-softhsm2-conf=/other/softhsm2.conf" + pin),
      StatusIs(StatusCode::kFailedPrecondition, HasSubstr("/other/softhsm2.conf")));
}

}  // namespace
}  // namespace custos::keystore
