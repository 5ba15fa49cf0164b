#include "custos/crypto/aes.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "custos/crypto/internal/openssl_util.h"

namespace custos::crypto {
namespace {

constexpr int kBlockSize = 16;

using internal::CipherContextPtr;
using internal::CipherPtr;
using internal::OpenSslError;

// A block update on a keyed ECB context cannot fail: the length is one block
// and padding is off. If OpenSSL fails anyway, the output would be garbage
// that callers cannot detect (DoEncrypt has no status), so stop instead.
void CheckBlockUpdate(int ok, int written) {
  if (ok != 1 || written != kBlockSize) std::abort();
}

class Aes final : public lwc::BlockCipher {
 public:
  static StatusOr<std::unique_ptr<lwc::BlockCipher>> Create(std::span<const uint8_t> key) {
    const char* name = nullptr;
    switch (key.size()) {
      case 16:
        name = "AES-128-ECB";
        break;
      case 24:
        name = "AES-192-ECB";
        break;
      case 32:
        name = "AES-256-ECB";
        break;
      default:
        return InvalidArgumentError("AES key must be 16, 24 or 32 bytes, got " +
                                    std::to_string(key.size()));
    }
    // Fetched once per object: an explicit fetch avoids the implicit
    // per-init lookup that the legacy EVP_aes_128_ecb() objects cost.
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
    if (cipher == nullptr) return OpenSslError(std::string("fetching ") + name);
    CipherContextPtr encrypt(EVP_CIPHER_CTX_new());
    CipherContextPtr decrypt(EVP_CIPHER_CTX_new());
    if (encrypt == nullptr || decrypt == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
    if (EVP_EncryptInit_ex2(encrypt.get(), cipher.get(), key.data(), nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(encrypt.get(), 0) != 1) {
      return OpenSslError("AES encryption key setup");
    }
    if (EVP_DecryptInit_ex2(decrypt.get(), cipher.get(), key.data(), nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(decrypt.get(), 0) != 1) {
      return OpenSslError("AES decryption key setup");
    }
    return std::unique_ptr<lwc::BlockCipher>(
        new Aes(key.size(), std::move(cipher), std::move(encrypt), std::move(decrypt)));
  }

  std::size_t block_size() const override { return kBlockSize; }
  std::size_t key_size() const override { return key_size_; }

 protected:
  void DoEncrypt(const uint8_t* in, uint8_t* out) const override {
    std::lock_guard<std::mutex> lock(encrypt_mutex_);
    int written = 0;
    const int ok = EVP_EncryptUpdate(encrypt_.get(), out, &written, in, kBlockSize);
    CheckBlockUpdate(ok, written);
  }

  void DoDecrypt(const uint8_t* in, uint8_t* out) const override {
    std::lock_guard<std::mutex> lock(decrypt_mutex_);
    int written = 0;
    const int ok = EVP_DecryptUpdate(decrypt_.get(), out, &written, in, kBlockSize);
    CheckBlockUpdate(ok, written);
  }

 private:
  Aes(std::size_t key_size, CipherPtr cipher, CipherContextPtr encrypt, CipherContextPtr decrypt)
      : key_size_(key_size),
        cipher_(std::move(cipher)),
        encrypt_(std::move(encrypt)),
        decrypt_(std::move(decrypt)) {}

  std::size_t key_size_;
  CipherPtr cipher_;
  // EVP_CIPHER_CTX_free cleanses the key schedule held in these.
  CipherContextPtr encrypt_;
  CipherContextPtr decrypt_;
  mutable std::mutex encrypt_mutex_;
  mutable std::mutex decrypt_mutex_;
};

}  // namespace

StatusOr<std::unique_ptr<lwc::BlockCipher>> NewAes(std::span<const uint8_t> key) {
  return Aes::Create(key);
}

}  // namespace custos::crypto
