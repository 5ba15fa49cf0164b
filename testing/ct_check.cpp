// ct_check: the constant-time check of the lightweight ciphers, run under
// valgrind by scripts/ct-check.sh (the ctgrind method). Keys, plaintexts and
// secret inputs are marked undefined with ClassifySecret; memcheck reports any
// conditional branch or memory address that depends on them. Outputs that are
// public by design (ciphertexts, tags, verification results) are declassified
// before they are used.
//
//   ct_check                   check every algorithm; exit 0 if nothing is reported
//   ct_check --self-test-leaky run a deliberately leaky comparison (must be caught)
//   ct_check --self-test-leaky-index   a table look-up at a secret index (must be caught)
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "custos/core/ct.h"
#include "custos/core/random.h"
#include "custos/crypto/registry.h"
#include "custos/lwc/ascon_batch.h"
#include "custos/lwc/cmac.h"
#include "custos/lwc/hmac.h"

namespace custos {
namespace {

using lwc::AlgorithmInfo;
using lwc::AlgorithmKind;

std::vector<uint8_t> Random(std::size_t size) {
  std::vector<uint8_t> bytes(size);
  if (!FillRandom(bytes).ok()) std::abort();
  return bytes;
}

// An early-exit comparison: the kind of code the check must catch.
bool LeakyEqual(const uint8_t* a, const uint8_t* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// A table look-up indexed by a secret: the other kind of leak.
int SelfTestLeakyIndex() {
  static constexpr uint8_t kTable[256] = {1, 2, 3};
  std::vector<uint8_t> secret = Random(1);
  ClassifySecret(secret);
  uint8_t value = kTable[secret[0]];
  DeclassifySecret(std::span<const uint8_t>(&value, 1));
  std::printf("leaky look-up returned %d\n", value);
  return 0;
}

int SelfTestLeaky() {
  std::vector<uint8_t> secret = Random(16);
  std::vector<uint8_t> guess = Random(16);
  ClassifySecret(secret);
  bool equal = LeakyEqual(secret.data(), guess.data(), secret.size());
  std::printf("leaky comparison returned %d\n", DeclassifyBool(equal) ? 1 : 0);
  return 0;
}

bool Fail(const std::string& what) {
  std::fprintf(stderr, "ct_check: %s\n", what.c_str());
  return false;
}

bool CheckAead(const lwc::AlgorithmRegistry& registry, const AlgorithmInfo& info) {
  for (std::size_t length : {0, 1, 15, 16, 17, 64, 100}) {
    std::vector<uint8_t> key = Random(info.key_size);
    std::vector<uint8_t> nonce = Random(info.nonce_size);
    std::vector<uint8_t> ad = Random(length % 23);
    std::vector<uint8_t> plaintext = Random(length);
    ClassifySecret(key);
    ClassifySecret(plaintext);
    auto aead = registry.NewAead(info.name, key);
    if (!aead.ok()) return Fail(info.name + ": " + aead.status().ToString());
    std::vector<uint8_t> sealed(length + info.tag_size);
    if (!(*aead)->SealInto(nonce, ad, plaintext, sealed).ok()) return Fail(info.name + " seal");
    DeclassifySecret(sealed);  // ciphertext and tag are public
    std::vector<uint8_t> opened(length);
    if (!(*aead)->OpenInto(nonce, ad, sealed, opened).ok()) return Fail(info.name + " open");
    sealed[sealed.size() - 1] ^= 1;  // the failure path too
    if ((*aead)->OpenInto(nonce, ad, sealed, opened).ok()) return Fail(info.name + " forgery");
  }
  return true;
}

bool CheckHash(const lwc::AlgorithmRegistry& registry, const AlgorithmInfo& info) {
  for (std::size_t length : {0, 1, 7, 8, 33, 100}) {
    std::vector<uint8_t> message = Random(length);
    ClassifySecret(message);  // hashes are used on secrets (HMAC keys, KDF inputs)
    if (info.kind == AlgorithmKind::kHash) {
      auto hash = registry.NewHash(info.name);
      if (!hash.ok()) return Fail(info.name);
      (*hash)->Update(message);
      std::vector<uint8_t> digest = (*hash)->Final();
      DeclassifySecret(digest);
    } else {
      auto xof = registry.NewXof(info.name, {});
      if (!xof.ok()) return Fail(info.name);
      if (!(*xof)->Update(message).ok()) return Fail(info.name);
      std::vector<uint8_t> out = (*xof)->Squeeze(40);
      DeclassifySecret(out);
    }
  }
  return true;
}

bool CheckBlock(const lwc::AlgorithmRegistry& registry, const AlgorithmInfo& info) {
  std::vector<uint8_t> key = Random(info.key_size);
  std::vector<uint8_t> block = Random(info.output_size);
  ClassifySecret(key);
  ClassifySecret(block);
  auto cipher = registry.NewBlockCipher(info.name, key);
  if (!cipher.ok()) return Fail(info.name);
  std::vector<uint8_t> out(block.size()), back(block.size());
  if (!(*cipher)->EncryptBlock(block, out).ok()) return Fail(info.name);
  if (!(*cipher)->DecryptBlock(out, back).ok()) return Fail(info.name);
  DeclassifySecret(back);
  DeclassifySecret(block);
  if (std::memcmp(back.data(), block.data(), block.size()) != 0) return Fail(info.name + " round trip");
  // CMAC over this cipher, for 64- and 128-bit blocks.
  if (info.output_size == 8 || info.output_size == 16) {
    auto mac_cipher = registry.NewBlockCipher(info.name, key);
    if (!mac_cipher.ok()) return Fail(info.name);
    auto mac = lwc::NewCmac(*std::move(mac_cipher));
    if (!mac.ok()) return Fail(info.name + " cmac");
    std::vector<uint8_t> message = Random(37);
    ClassifySecret(message);
    (*mac)->Update(message);
    std::vector<uint8_t> tag = (*mac)->Final();
    DeclassifySecret(tag);
  }
  return true;
}

bool CheckStream(const lwc::AlgorithmRegistry& registry, const AlgorithmInfo& info) {
  std::vector<uint8_t> key = Random(info.key_size);
  std::vector<uint8_t> iv = Random(info.nonce_size);
  std::vector<uint8_t> data = Random(100);
  ClassifySecret(key);
  ClassifySecret(data);
  auto cipher = registry.NewStreamCipher(info.name, key, iv);
  if (!cipher.ok()) return Fail(info.name);
  if (!(*cipher)->Process(data, data).ok()) return Fail(info.name);
  DeclassifySecret(data);
  return true;
}

bool CheckAsconBatch() {
  for (lwc::AsconBatchBackend backend :
       {lwc::AsconBatchBackend::kAuto, lwc::AsconBatchBackend::kPortable,
        lwc::AsconBatchBackend::kAvx2}) {
    if (!lwc::AsconBatchBackendAvailable(backend)) continue;
    constexpr std::size_t kMessages = 11;
    std::vector<std::vector<uint8_t>> keys, nonces, ads, plaintexts, sealed, opened;
    std::vector<lwc::AsconSealRequest> seal(kMessages);
    for (std::size_t i = 0; i < kMessages; ++i) {
      keys.push_back(Random(16));
      nonces.push_back(Random(16));
      ads.push_back(Random(i * 3 % 20));
      plaintexts.push_back(Random(i * 7 % 50));
      ClassifySecret(keys.back());
      ClassifySecret(plaintexts.back());
      sealed.emplace_back(plaintexts.back().size() + 16);
      opened.emplace_back(plaintexts.back().size());
    }
    for (std::size_t i = 0; i < kMessages; ++i) {
      seal[i] = {keys[i], nonces[i], ads[i], plaintexts[i], sealed[i]};
    }
    if (!lwc::AsconAead128SealBatch(seal, backend).ok()) return Fail("ascon batch seal");
    std::vector<lwc::AsconOpenRequest> open(kMessages);
    for (std::size_t i = 0; i < kMessages; ++i) {
      DeclassifySecret(sealed[i]);
      if (i % 2 == 1) sealed[i][0] ^= 1;  // half of them forged
      open[i] = {keys[i], nonces[i], ads[i], sealed[i], opened[i]};
    }
    std::vector<Status> statuses = lwc::AsconAead128OpenBatch(open, backend);
    for (std::size_t i = 0; i < kMessages; ++i) {
      if (statuses[i].ok() != (i % 2 == 0)) return Fail("ascon batch open");
    }
  }
  std::printf("checked ascon-aead128 batch\n");
  return true;
}

bool CheckHmac(const lwc::AlgorithmRegistry& registry) {
  for (std::size_t key_size : {16, 200}) {
    std::vector<uint8_t> key = Random(key_size);
    ClassifySecret(key);
    auto hash = registry.NewHash("ascon-hash256");
    if (!hash.ok()) return Fail("ascon-hash256");
    auto mac = lwc::NewHmac(*std::move(hash), key);
    if (!mac.ok()) return Fail("hmac-ascon-hash256");
    std::vector<uint8_t> message = Random(50);
    (*mac)->Update(message);
    std::vector<uint8_t> tag = (*mac)->Final();
    DeclassifySecret(tag);
  }
  return true;
}

int CheckAll() {
  auto registry = crypto::NewDefaultRegistry();
  if (!registry.ok()) return Fail(registry.status().ToString()), 1;
  int checked = 0;
  bool ok = true;
  for (const AlgorithmInfo& info : (*registry)->List()) {
    // OpenSSL's algorithms are OpenSSL's to check; this covers custos's own code.
    if (info.standard.find("OpenSSL") != std::string::npos || info.name == "aes128-cmac" ||
        info.name == "hmac-sha256") {
      continue;
    }
    switch (info.kind) {
      case AlgorithmKind::kAead:
        ok = CheckAead(**registry, info) && ok;
        break;
      case AlgorithmKind::kHash:
      case AlgorithmKind::kXof:
        ok = CheckHash(**registry, info) && ok;
        break;
      case AlgorithmKind::kBlockCipher:
        ok = CheckBlock(**registry, info) && ok;
        break;
      case AlgorithmKind::kStreamCipher:
        ok = CheckStream(**registry, info) && ok;
        break;
      case AlgorithmKind::kMac:
        continue;
    }
    ++checked;
    std::printf("checked %s\n", info.name.c_str());
  }
  ok = CheckHmac(**registry) && ok;
  ok = CheckAsconBatch() && ok;
  std::printf("ct_check: %d algorithms (and CMAC/HMAC over them) exercised with secret inputs\n",
              checked);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace custos

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--self-test-leaky") == 0) return custos::SelfTestLeaky();
  if (argc > 1 && std::strcmp(argv[1], "--self-test-leaky-index") == 0) {
    return custos::SelfTestLeakyIndex();
  }
  if (!custos::RunningOnValgrind()) {
    std::fprintf(stderr, "ct_check: note: not running under valgrind; only functional checks run "
                         "(use scripts/ct-check.sh)\n");
  }
  return custos::CheckAll();
}
