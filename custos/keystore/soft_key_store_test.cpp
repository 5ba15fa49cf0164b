#include "custos/keystore/soft_key_store.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "custos/core/ct.h"
#include "custos/core/hex.h"
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

// Cheap scrypt so that tests stay fast; one test uses the default cost.
SoftKeyStoreOptions FastOptions() {
  SoftKeyStoreOptions options;
  options.scrypt_n = 1 << 10;
  return options;
}

SecretBytes Pass(std::string_view text) { return SecretBytes(AsBytes(text)); }

std::vector<uint8_t> Msg(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

// Verifies a raw signature with OpenSSL directly, from the exported public
// key only (an independent check of the store's Sign).
bool OpenSslVerifies(std::span<const uint8_t> spki, KeyType type, std::span<const uint8_t> message,
                     std::span<const uint8_t> raw) {
  const uint8_t* in = spki.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &in, static_cast<long>(spki.size()));
  if (key == nullptr) return false;
  std::vector<uint8_t> der(raw.begin(), raw.end());
  if (type == KeyType::kEcdsaP256) {
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr),
                   BN_bin2bn(raw.data() + 32, 32, nullptr));
    der.assign(static_cast<std::size_t>(i2d_ECDSA_SIG(sig, nullptr)), 0);
    uint8_t* out = der.data();
    i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, type == KeyType::kEcdsaP256 ? EVP_sha256() : nullptr,
                                 nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, der.data(), der.size(), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "custos-soft-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<KeyStore> OpenOrDie(const std::string& dir,
                                    std::string_view pass = "correct horse") {
  StatusOr<std::unique_ptr<KeyStore>> store = OpenSoftKeyStore(dir, Pass(pass), FastOptions());
  EXPECT_THAT(store, IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

// --- Promises of every store, run on the in-memory one ---------------------

TEST(SoftKeyStoreTest, ReportsNoHardwareProtectionAndAllTypes) {
  auto store = NewInMemorySoftKeyStore();
  EXPECT_EQ(store->BackendName(), "soft");
  EXPECT_FALSE(store->HardwareProtected());
  EXPECT_THAT(store->SupportedKeyTypes(), SizeIs(6));
}

class SignTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(SignTest, SignaturesVerifyHereAndInOpenSsl) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(GetParam(), "id"), IsOk());
  const std::vector<uint8_t> message = Msg("attest me");
  StatusOr<std::vector<uint8_t>> sig = store->Sign("id", message);
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(*sig, SizeIs(64));
  EXPECT_THAT(store->Verify("id", message, *sig), IsOk());
  StatusOr<std::vector<uint8_t>> spki = store->ExportPublicKey("id");
  ASSERT_THAT(spki, IsOk());
  EXPECT_TRUE(OpenSslVerifies(*spki, GetParam(), message, *sig));

  std::vector<uint8_t> tampered = *sig;
  tampered[10] ^= 1;
  EXPECT_THAT(store->Verify("id", message, tampered), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(store->Verify("id", Msg("attest mE"), *sig), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(store->Verify("id", message, std::span(*sig).first(63)),
              StatusIs(StatusCode::kUnauthenticated));
}

INSTANTIATE_TEST_SUITE_P(Types, SignTest, ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256),
                         [](const auto& p) {
                           return p.param == KeyType::kEd25519 ? "Ed25519" : "EcdsaP256";
                         });

TEST(SoftKeyStoreTest, EachKeySignsDifferently) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kEd25519, "a"), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kEd25519, "b"), IsOk());
  auto sig = store->Sign("a", Msg("m"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(store->Verify("b", Msg("m"), *sig), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_NE(*store->ExportPublicKey("a"), *store->ExportPublicKey("b"));
}

TEST(SoftKeyStoreTest, LabelsAreUniqueAndChecked) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kEcdsaP256, "dup"), IsOk());
  EXPECT_THAT(store->Generate(KeyType::kEd25519, "dup"),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("'dup'")));
  EXPECT_THAT(store->Generate(KeyType::kEd25519, ""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store->Generate(KeyType::kEd25519, std::string(101, 'x')),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store->Generate(KeyType::kEd25519, "new\nline"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store->Find("nope"), StatusIs(StatusCode::kNotFound, HasSubstr("'nope'")));
  EXPECT_THAT(store->Sign("nope", Msg("m")), StatusIs(StatusCode::kNotFound));
}

TEST(SoftKeyStoreTest, ListIsSortedAndDescribesKeys) {
  auto store = NewInMemorySoftKeyStore();
  for (KeyType type : AllKeyTypes()) {
    ASSERT_THAT(store->Generate(type, "k-" + std::string(KeyTypeName(type))), IsOk());
  }
  StatusOr<std::vector<KeyInfo>> keys = store->List();
  ASSERT_THAT(keys, IsOk());
  ASSERT_THAT(*keys, SizeIs(6));
  for (std::size_t i = 1; i < keys->size(); ++i) EXPECT_LT((*keys)[i - 1].label, (*keys)[i].label);
  for (const KeyInfo& info : *keys) {
    EXPECT_FALSE(info.extractable);
    EXPECT_EQ(info.label, "k-" + std::string(KeyTypeName(info.type)));
  }
  EXPECT_THAT(store->Find("k-aes-128"),
              IsOkAndHolds(Field(&KeyInfo::aead_algorithm, "aes-128-gcm")));
  EXPECT_THAT(store->Find("k-ascon-aead128"),
              IsOkAndHolds(Field(&KeyInfo::aead_algorithm, "ascon-aead128")));
  EXPECT_THAT(store->Find("k-ed25519"), IsOkAndHolds(Field(&KeyInfo::aead_algorithm, "")));
}

TEST(SoftKeyStoreTest, SecretKeysCannotBeExported) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kAes128, "wrap"), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kAsconAead128, "tele"), IsOk());
  EXPECT_THAT(store->ExportPublicKey("wrap"),
              StatusIs(StatusCode::kFailedPrecondition,
                       HasSubstr("'wrap' (aes-128) is a secret key and cannot be exported")));
  EXPECT_THAT(store->ExportPublicKey("tele"),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("'tele'")));
}

TEST(SoftKeyStoreTest, KeysOnlyDoWhatTheirTypeAllows) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kEcdhP256, "agree"), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kEcdsaP256, "sign"), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kAes128, "enc"), IsOk());
  EXPECT_THAT(store->Sign("agree", Msg("m")),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("cannot sign")));
  EXPECT_THAT(store->Sign("enc", Msg("m")), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->Seal("sign", Msg("m"), {}), StatusIs(StatusCode::kFailedPrecondition));
  auto peer = store->ExportPublicKey("agree");
  ASSERT_THAT(peer, IsOk());
  EXPECT_THAT(store->DeriveSharedKey("sign", *peer, {}, {}, 32),
              StatusIs(StatusCode::kFailedPrecondition));
}

class AgreeTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(AgreeTest, BothSidesDeriveTheSameKey) {
  auto device = NewInMemorySoftKeyStore();
  auto server = NewInMemorySoftKeyStore();
  ASSERT_THAT(device->Generate(GetParam(), "dh"), IsOk());
  ASSERT_THAT(server->Generate(GetParam(), "dh"), IsOk());
  auto device_pub = device->ExportPublicKey("dh");
  auto server_pub = server->ExportPublicKey("dh");
  ASSERT_THAT(device_pub, IsOk());
  ASSERT_THAT(server_pub, IsOk());
  const std::vector<uint8_t> salt = Msg("salt"), info = Msg("custos session");
  auto a = device->DeriveSharedKey("dh", *server_pub, salt, info, 48);
  auto b = server->DeriveSharedKey("dh", *device_pub, salt, info, 48);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->size(), 48u);
  EXPECT_TRUE(CtEqual(a->span(), b->span()));
  auto other_info = device->DeriveSharedKey("dh", *server_pub, salt, Msg("other"), 48);
  ASSERT_THAT(other_info, IsOk());
  EXPECT_FALSE(CtEqual(a->span(), other_info->span()));
  auto no_salt = device->DeriveSharedKey("dh", *server_pub, {}, {}, 16);
  EXPECT_THAT(no_salt, IsOk());

  EXPECT_THAT(device->DeriveSharedKey("dh", *server_pub, salt, info, 0),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(device->DeriveSharedKey("dh", *server_pub, salt, info, 255 * 32 + 1),
              StatusIs(StatusCode::kInvalidArgument));
  std::vector<uint8_t> garbage = *server_pub;
  garbage.resize(garbage.size() - 3);
  EXPECT_THAT(device->DeriveSharedKey("dh", garbage, salt, info, 32),
              StatusIs(StatusCode::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(Types, AgreeTest, ::testing::Values(KeyType::kEcdhP256, KeyType::kX25519),
                         [](const auto& p) {
                           return p.param == KeyType::kX25519 ? "X25519" : "EcdhP256";
                         });

TEST(SoftKeyStoreTest, AgreementRefusesAPeerOfAnotherCurve) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kEcdhP256, "p256"), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kX25519, "x"), IsOk());
  auto x_pub = store->ExportPublicKey("x");
  auto p_pub = store->ExportPublicKey("p256");
  EXPECT_THAT(store->DeriveSharedKey("p256", *x_pub, {}, {}, 32),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("P-256")));
  EXPECT_THAT(store->DeriveSharedKey("x", *p_pub, {}, {}, 32),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("X25519")));
}

TEST(SoftKeyStoreTest, X25519RefusesALowOrderPeer) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(KeyType::kX25519, "x"), IsOk());
  // SubjectPublicKeyInfo of the all-zero X25519 point (order 1).
  std::vector<uint8_t> spki = *HexDecode("302a300506032b656e032100");
  spki.resize(spki.size() + 32, 0);
  EXPECT_THAT(store->DeriveSharedKey("x", spki, {}, {}, 32),
              StatusIs(StatusCode::kInvalidArgument));
}

class AeadTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(AeadTest, SealOpensAndRefusesTampering) {
  auto store = NewInMemorySoftKeyStore();
  ASSERT_THAT(store->Generate(GetParam(), "k"), IsOk());
  const std::vector<uint8_t> plain = Msg("telemetry"), ad = Msg("device-7");
  auto sealed = store->Seal("k", plain, ad);
  ASSERT_THAT(sealed, IsOk());
  const std::size_t nonce = GetParam() == KeyType::kAes128 ? 12 : 16;
  EXPECT_EQ(sealed->size(), nonce + plain.size() + 16);
  EXPECT_THAT(store->Open("k", *sealed, ad), IsOkAndHolds(plain));
  auto again = store->Seal("k", plain, ad);
  EXPECT_NE(*again, *sealed);  // fresh nonce
  for (std::size_t i : {std::size_t{0}, nonce, sealed->size() - 1}) {
    std::vector<uint8_t> bad = *sealed;
    bad[i] ^= 0x80;
    EXPECT_THAT(store->Open("k", bad, ad), StatusIs(StatusCode::kUnauthenticated)) << i;
  }
  EXPECT_THAT(store->Open("k", *sealed, Msg("device-8")), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(store->Open("k", std::span(*sealed).first(nonce + 15), ad),
              StatusIs(StatusCode::kUnauthenticated));
  auto empty = store->Seal("k", {}, {});
  ASSERT_THAT(empty, IsOk());
  EXPECT_THAT(store->Open("k", *empty, {}), IsOkAndHolds(IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(Types, AeadTest,
                         ::testing::Values(KeyType::kAes128, KeyType::kAsconAead128),
                         [](const auto& p) {
                           return p.param == KeyType::kAes128 ? "Aes128Gcm" : "AsconAead128";
                         });

TEST(SoftKeyStoreTest, CountersOnlyGoUp) {
  auto store = NewInMemorySoftKeyStore();
  EXPECT_THAT(store->ReadCounter("fw"), IsOkAndHolds(0u));
  EXPECT_THAT(store->IncrementCounter("fw"), IsOkAndHolds(1u));
  EXPECT_THAT(store->IncrementCounter("fw"), IsOkAndHolds(2u));
  EXPECT_THAT(store->ReadCounter("fw"), IsOkAndHolds(2u));
  EXPECT_THAT(store->ReadCounter("other"), IsOkAndHolds(0u));
  EXPECT_THAT(store->ReadCounter(""), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SoftKeyStoreTest, DestroyAndZeroizeForgetKeysButKeepCounters) {
  auto store = NewInMemorySoftKeyStore();
  for (KeyType type : AllKeyTypes()) ASSERT_THAT(store->Generate(type, KeyTypeName(type)), IsOk());
  ASSERT_THAT(store->IncrementCounter("fw"), IsOk());
  EXPECT_THAT(store->Destroy("ed25519"), IsOk());
  EXPECT_THAT(store->Destroy("ed25519"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store->Find("ed25519"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store->ZeroizeKeys(), IsOkAndHolds(5u));
  EXPECT_THAT(store->List(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store->Sign("ecdsa-p256", Msg("m")), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store->ReadCounter("fw"), IsOkAndHolds(1u));
  EXPECT_THAT(store->ZeroizeKeys(), IsOkAndHolds(0u));
}

// --- The store in a folder ---------------------------------------------------

TEST(SoftKeyStoreFolderTest, KeysSurviveReopening) {
  TempDir dir;
  std::vector<uint8_t> pub, sealed;
  {
    auto store = OpenOrDie(dir.path());
    for (KeyType type : AllKeyTypes()) {
      ASSERT_THAT(store->Generate(type, KeyTypeName(type)), IsOk());
    }
    pub = *store->ExportPublicKey("ecdsa-p256");
    sealed = *store->Seal("ascon-aead128", Msg("hello"), {});
    ASSERT_THAT(store->IncrementCounter("fw"), IsOk());
    ASSERT_THAT(store->IncrementCounter("fw"), IsOk());
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->List(), IsOkAndHolds(SizeIs(6)));
  EXPECT_THAT(store->ExportPublicKey("ecdsa-p256"), IsOkAndHolds(pub));
  auto sig = store->Sign("ecdsa-p256", Msg("m"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_TRUE(OpenSslVerifies(pub, KeyType::kEcdsaP256, Msg("m"), *sig));
  EXPECT_THAT(store->Open("ascon-aead128", sealed, {}), IsOkAndHolds(Msg("hello")));
  EXPECT_THAT(store->ReadCounter("fw"), IsOkAndHolds(2u));
  EXPECT_THAT(store->Find("x25519"), IsOkAndHolds(Field(&KeyInfo::type, KeyType::kX25519)));
}

TEST(SoftKeyStoreFolderTest, KeyFilesHoldNoKeyInClear) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_THAT(store->Generate(KeyType::kEd25519, "dev"), IsOk());
  auto pub = store->ExportPublicKey("dev");
  const std::string file = dir.path() + "/keys/" + HexEncode(AsBytes("dev")) + ".key";
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"sealed\""));
  // The public key (last 32 bytes of the SPKI) is derivable from the private
  // key; neither appears.
  EXPECT_THAT(text, ::testing::Not(HasSubstr(HexEncode(std::span(*pub).last(32)))));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SoftKeyStoreFolderTest, WrongPassphraseIsRefused) {
  TempDir dir;
  { OpenOrDie(dir.path(), "right"); }
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), Pass("wrong"), FastOptions()),
              StatusIs(StatusCode::kUnauthenticated,
                       "wrong passphrase for software key store at " + dir.path()));
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), SecretBytes(), FastOptions()),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(SoftKeyStoreFolderTest, TamperedKeyFileIsDataLoss) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_THAT(store->Generate(KeyType::kEcdsaP256, "dev"), IsOk());
  }
  const std::string file = dir.path() + "/keys/" + HexEncode(AsBytes("dev")) + ".key";
  std::string text;
  {
    std::ifstream in(file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t at = text.find("\"sealed\":\"") + 20;
  text[at] = text[at] == '0' ? '1' : '0';
  { std::ofstream(file) << text; }
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), Pass("correct horse"), FastOptions()),
              StatusIs(StatusCode::kDataLoss, HasSubstr(file)));
}

TEST(SoftKeyStoreFolderTest, KeyFilesAreDestroyedWithoutOpeningTheStore) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_THAT(store->Generate(KeyType::kEcdsaP256, "dev"), IsOk());
    ASSERT_THAT(store->Generate(KeyType::kAsconAead128, "data"), IsOk());
  }
  // A damaged key file stops the store from opening, not its destruction.
  { std::ofstream(dir.path() + "/keys/" + HexEncode(AsBytes("dev")) + ".key") << "garbage"; }
  ASSERT_THAT(OpenSoftKeyStore(dir.path(), Pass("correct horse"), FastOptions()),
              StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DestroySoftKeyStoreFiles("soft:" + dir.path()), IsOkAndHolds(2u));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/keys"));
  auto store = OpenOrDie(dir.path());
  EXPECT_THAT(store->List(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(DestroySoftKeyStoreFiles("soft:" + dir.path()), IsOkAndHolds(0u));
  EXPECT_THAT(DestroySoftKeyStoreFiles("soft:mem"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(DestroySoftKeyStoreFiles("pkcs11:token=x"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SoftKeyStoreFolderTest, KeyFileUnderAnotherLabelIsDataLoss) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_THAT(store->Generate(KeyType::kEcdsaP256, "a"), IsOk());
  }
  const std::string keys = dir.path() + "/keys/";
  std::filesystem::rename(keys + HexEncode(AsBytes("a")) + ".key",
                          keys + HexEncode(AsBytes("b")) + ".key");
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), Pass("correct horse"), FastOptions()),
              StatusIs(StatusCode::kDataLoss));
}

TEST(SoftKeyStoreFolderTest, ChangedHeaderParametersAreRefused) {
  TempDir dir;
  { OpenOrDie(dir.path()); }
  const std::string header = dir.path() + "/store.json";
  std::string text;
  {
    std::ifstream in(header);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t at = text.find("\"n\": 1024");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 9, "\"n\": 2048");
  { std::ofstream(header) << text; }
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), Pass("correct horse"), FastOptions()),
              StatusIs(StatusCode::kUnauthenticated));
  { std::ofstream(header) << "{not json"; }
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), Pass("correct horse"), FastOptions()),
              StatusIs(StatusCode::kDataLoss, HasSubstr("store.json")));
}

TEST(SoftKeyStoreFolderTest, ZeroizeRemovesEveryKeyFileAndKeepsCounters) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    for (KeyType type : AllKeyTypes()) {
      ASSERT_THAT(store->Generate(type, KeyTypeName(type)), IsOk());
    }
    ASSERT_THAT(store->IncrementCounter("fw"), IsOk());
    EXPECT_THAT(store->ZeroizeKeys(), IsOkAndHolds(6u));
    EXPECT_THAT(store->List(), IsOkAndHolds(IsEmpty()));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/keys"));
  auto store = OpenOrDie(dir.path());
  EXPECT_THAT(store->List(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store->ReadCounter("fw"), IsOkAndHolds(1u));
}

TEST(SoftKeyStoreFolderTest, DestroyRemovesTheFile) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_THAT(store->Generate(KeyType::kAes128, "a"), IsOk());
  ASSERT_THAT(store->Generate(KeyType::kAes128, "b"), IsOk());
  ASSERT_THAT(store->Destroy("a"), IsOk());
  store.reset();
  store = OpenOrDie(dir.path());
  EXPECT_THAT(store->List(), IsOkAndHolds(ElementsAre(Field(&KeyInfo::label, "b"))));
}

TEST(SoftKeyStoreFolderTest, LeftoverTemporaryFilesAreRemoved) {
  TempDir dir;
  { OpenOrDie(dir.path()); }
  const std::string leftover = dir.path() + "/keys/61.key.tmp-0123456789abcdef";
  { std::ofstream(leftover) << "partial"; }
  auto store = OpenOrDie(dir.path());
  EXPECT_THAT(store->List(), IsOkAndHolds(IsEmpty()));
  EXPECT_FALSE(std::filesystem::exists(leftover));
}

TEST(SoftKeyStoreFolderTest, DefaultCostWorks) {
  TempDir dir;
  SoftKeyStoreOptions defaults;
  EXPECT_EQ(defaults.scrypt_n, 32768u);
  ASSERT_THAT(OpenSoftKeyStore(dir.path(), Pass("p"), defaults), IsOk());
  EXPECT_THAT(OpenSoftKeyStore(dir.path(), Pass("p"), FastOptions()), IsOk());  // header wins
  SoftKeyStoreOptions bad;
  bad.scrypt_n = 1000;
  EXPECT_THAT(OpenSoftKeyStore(dir.path() + "/x", Pass("p"), bad),
              StatusIs(StatusCode::kInvalidArgument));
}

// --- URIs --------------------------------------------------------------------

TEST(SoftKeyStoreUriTest, DefaultPassphraseFileIsCreatedOnFirstUse) {
  TempDir dir;
  const std::string store_dir = dir.path() + "/store";
  {
    auto store = OpenSoftKeyStoreUri("soft:" + store_dir, FastOptions());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Generate(KeyType::kEd25519, "dev"), IsOk());
  }
  struct stat st {};
  ASSERT_EQ(::stat((store_dir + "/store.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto store = OpenSoftKeyStoreUri("soft:" + store_dir + "/", FastOptions());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Find("dev"), IsOk());
  std::filesystem::remove(store_dir + "/store.key");
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:" + store_dir, FastOptions()),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("store.key")));
}

TEST(SoftKeyStoreUriTest, PassphraseSources) {
  TempDir dir;
  const std::string pass_file = dir.path() + "/pass";
  { std::ofstream(pass_file) << "s3cret\n"; }
  const std::string uri = "soft:" + dir.path() + "/s?passphrase-source=file:" + pass_file;
  ASSERT_THAT(OpenSoftKeyStoreUri(uri, FastOptions()), IsOk());
  // The same passphrase through a raw SecretBytes (newline dropped) and env.
  EXPECT_THAT(OpenSoftKeyStore(dir.path() + "/s", Pass("s3cret"), FastOptions()), IsOk());
  ::setenv("CUSTOS_SOFT_TEST_PASS", "s3cret", 1);
  EXPECT_THAT(
      OpenSoftKeyStoreUri("soft:" + dir.path() + "/s?passphrase-source=env:CUSTOS_SOFT_TEST_PASS",
                          FastOptions()),
      IsOk());
  { std::ofstream(pass_file) << "other\n"; }
  EXPECT_THAT(OpenSoftKeyStoreUri(uri, FastOptions()),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("wrong passphrase")));
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:" + dir.path() + "/s?passphrase-source=file:/nonexistent",
                                  FastOptions()),
              StatusIs(StatusCode::kNotFound, HasSubstr("/nonexistent")));
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:" + dir.path() + "/s?passphrase-source=env:CUSTOS_NO_SUCH",
                                  FastOptions()),
              StatusIs(StatusCode::kNotFound, HasSubstr("CUSTOS_NO_SUCH")));
}

TEST(SoftKeyStoreUriTest, PercentEncodedFolder) {
  TempDir dir;
  ASSERT_THAT(OpenSoftKeyStoreUri("soft:" + dir.path() + "/with%20space", FastOptions()), IsOk());
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/with space/store.json"));
}

TEST(SoftKeyStoreUriTest, MalformedUris) {
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenSoftKeyStoreUri("tpm:x"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:/tmp/x?pin=1"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("passphrase-source")));
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:/tmp/x?passphrase-source=pin:1"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:/tmp/x%2"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenSoftKeyStoreUri("soft:mem?passphrase-source=env:X"),
              StatusIs(StatusCode::kInvalidArgument));
  auto mem = OpenSoftKeyStoreUri("soft:mem");
  ASSERT_THAT(mem, IsOk());
  EXPECT_FALSE((*mem)->HardwareProtected());
}

}  // namespace
}  // namespace custos::keystore
