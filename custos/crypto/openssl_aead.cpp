#include "custos/crypto/openssl_aead.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <utility>

#include "custos/core/secret_bytes.h"
#include "custos/crypto/internal/openssl_util.h"

namespace custos::crypto {
namespace {

constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

using internal::CipherContextPtr;
using internal::CipherPtr;
using internal::OpenSslError;

std::string SizeMessage(std::string_view what, std::size_t got, std::size_t want) {
  return std::string(what) + " must be " + std::to_string(want) + " bytes, got " +
         std::to_string(got);
}

enum class Direction { kEncrypt, kDecrypt };

// EVP lengths are ints: feed `in` in chunks of 1 GiB (a multiple of every
// block and keystream block size). With out == nullptr, `in` is associated
// data. `out` may equal in.data().
bool Update(EVP_CIPHER_CTX* context, Direction direction, uint8_t* out,
            std::span<const uint8_t> in) {
  constexpr std::size_t kChunk = std::size_t{1} << 30;
  while (!in.empty()) {
    const std::size_t length = std::min(in.size(), kChunk);
    int written = 0;
    const int ok =
        direction == Direction::kEncrypt
            ? EVP_EncryptUpdate(context, out, &written, in.data(), static_cast<int>(length))
            : EVP_DecryptUpdate(context, out, &written, in.data(), static_cast<int>(length));
    if (ok != 1) return false;
    if (out != nullptr) {
      // Both ciphers are stream ciphers under EVP: all bytes come out now.
      if (static_cast<std::size_t>(written) != length) return false;
      out += length;
    }
    in = in.subspan(length);
  }
  return true;
}

class EvpAead final : public lwc::NonceAead {
 public:
  static StatusOr<std::unique_ptr<lwc::NonceAead>> Create(const char* name, std::size_t key_size,
                                                          std::span<const uint8_t> key) {
    if (key.size() != key_size) {
      return InvalidArgumentError(SizeMessage(std::string(name) + " key", key.size(), key_size));
    }
    CipherPtr cipher(EVP_CIPHER_fetch(nullptr, name, nullptr));
    if (cipher == nullptr) return OpenSslError(std::string("fetching ") + name);
    return std::unique_ptr<lwc::NonceAead>(new EvpAead(std::move(cipher), key));
  }

  std::size_t key_size() const override { return key_.size(); }
  std::size_t nonce_size() const override { return kNonceSize; }
  std::size_t tag_size() const override { return kTagSize; }

  Status SealInto(std::span<const uint8_t> nonce, std::span<const uint8_t> associated_data,
                  std::span<const uint8_t> plaintext, std::span<uint8_t> out) const override {
    if (nonce.size() != kNonceSize) {
      return InvalidArgumentError(SizeMessage("nonce", nonce.size(), kNonceSize));
    }
    if (out.size() != plaintext.size() + kTagSize) {
      return InvalidArgumentError(
          SizeMessage("output buffer", out.size(), plaintext.size() + kTagSize));
    }
    Status status = Seal(nonce, associated_data, plaintext, out);
    // Never leave a partial ciphertext behind that looks like a result.
    if (!status.ok()) SecureWipe(out);
    return status;
  }

  Status OpenInto(std::span<const uint8_t> nonce, std::span<const uint8_t> associated_data,
                  std::span<const uint8_t> ciphertext_and_tag,
                  std::span<uint8_t> out) const override {
    if (nonce.size() != kNonceSize) {
      return InvalidArgumentError(SizeMessage("nonce", nonce.size(), kNonceSize));
    }
    if (ciphertext_and_tag.size() < kTagSize) {
      return InvalidArgumentError("ciphertext is shorter than the " + std::to_string(kTagSize) +
                                  "-byte tag");
    }
    const std::size_t length = ciphertext_and_tag.size() - kTagSize;
    if (out.size() != length) {
      return InvalidArgumentError(SizeMessage("output buffer", out.size(), length));
    }
    // OpenSSL decrypts into `out` before the tag is known to be good; the
    // plaintext is released only if the final check passes, otherwise wiped.
    Status status = Open(nonce, associated_data, ciphertext_and_tag.first(length),
                         ciphertext_and_tag.subspan(length), out);
    if (!status.ok()) SecureWipe(out);
    return status;
  }

 private:
  EvpAead(CipherPtr cipher, std::span<const uint8_t> key) : cipher_(std::move(cipher)), key_(key) {}

  Status Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> associated_data,
              std::span<const uint8_t> plaintext, std::span<uint8_t> out) const {
    // A fresh context per message: the ordinary use of EVP, and what makes a
    // shared object thread-safe.
    CipherContextPtr context(EVP_CIPHER_CTX_new());
    if (context == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
    if (EVP_EncryptInit_ex2(context.get(), cipher_.get(), key_.data(), nonce.data(), nullptr) !=
        1) {
      return OpenSslError("AEAD encryption setup");
    }
    if (!Update(context.get(), Direction::kEncrypt, nullptr, associated_data) ||
        !Update(context.get(), Direction::kEncrypt, out.data(), plaintext)) {
      return OpenSslError("AEAD encryption");
    }
    std::array<uint8_t, kTagSize> unused{};
    int written = 0;
    if (EVP_EncryptFinal_ex(context.get(), unused.data(), &written) != 1 || written != 0) {
      return OpenSslError("AEAD encryption final");
    }
    if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                            out.data() + plaintext.size()) != 1) {
      return OpenSslError("AEAD tag");
    }
    return OkStatus();
  }

  Status Open(std::span<const uint8_t> nonce, std::span<const uint8_t> associated_data,
              std::span<const uint8_t> ciphertext, std::span<const uint8_t> tag,
              std::span<uint8_t> out) const {
    // The tag is copied first: EVP wants a mutable buffer, and in-place
    // decryption must not be able to disturb it.
    std::array<uint8_t, kTagSize> received_tag{};
    std::copy(tag.begin(), tag.end(), received_tag.begin());
    CipherContextPtr context(EVP_CIPHER_CTX_new());
    if (context == nullptr) return OpenSslError("EVP_CIPHER_CTX_new");
    if (EVP_DecryptInit_ex2(context.get(), cipher_.get(), key_.data(), nonce.data(), nullptr) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                            received_tag.data()) != 1) {
      return OpenSslError("AEAD decryption setup");
    }
    if (!Update(context.get(), Direction::kDecrypt, nullptr, associated_data) ||
        !Update(context.get(), Direction::kDecrypt, out.data(), ciphertext)) {
      return OpenSslError("AEAD decryption");
    }
    // OpenSSL compares the tags in constant time (CRYPTO_memcmp).
    std::array<uint8_t, kTagSize> unused{};
    int written = 0;
    if (EVP_DecryptFinal_ex(context.get(), unused.data(), &written) != 1) {
      ERR_clear_error();
      return UnauthenticatedError("authentication failed");
    }
    return OkStatus();
  }

  CipherPtr cipher_;
  SecretBytes key_;
};

}  // namespace

StatusOr<std::unique_ptr<lwc::NonceAead>> NewAes128Gcm(std::span<const uint8_t> key) {
  return EvpAead::Create("AES-128-GCM", 16, key);
}

StatusOr<std::unique_ptr<lwc::NonceAead>> NewChaCha20Poly1305(std::span<const uint8_t> key) {
  return EvpAead::Create("ChaCha20-Poly1305", 32, key);
}

}  // namespace custos::crypto
