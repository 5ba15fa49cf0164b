// Ascon-AEAD128, Ascon-Hash256, Ascon-XOF128 and Ascon-CXOF128 (NIST SP 800-232).
//
// Speed notes: the AEAD functions are called once per message through a
// function pointer, so everything below them (mode, permutation, loads) is
// force-inlined into the two of them; the state lives in five registers for
// the whole message. The only branches are on lengths (public).
#include "custos/lwc/ascon.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/ascon_avx512.h"
#include "custos/lwc/internal/ascon_permutation.h"

namespace custos::lwc {
namespace {

using internal::AsconLoad64;
using internal::AsconLoadPartial;
using internal::AsconLowBytesMask;
using internal::AsconP12;
using internal::AsconP8;
using internal::AsconPad;
using internal::AsconState;
using internal::AsconStore64;
using internal::AsconStorePartial;

constexpr std::size_t kAeadRate = 16;
constexpr std::size_t kHashRate = 8;
constexpr std::size_t kHash256DigestSize = 32;

// ---------------------------------------------------------------------------
// Ascon-AEAD128 (SP 800-232, Section 4).

// Initialization: S = IV || K || N, S = p12(S) ^ (0^192 || K).
[[gnu::always_inline]] inline AsconState AeadInit(uint64_t k0, uint64_t k1, const uint8_t* nonce) {
  AsconState s{internal::kAsconAead128Iv, k0, k1, AsconLoad64(nonce), AsconLoad64(nonce + 8)};
  AsconP12(s);
  s.x3 ^= k0;
  s.x4 ^= k1;
  return s;
}

// Associated data: absorbed only when non-empty (then always padded), followed
// by the domain separation bit in either case.
[[gnu::always_inline]] inline void AeadAbsorbAd(AsconState& s, const uint8_t* ad,
                                                std::size_t length) {
  if (length != 0) {
    while (length >= kAeadRate) {
      s.x0 ^= AsconLoad64(ad);
      s.x1 ^= AsconLoad64(ad + 8);
      AsconP8(s);
      ad += kAeadRate;
      length -= kAeadRate;
    }
    if (length >= 8) {
      s.x0 ^= AsconLoad64(ad);
      s.x1 ^= AsconLoadPartial(ad + 8, length - 8) ^ AsconPad(length - 8);
    } else {
      s.x0 ^= AsconLoadPartial(ad, length) ^ AsconPad(length);
    }
    AsconP8(s);
  }
  s.x4 ^= internal::kAsconDomainSeparation;
}

// Finalization: S = p12(S ^ (0^128 || K || 0^64)), T = S[192..319] ^ K.
[[gnu::always_inline]] inline void AeadFinalize(AsconState& s, uint64_t k0, uint64_t k1,
                                                uint8_t* tag) {
  s.x2 ^= k0;
  s.x3 ^= k1;
  AsconP12(s);
  AsconStore64(tag, s.x3 ^ k0);
  AsconStore64(tag + 8, s.x4 ^ k1);
}

[[gnu::always_inline]] inline void EncryptImpl(const AeadIo& io) {
  const uint64_t k0 = AsconLoad64(io.key.data());
  const uint64_t k1 = AsconLoad64(io.key.data() + 8);
  AsconState s = AeadInit(k0, k1, io.nonce.data());
  AeadAbsorbAd(s, io.ad.data(), io.ad.size());

  const uint8_t* in = io.in.data();
  uint8_t* out = io.out.data();
  std::size_t length = io.in.size();
  while (length >= kAeadRate) {
    // Both input words are read before either output word is written, so
    // out == in works and the compiler need not reload after the stores.
    s.x0 ^= AsconLoad64(in);
    s.x1 ^= AsconLoad64(in + 8);
    AsconStore64(out, s.x0);
    AsconStore64(out + 8, s.x1);
    AsconP8(s);
    in += kAeadRate;
    out += kAeadRate;
    length -= kAeadRate;
  }
  if (length >= 8) {
    s.x0 ^= AsconLoad64(in);
    s.x1 ^= AsconLoadPartial(in + 8, length - 8) ^ AsconPad(length - 8);
    AsconStore64(out, s.x0);
    AsconStorePartial(out + 8, s.x1, length - 8);
  } else {
    s.x0 ^= AsconLoadPartial(in, length) ^ AsconPad(length);
    AsconStorePartial(out, s.x0, length);
  }
  AeadFinalize(s, k0, k1, io.tag.data());
}

// Decrypts the last n < 8 bytes of a final block held in word `x`: the
// plaintext is x ^ c, and the state word becomes c in those bytes (what
// encryption would have left there) with the padding bit after them.
[[gnu::always_inline]] inline void DecryptPartialWord(uint64_t& x, const uint8_t* in, uint8_t* out,
                                                      std::size_t n) {
  const uint64_t c = AsconLoadPartial(in, n);
  AsconStorePartial(out, x ^ c, n);
  x = (x & ~AsconLowBytesMask(n)) ^ c ^ AsconPad(n);
}

[[gnu::always_inline]] inline void DecryptImpl(const AeadIo& io) {
  const uint64_t k0 = AsconLoad64(io.key.data());
  const uint64_t k1 = AsconLoad64(io.key.data() + 8);
  AsconState s = AeadInit(k0, k1, io.nonce.data());
  AeadAbsorbAd(s, io.ad.data(), io.ad.size());

  const uint8_t* in = io.in.data();
  uint8_t* out = io.out.data();
  std::size_t length = io.in.size();
  while (length >= kAeadRate) {
    const uint64_t c0 = AsconLoad64(in);
    const uint64_t c1 = AsconLoad64(in + 8);
    AsconStore64(out, s.x0 ^ c0);
    AsconStore64(out + 8, s.x1 ^ c1);
    s.x0 = c0;
    s.x1 = c1;
    AsconP8(s);
    in += kAeadRate;
    out += kAeadRate;
    length -= kAeadRate;
  }
  if (length >= 8) {
    const uint64_t c0 = AsconLoad64(in);
    AsconStore64(out, s.x0 ^ c0);
    s.x0 = c0;
    DecryptPartialWord(s.x1, in + 8, out + 8, length - 8);
  } else {
    DecryptPartialWord(s.x0, in, out, length);
  }
  AeadFinalize(s, k0, k1, io.tag.data());
}

// Two compilations of the same code: portable x86-64 (or any target), and
// one that may use BMI1/BMI2 (andn, rorx: three-operand forms that save the
// NOTs of the S-box and most register copies; about 8% faster on Zen 4).
void AsconAead128Encrypt(const AeadIo& io) { EncryptImpl(io); }
void AsconAead128Decrypt(const AeadIo& io) { DecryptImpl(io); }

constexpr RawAeadAlgorithm kAsconAead128Portable{
    .key_size = kAsconAead128KeySize,
    .nonce_size = kAsconAead128NonceSize,
    .tag_size = kAsconAead128TagSize,
    .encrypt = &AsconAead128Encrypt,
    .decrypt = &AsconAead128Decrypt,
};

#if defined(__x86_64__)
[[gnu::target("bmi,bmi2")]] void AsconAead128EncryptBmi2(const AeadIo& io) { EncryptImpl(io); }
[[gnu::target("bmi,bmi2")]] void AsconAead128DecryptBmi2(const AeadIo& io) { DecryptImpl(io); }

constexpr RawAeadAlgorithm kAsconAead128Bmi2{
    .key_size = kAsconAead128KeySize,
    .nonce_size = kAsconAead128NonceSize,
    .tag_size = kAsconAead128TagSize,
    .encrypt = &AsconAead128EncryptBmi2,
    .decrypt = &AsconAead128DecryptBmi2,
};
#endif

const RawAeadAlgorithm* Bmi2Build() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")) return &kAsconAead128Bmi2;
#endif
  return nullptr;
}

// The fastest build this CPU runs: AVX-512VL (ascon_avx512.cpp; 15% less
// time than BMI2 on Zen 4), then BMI2, then portable. Under valgrind, whose
// CPU model has no AVX-512, this falls back to BMI2 or portable.
const RawAeadAlgorithm& SelectAsconAead128() {
  if (const RawAeadAlgorithm* avx512 = internal::AsconAead128Avx512Algorithm()) return *avx512;
  if (const RawAeadAlgorithm* bmi2 = Bmi2Build()) return *bmi2;
  return kAsconAead128Portable;
}

// ---------------------------------------------------------------------------
// The rate-8 sponge of Ascon-Hash256, Ascon-XOF128 and Ascon-CXOF128
// (SP 800-232, Section 5), all with p12 between blocks.

// The state after S = p12(IV || 0^256), evaluated at compile time.
constexpr AsconState InitialState(uint64_t iv) {
  AsconState s{iv, 0, 0, 0, 0};
  AsconP12(s);
  return s;
}

constexpr AsconState kHash256Initial = InitialState(internal::kAsconHash256Iv);
constexpr AsconState kXof128Initial = InitialState(internal::kAsconXof128Iv);
constexpr AsconState kCxof128Initial = InitialState(internal::kAsconCxof128Iv);

// Sponge state plus the byte offset in the current rate word x0: while
// absorbing, how many bytes of the current block have been XORed in; while
// squeezing, how many bytes of x0 have been output. Input bytes are XORed
// straight into x0, so no block buffer is needed.
class AsconSponge {
 public:
  explicit AsconSponge(const AsconState& state) : state_(state) {}

  void Absorb(std::span<const uint8_t> data) {
    const uint8_t* p = data.data();
    std::size_t n = data.size();
    AsconState s = state_;
    if (offset_ != 0) {
      const std::size_t take = std::min(kHashRate - offset_, n);
      s.x0 ^= AsconLoadPartial(p, take) << (8 * offset_);  // take < 8 here
      offset_ += take;
      p += take;
      n -= take;
      if (offset_ == kHashRate) {
        AsconP12(s);
        offset_ = 0;
      }
    }
    while (n >= kHashRate) {
      s.x0 ^= AsconLoad64(p);
      AsconP12(s);
      p += kHashRate;
      n -= kHashRate;
    }
    if (n != 0) {  // here offset_ == 0
      s.x0 ^= AsconLoadPartial(p, n);
      offset_ = n;
    }
    state_ = s;
  }

  // Pads the last (possibly empty) block and permutes; the offset becomes 0,
  // which is also the start of absorbing a new block or of squeezing.
  void PadAndPermute() {
    state_.x0 ^= AsconPad(offset_);
    AsconP12(state_);
    offset_ = 0;
  }

  // Absorbs the 64-bit word `x` as one full block.
  void AbsorbWord(uint64_t x) {
    state_.x0 ^= x;
    AsconP12(state_);
  }

  void Squeeze(std::span<uint8_t> out) {
    uint8_t* p = out.data();
    std::size_t n = out.size();
    AsconState s = state_;
    while (n != 0) {
      if (offset_ == kHashRate) {
        AsconP12(s);
        offset_ = 0;
      }
      if (offset_ == 0 && n >= kHashRate) {
        AsconStore64(p, s.x0);
        offset_ = kHashRate;
        p += kHashRate;
        n -= kHashRate;
        continue;
      }
      const std::size_t take = std::min(kHashRate - offset_, n);
      uint8_t block[kHashRate];
      AsconStore64(block, s.x0);
      std::memcpy(p, block + offset_, take);
      SecureWipe(block);
      offset_ += take;
      p += take;
      n -= take;
    }
    state_ = s;
  }

  const AsconState& state() const { return state_; }

  void Wipe() {
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&state_), sizeof(state_)));
    offset_ = 0;
  }

 private:
  AsconState state_;
  std::size_t offset_ = 0;
};

class AsconHash256 final : public Hash {
 public:
  AsconHash256() = default;
  AsconHash256(const AsconHash256&) = default;
  AsconHash256& operator=(const AsconHash256&) = delete;
  ~AsconHash256() override { sponge_.Wipe(); }

  std::size_t digest_size() const override { return kHash256DigestSize; }
  std::size_t block_size() const override { return kHashRate; }
  void Reset() override { sponge_ = AsconSponge(kHash256Initial); }
  void Update(std::span<const uint8_t> data) override { sponge_.Absorb(data); }
  std::unique_ptr<Hash> Clone() const override { return std::make_unique<AsconHash256>(*this); }

 protected:
  void DoFinal(std::span<uint8_t> digest) override {
    sponge_.PadAndPermute();
    sponge_.Squeeze(digest);
    sponge_.Wipe();
    Reset();
  }

 private:
  AsconSponge sponge_{kHash256Initial};
};

// Ascon-XOF128, and Ascon-CXOF128 whose customization is folded into
// `initial_` once at construction.
class AsconXof final : public Xof {
 public:
  explicit AsconXof(const AsconState& initial) : initial_(initial), sponge_(initial) {}
  AsconXof(const AsconXof&) = default;
  AsconXof& operator=(const AsconXof&) = delete;
  ~AsconXof() override {
    sponge_.Wipe();
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&initial_), sizeof(initial_)));
  }

  void Reset() override {
    sponge_ = AsconSponge(initial_);
    ResetPhase();
  }
  std::unique_ptr<Xof> Clone() const override { return std::make_unique<AsconXof>(*this); }

 protected:
  void DoUpdate(std::span<const uint8_t> data) override { sponge_.Absorb(data); }
  void DoFinishAbsorb() override { sponge_.PadAndPermute(); }
  void DoSqueeze(std::span<uint8_t> out) override { sponge_.Squeeze(out); }

 private:
  AsconState initial_;
  AsconSponge sponge_;
};

}  // namespace

const RawAeadAlgorithm& AsconAead128Algorithm() {
  // Chosen once (thread-safe static initialization) and constant afterwards.
  static const RawAeadAlgorithm& algorithm = SelectAsconAead128();
  return algorithm;
}

namespace internal {
const RawAeadAlgorithm& AsconAead128PortableAlgorithm() { return kAsconAead128Portable; }
const RawAeadAlgorithm* AsconAead128Bmi2Algorithm() { return Bmi2Build(); }
}  // namespace internal

StatusOr<std::unique_ptr<NonceAead>> NewAsconAead128(std::span<const uint8_t> key) {
  return NewRawAead(AsconAead128Algorithm(), key);
}

std::unique_ptr<Hash> NewAsconHash256() { return std::make_unique<AsconHash256>(); }

std::unique_ptr<Xof> NewAsconXof128() { return std::make_unique<AsconXof>(kXof128Initial); }

StatusOr<std::unique_ptr<Xof>> NewAsconCxof128(std::span<const uint8_t> customization) {
  if (customization.size() > kAsconCxof128MaxCustomizationSize) {
    return InvalidArgumentError("Ascon-CXOF128 customization must be at most 256 bytes, got " +
                                std::to_string(customization.size()));
  }
  // Z is absorbed as its bit length (one 64-bit block) followed by Z itself,
  // padded (SP 800-232, Algorithm 6).
  AsconSponge sponge(kCxof128Initial);
  sponge.AbsorbWord(static_cast<uint64_t>(customization.size()) * 8);
  sponge.Absorb(customization);
  sponge.PadAndPermute();
  auto xof = std::make_unique<AsconXof>(sponge.state());
  sponge.Wipe();
  return std::unique_ptr<Xof>(std::move(xof));
}

}  // namespace custos::lwc
