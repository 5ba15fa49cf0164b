// Non-virtual parts of the lwc interfaces: argument checks around the
// algorithm-specific hooks.
#include <string>

#include "custos/core/ct.h"
#include "custos/core/secret_bytes.h"
#include "custos/lwc/aead.h"
#include "custos/lwc/block_cipher.h"
#include "custos/lwc/hash.h"
#include "custos/lwc/mac.h"
#include "custos/lwc/stream_cipher.h"

namespace custos::lwc {
namespace {

std::string SizeMessage(std::string_view what, std::size_t got, std::size_t want) {
  return std::string(what) + " must be " + std::to_string(want) + " bytes, got " +
         std::to_string(got);
}

}  // namespace

Status Hash::FinalInto(std::span<uint8_t> digest) {
  if (digest.size() != digest_size()) {
    return InvalidArgumentError(SizeMessage("digest buffer", digest.size(), digest_size()));
  }
  DoFinal(digest);
  return OkStatus();
}

std::vector<uint8_t> Hash::Final() {
  std::vector<uint8_t> digest(digest_size());
  DoFinal(digest);
  return digest;
}

Status Xof::Update(std::span<const uint8_t> data) {
  if (squeezing_) return FailedPreconditionError("XOF update after squeeze; call Reset first");
  DoUpdate(data);
  return OkStatus();
}

void Xof::Squeeze(std::span<uint8_t> out) {
  if (!squeezing_) {
    DoFinishAbsorb();
    squeezing_ = true;
  }
  DoSqueeze(out);
}

std::vector<uint8_t> Xof::Squeeze(std::size_t length) {
  std::vector<uint8_t> out(length);
  Squeeze(std::span<uint8_t>(out));
  return out;
}

Status Mac::FinalInto(std::span<uint8_t> tag) {
  if (tag.size() != tag_size()) {
    return InvalidArgumentError(SizeMessage("tag buffer", tag.size(), tag_size()));
  }
  DoFinal(tag);
  return OkStatus();
}

std::vector<uint8_t> Mac::Final() {
  std::vector<uint8_t> tag(tag_size());
  DoFinal(tag);
  return tag;
}

Status Mac::Verify(std::span<const uint8_t> tag) {
  SecretBytes expected(tag_size());
  DoFinal(expected.mutable_span());
  if (tag.size() < 4 || tag.size() > expected.size() ||
      !CtEqual(tag, expected.span().first(tag.size()))) {
    return UnauthenticatedError("MAC verification failed");
  }
  return OkStatus();
}

Status BlockCipher::EncryptBlock(std::span<const uint8_t> in, std::span<uint8_t> out) const {
  if (in.size() != block_size() || out.size() != block_size()) {
    return InvalidArgumentError(
        SizeMessage("block", in.size() != block_size() ? in.size() : out.size(), block_size()));
  }
  DoEncrypt(in.data(), out.data());
  return OkStatus();
}

Status BlockCipher::DecryptBlock(std::span<const uint8_t> in, std::span<uint8_t> out) const {
  if (in.size() != block_size() || out.size() != block_size()) {
    return InvalidArgumentError(
        SizeMessage("block", in.size() != block_size() ? in.size() : out.size(), block_size()));
  }
  DoDecrypt(in.data(), out.data());
  return OkStatus();
}

Status StreamCipher::Process(std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (in.size() != out.size()) {
    return InvalidArgumentError(SizeMessage("output buffer", out.size(), in.size()));
  }
  if (!in.empty()) DoProcess(in.data(), out.data(), in.size());
  return OkStatus();
}

StatusOr<std::vector<uint8_t>> NonceAead::Seal(std::span<const uint8_t> nonce,
                                               std::span<const uint8_t> associated_data,
                                               std::span<const uint8_t> plaintext) const {
  std::vector<uint8_t> out(plaintext.size() + tag_size());
  CUSTOS_RETURN_IF_ERROR(SealInto(nonce, associated_data, plaintext, out));
  return out;
}

StatusOr<std::vector<uint8_t>> NonceAead::Open(std::span<const uint8_t> nonce,
                                               std::span<const uint8_t> associated_data,
                                               std::span<const uint8_t> ciphertext_and_tag) const {
  if (ciphertext_and_tag.size() < tag_size()) {
    return InvalidArgumentError(SizeMessage("ciphertext", ciphertext_and_tag.size(), tag_size()) +
                                " or more");
  }
  std::vector<uint8_t> out(ciphertext_and_tag.size() - tag_size());
  CUSTOS_RETURN_IF_ERROR(OpenInto(nonce, associated_data, ciphertext_and_tag, out));
  return out;
}

namespace {

// A NonceAead over a raw algorithm description.
class RawAead final : public NonceAead {
 public:
  RawAead(const RawAeadAlgorithm& algorithm, std::span<const uint8_t> key)
      : algorithm_(algorithm), key_(key) {}

  std::size_t key_size() const override { return algorithm_.key_size; }
  std::size_t nonce_size() const override { return algorithm_.nonce_size; }
  std::size_t tag_size() const override { return algorithm_.tag_size; }

  Status SealInto(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                  std::span<const uint8_t> plaintext, std::span<uint8_t> out) const override {
    if (nonce.size() != algorithm_.nonce_size) {
      return InvalidArgumentError(SizeMessage("nonce", nonce.size(), algorithm_.nonce_size));
    }
    if (out.size() != plaintext.size() + algorithm_.tag_size) {
      return InvalidArgumentError(
          SizeMessage("output buffer", out.size(), plaintext.size() + algorithm_.tag_size));
    }
    AeadIo io{key_.span(),
              nonce,
              ad,
              plaintext,
              out.first(plaintext.size()),
              out.subspan(plaintext.size())};
    algorithm_.encrypt(io);
    return OkStatus();
  }

  Status OpenInto(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                  std::span<const uint8_t> ciphertext_and_tag,
                  std::span<uint8_t> out) const override {
    if (nonce.size() != algorithm_.nonce_size) {
      return InvalidArgumentError(SizeMessage("nonce", nonce.size(), algorithm_.nonce_size));
    }
    if (ciphertext_and_tag.size() < algorithm_.tag_size) {
      return InvalidArgumentError("ciphertext is shorter than the " +
                                  std::to_string(algorithm_.tag_size) + "-byte tag");
    }
    const std::size_t length = ciphertext_and_tag.size() - algorithm_.tag_size;
    if (out.size() != length) {
      return InvalidArgumentError(SizeMessage("output buffer", out.size(), length));
    }
    // The received tag lies after the ciphertext, so decrypting in place
    // (out starting at the ciphertext) never overwrites it.
    uint8_t computed_tag[kMaxRawAeadTagSize];
    std::span<uint8_t> computed(computed_tag, algorithm_.tag_size);
    AeadIo io{key_.span(), nonce, ad, ciphertext_and_tag.first(length), out, computed};
    algorithm_.decrypt(io);
    bool ok = CtEqual(ciphertext_and_tag.subspan(length), computed);
    SecureWipe(computed);
    if (!ok) {
      SecureWipe(out);
      return UnauthenticatedError("authentication failed");
    }
    return OkStatus();
  }

 private:
  RawAeadAlgorithm algorithm_;
  SecretBytes key_;
};

}  // namespace

StatusOr<std::unique_ptr<NonceAead>> NewRawAead(const RawAeadAlgorithm& algorithm,
                                                std::span<const uint8_t> key) {
  if (key.size() != algorithm.key_size) {
    return InvalidArgumentError(SizeMessage("key", key.size(), algorithm.key_size));
  }
  if (algorithm.tag_size > kMaxRawAeadTagSize) {
    return InternalError("raw AEAD tag longer than " + std::to_string(kMaxRawAeadTagSize) +
                         " bytes");
  }
  return std::unique_ptr<NonceAead>(new RawAead(algorithm, key));
}

}  // namespace custos::lwc
