#include "custos/lwc/cmac.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "custos/core/secret_bytes.h"

namespace custos::lwc {
namespace {

constexpr std::size_t kMaxBlock = 16;

class Cmac final : public Mac {
 public:
  explicit Cmac(std::unique_ptr<BlockCipher> cipher)
      : cipher_(std::move(cipher)), block_size_(cipher_->block_size()) {
    // L = E_K(0^b); K1 = dbl(L); K2 = dbl(K1).
    std::array<uint8_t, kMaxBlock> l{};
    Encrypt(Block(l));
    const uint8_t rb = block_size_ == 8 ? 0x1B : 0x87;
    Double(l, k1_, block_size_, rb);
    Double(k1_, k2_, block_size_, rb);
    SecureWipe(l);
  }
  ~Cmac() override {
    SecureWipe(k1_);
    SecureWipe(k2_);
    SecureWipe(state_);
    SecureWipe(buffer_);
  }
  Cmac(const Cmac&) = delete;
  Cmac& operator=(const Cmac&) = delete;

  std::size_t tag_size() const override { return block_size_; }

  void Reset() override {
    SecureWipe(state_);
    SecureWipe(buffer_);
    buffered_ = 0;
  }

  // The last block of the message is special (it gets K1 or K2), and a full
  // buffered block may still turn out to be the last; so a block is chained
  // only once more input is known to follow it.
  void Update(std::span<const uint8_t> data) override {
    const std::size_t n = block_size_;
    if (data.empty()) return;
    if (buffered_ > 0) {
      const std::size_t take = std::min(n - buffered_, data.size());
      std::copy_n(data.begin(), take, buffer_.begin() + buffered_);
      buffered_ += take;
      data = data.subspan(take);
      if (data.empty()) return;
      Chain(buffer_.data());
      buffered_ = 0;
    }
    while (data.size() > n) {
      Chain(data.data());
      data = data.subspan(n);
    }
    std::copy(data.begin(), data.end(), buffer_.begin());
    buffered_ = data.size();
  }

 protected:
  void DoFinal(std::span<uint8_t> tag) override {
    const std::size_t n = block_size_;
    // A complete last block takes K1; a partial one is padded with 10...0
    // and takes K2. Only the (public) message length decides.
    const std::array<uint8_t, kMaxBlock>& subkey = buffered_ == n ? k1_ : k2_;
    if (buffered_ < n) {
      buffer_[buffered_] = 0x80;
      std::fill(buffer_.begin() + buffered_ + 1, buffer_.begin() + n, 0);
    }
    for (std::size_t i = 0; i < n; ++i) state_[i] ^= buffer_[i] ^ subkey[i];
    Encrypt(Block(state_));
    std::copy_n(state_.begin(), n, tag.begin());
    Reset();
  }

 private:
  std::span<uint8_t> Block(std::array<uint8_t, kMaxBlock>& bytes) const {
    return std::span<uint8_t>(bytes.data(), block_size_);
  }

  // Encrypts in place. The span always has block_size() bytes, so the size
  // check inside EncryptBlock cannot fail.
  void Encrypt(std::span<uint8_t> block) const {
    cipher_->EncryptBlock(block, block).IgnoreError();
  }

  // state = E_K(state XOR block).
  void Chain(const uint8_t* block) {
    for (std::size_t i = 0; i < block_size_; ++i) state_[i] ^= block[i];
    Encrypt(Block(state_));
  }

  // out = in * x in GF(2^b): a left shift of the big-endian bit string, and
  // Rb folded into the last byte when the bit shifted out was 1. The mask
  // turns that condition into arithmetic so the secret bit is never branched on.
  // Only the first `n` (8 or 16) bytes take part.
  static void Double(const std::array<uint8_t, kMaxBlock>& in, std::array<uint8_t, kMaxBlock>& out,
                     std::size_t n, uint8_t rb) {
    const std::size_t last = (n == 8 ? 8 : kMaxBlock) - 1;
    const uint8_t mask = static_cast<uint8_t>(0 - (in[0] >> 7));
    for (std::size_t i = 0; i < last; ++i) {
      out[i] = static_cast<uint8_t>((in[i] << 1) | (in[i + 1] >> 7));
    }
    out[last] = static_cast<uint8_t>((in[last] << 1) ^ (rb & mask));
  }

  std::unique_ptr<BlockCipher> cipher_;
  std::size_t block_size_;
  std::array<uint8_t, kMaxBlock> k1_{};
  std::array<uint8_t, kMaxBlock> k2_{};
  std::array<uint8_t, kMaxBlock> state_{};
  std::array<uint8_t, kMaxBlock> buffer_{};
  std::size_t buffered_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Mac>> NewCmac(std::unique_ptr<BlockCipher> cipher) {
  if (cipher == nullptr) return InvalidArgumentError("CMAC needs a block cipher, got null");
  const std::size_t block_size = cipher->block_size();
  if (block_size != 8 && block_size != 16) {
    return InvalidArgumentError("CMAC needs a 64-bit or 128-bit block cipher, got a " +
                                std::to_string(8 * block_size) + "-bit block");
  }
  return std::unique_ptr<Mac>(new Cmac(std::move(cipher)));
}

}  // namespace custos::lwc
