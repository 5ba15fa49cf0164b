#include "custos/lwc/hmac.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "custos/core/secret_bytes.h"

namespace custos::lwc {
namespace {

constexpr uint8_t kInnerPad = 0x36;
constexpr uint8_t kOuterPad = 0x5c;

// RFC 2104's B: the hash's block, widened to a multiple of the block that
// holds a digest when the block is shorter than the digest (sponges with a
// small rate), so that a hashed key always fits in K0.
std::size_t PadSize(const Hash& hash) {
  const std::size_t block = hash.block_size();
  return (std::max(hash.digest_size(), block) + block - 1) / block * block;
}

class Hmac final : public Mac {
 public:
  Hmac(std::unique_ptr<Hash> hash, std::span<const uint8_t> key)
      : hash_(std::move(hash)), inner_pad_(PadSize(*hash_)), outer_pad_(PadSize(*hash_)) {
    const std::size_t pad_size = inner_pad_.size();
    // K0: the key, or its digest when it exceeds the pad, zero-padded.
    SecretBytes k0(pad_size);
    if (key.size() > pad_size) {
      hash_->Reset();
      hash_->Update(key);
      // digest_size() <= pad_size by construction of PadSize.
      hash_->FinalInto(k0.mutable_span().first(hash_->digest_size())).IgnoreError();
    } else {
      std::copy(key.begin(), key.end(), k0.data());
    }
    for (std::size_t i = 0; i < pad_size; ++i) {
      inner_pad_[i] = k0[i] ^ kInnerPad;
      outer_pad_[i] = k0[i] ^ kOuterPad;
    }
    Reset();
  }
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  std::size_t tag_size() const override { return hash_->digest_size(); }

  void Reset() override {
    hash_->Reset();
    hash_->Update(inner_pad_.span());
  }

  void Update(std::span<const uint8_t> data) override { hash_->Update(data); }

 protected:
  // The inner digest goes to `tag` first (it has digest_size() bytes), is
  // absorbed by the outer hash, then overwritten by the final tag: no
  // allocation and no extra copy of an intermediate secret.
  void DoFinal(std::span<uint8_t> tag) override {
    hash_->FinalInto(tag).IgnoreError();  // tag.size() == digest_size(), checked by Mac
    hash_->Update(outer_pad_.span());
    hash_->Update(tag);
    hash_->FinalInto(tag).IgnoreError();
    Reset();
  }

 private:
  std::unique_ptr<Hash> hash_;
  SecretBytes inner_pad_;
  SecretBytes outer_pad_;
};

}  // namespace

StatusOr<std::unique_ptr<Mac>> NewHmac(std::unique_ptr<Hash> hash, std::span<const uint8_t> key) {
  if (hash == nullptr) return InvalidArgumentError("HMAC needs a hash, got null");
  if (hash->block_size() == 0)
    return InvalidArgumentError("HMAC needs a hash with a non-empty block");
  return std::unique_ptr<Mac>(new Hmac(std::move(hash), key));
}

}  // namespace custos::lwc
