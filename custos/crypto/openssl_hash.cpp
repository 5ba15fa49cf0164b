#include "custos/crypto/openssl_hash.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>
#include <utility>

#include "custos/crypto/internal/openssl_util.h"

namespace custos::crypto {
namespace {

using internal::DigestPtr;
using ContextPtr = internal::DigestContextPtr;

// Update and Final return nothing, so an OpenSSL failure there could only
// surface as a wrong digest; stopping is the safe choice. These calls fail
// only on misuse (a context without a digest), never on input.
void Check(int ok) {
  if (ok != 1) std::abort();
}

class EvpHash final : public lwc::Hash {
 public:
  static std::unique_ptr<lwc::Hash> Create(const char* name) {
    // Fetched once per object: explicit fetching avoids the implicit lookup
    // that each init with a legacy EVP_sha256() object performs.
    DigestPtr md(EVP_MD_fetch(nullptr, name, nullptr));
    ContextPtr context(EVP_MD_CTX_new());
    if (md == nullptr || context == nullptr ||
        EVP_DigestInit_ex2(context.get(), md.get(), nullptr) != 1) {
      ERR_clear_error();
      return nullptr;
    }
    return std::unique_ptr<lwc::Hash>(new EvpHash(std::move(md), std::move(context)));
  }

  std::size_t digest_size() const override { return digest_size_; }
  std::size_t block_size() const override { return block_size_; }

  void Reset() override { Check(EVP_DigestInit_ex2(context_.get(), md_.get(), nullptr)); }

  void Update(std::span<const uint8_t> data) override {
    if (data.empty()) return;
    Check(EVP_DigestUpdate(context_.get(), data.data(), data.size()));
  }

  std::unique_ptr<lwc::Hash> Clone() const override {
    if (EVP_MD_up_ref(md_.get()) != 1) return nullptr;
    DigestPtr md(md_.get());
    ContextPtr context(EVP_MD_CTX_new());
    if (context == nullptr || EVP_MD_CTX_copy_ex(context.get(), context_.get()) != 1) {
      ERR_clear_error();
      return nullptr;
    }
    return std::unique_ptr<lwc::Hash>(new EvpHash(std::move(md), std::move(context)));
  }

 protected:
  void DoFinal(std::span<uint8_t> digest) override {
    unsigned int written = 0;
    Check(EVP_DigestFinal_ex(context_.get(), digest.data(), &written));
    if (written != digest.size()) std::abort();
    Reset();
  }

 private:
  EvpHash(DigestPtr md, ContextPtr context)
      : md_(std::move(md)),
        context_(std::move(context)),
        digest_size_(static_cast<std::size_t>(EVP_MD_get_size(md_.get()))),
        block_size_(static_cast<std::size_t>(EVP_MD_get_block_size(md_.get()))) {}

  DigestPtr md_;
  // EVP_MD_CTX_free cleanses the state, which may have absorbed secrets
  // (HMAC keys).
  ContextPtr context_;
  std::size_t digest_size_;
  std::size_t block_size_;
};

}  // namespace

std::unique_ptr<lwc::Hash> NewSha256() { return EvpHash::Create("SHA2-256"); }

std::unique_ptr<lwc::Hash> NewSha3_256() { return EvpHash::Create("SHA3-256"); }

std::unique_ptr<lwc::Hash> NewSha512() { return EvpHash::Create("SHA2-512"); }

}  // namespace custos::crypto
