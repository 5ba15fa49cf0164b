// Trivium, 64 steps at a time.
//
// Each of the three registers (A = s1..s93, B = s94..s177, C = s178..s288)
// is held as a 128-bit value in two words, with register bit r_j (r_1 the
// newest) at bit 128 - j: r_1..r_64 fill `hi` from the top, r_65.. fill
// `lo` from the top. Then 64 consecutive steps read, for a tap r_i, the
// bits r_i, r_{i-1}, ..., r_{i-63}: that is the 64-bit window starting at bit
// 128 - i, and bit t of the window is the tap's value at step t. Every tap is
// at i >= 66, so the window never reaches bits the same 64 steps produce.
// After the 64 steps the old r_1..r_64 become r_65..r_128 (lo = hi) and the
// 64 new bits, the one of step t at r_{64-t}, form the new hi word exactly.
#include "custos/lwc/trivium.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/secret_bytes.h"

namespace custos::lwc {
namespace {

constexpr std::size_t kKeyBytes = 10;
constexpr std::size_t kIvBytes = 10;
constexpr int kWarmUpWords = 4 * 288 / 64;  // 1152 steps

struct Register {
  uint64_t hi = 0;  // r_1 .. r_64, r_1 at bit 63
  uint64_t lo = 0;  // r_65 .. r_128, r_65 at bit 63
};

// The values of tap r_i over the next 64 steps (bit t = step t).
template <int kI>
inline uint64_t Tap(const Register& r) {
  static_assert(kI > 64 && kI < 128, "taps lie in 65..127");
  return (r.lo >> (128 - kI)) | (r.hi << (kI - 64));
}

inline void Shift(Register& r, uint64_t feedback) {
  r.lo = r.hi;
  r.hi = feedback;
}

inline uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void StoreLittleEndian64(uint64_t v, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Loads an 80-bit key or IV into an empty register. With the eSTREAM byte
// order (K(8j+b+1) = bit 7-b of k[9-j]), bit 128 - j of the register, which
// holds r_j = K_j, turns out to be bit (128 - j) of the 16-byte little-endian
// string 00 00 00 00 00 00 k0 k1 ... k9: no bit reversal is needed.
Register LoadRegister(std::span<const uint8_t> bytes) {
  Register r;
  r.lo = (uint64_t{bytes[0]} << 48) | (uint64_t{bytes[1]} << 56);
  r.hi = LoadLittleEndian64(bytes.data() + 2);
  return r;
}

class Trivium final : public StreamCipher {
 public:
  Trivium(std::span<const uint8_t> key, std::span<const uint8_t> iv)
      : a_(LoadRegister(key)), b_(LoadRegister(iv)) {
    // s286 = s287 = s288 = 1, i.e. c_109..c_111, at bits 19, 18, 17.
    c_.lo = uint64_t{7} << 17;
    for (int i = 0; i < kWarmUpWords; ++i) Step();
  }

  ~Trivium() override {
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&a_), sizeof(a_)));
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&b_), sizeof(b_)));
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&c_), sizeof(c_)));
    SecureWipe(buffer_);
  }

  Trivium(const Trivium&) = delete;
  Trivium& operator=(const Trivium&) = delete;

  std::size_t key_size() const override { return kKeyBytes; }
  std::size_t iv_size() const override { return kIvBytes; }

 protected:
  void DoProcess(const uint8_t* in, uint8_t* out, std::size_t length) override {
    std::size_t i = 0;
    // Drain the keystream left from the previous call.
    while (i < length && available_ > 0) {
      out[i] = in[i] ^ buffer_[buffer_.size() - available_];
      --available_;
      ++i;
    }
    // Whole words: z_1 of the word is bit 0 of the first byte.
    while (length - i >= 8) {
      StoreLittleEndian64(LoadLittleEndian64(in + i) ^ Step(), out + i);
      i += 8;
    }
    if (i < length) {
      StoreLittleEndian64(Step(), buffer_.data());
      available_ = buffer_.size();
      while (i < length) {
        out[i] = in[i] ^ buffer_[buffer_.size() - available_];
        --available_;
        ++i;
      }
    }
  }

 private:
  // 64 steps of the specification's update; returns z for each (bit t =
  // step t). The keystream is computed during warm-up too and discarded.
  uint64_t Step() {
    uint64_t t1 = Tap<66>(a_) ^ Tap<93>(a_);
    uint64_t t2 = Tap<69>(b_) ^ Tap<84>(b_);   // s162, s177
    uint64_t t3 = Tap<66>(c_) ^ Tap<111>(c_);  // s243, s288
    const uint64_t z = t1 ^ t2 ^ t3;
    t1 ^= (Tap<91>(a_) & Tap<92>(a_)) ^ Tap<78>(b_);    // s91 s92, s171
    t2 ^= (Tap<82>(b_) & Tap<83>(b_)) ^ Tap<87>(c_);    // s175 s176, s264
    t3 ^= (Tap<109>(c_) & Tap<110>(c_)) ^ Tap<69>(a_);  // s286 s287, s69
    Shift(a_, t3);
    Shift(b_, t1);
    Shift(c_, t2);
    return z;
  }

  Register a_;
  Register b_;
  Register c_;
  std::array<uint8_t, 8> buffer_{};  // keystream bytes not used yet
  std::size_t available_ = 0;        // how many, at the end of buffer_
};

}  // namespace

StatusOr<std::unique_ptr<StreamCipher>> NewTrivium(std::span<const uint8_t> key,
                                                   std::span<const uint8_t> iv) {
  if (key.size() != kKeyBytes) return InvalidArgumentError("Trivium key must be 10 bytes");
  if (iv.size() != kIvBytes) return InvalidArgumentError("Trivium IV must be 10 bytes");
  return std::unique_ptr<StreamCipher>(new Trivium(key, iv));
}

}  // namespace custos::lwc
