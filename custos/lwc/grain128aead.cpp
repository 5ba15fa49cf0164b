// Grain-128AEADv2, 32 clocks per word operation.
//
// Register bit i (s_i of the LFSR, b_i of the NFSR) is bit i % 32 of word
// i / 32, so the tap s_{i+x} over the next 32 clocks is the 32-bit window
// starting at bit x. The highest tap is x = 96 and the feedback enters at
// 128, so 32 clocks never read a bit they produce. The accumulator and the
// shift register of the authenticator hold bit j at bit j of a 64-bit word.
// Bytes are consumed least significant bit first (see the header), so bit
// j of the stream is bit j % 8 of byte j / 8, a little-endian load.
#include "custos/lwc/grain128aead.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "custos/core/secret_bytes.h"

namespace custos::lwc {
namespace {

constexpr std::size_t kKeyBytes = 16;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 8;

using Register = std::array<uint32_t, 4>;

// Bits x .. x+31 of a register: the values of its tap x over 32 clocks.
template <int kX>
inline uint32_t Tap(const Register& r) {
  static_assert(kX >= 0 && kX <= 96, "taps lie in 0..96");
  if constexpr (kX % 32 == 0) {
    return r[kX / 32];
  } else {
    return (r[kX / 32] >> (kX % 32)) | (r[kX / 32 + 1] << (32 - kX % 32));
  }
}

inline void Shift(Register& r, uint32_t feedback) {
  r[0] = r[1];
  r[1] = r[2];
  r[2] = r[3];
  r[3] = feedback;
}

template <typename T>
void Wipe(T& value) {
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), sizeof(value)));
}

inline uint32_t LoadLittleEndian32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// Bits 0, 2, ..., 14 of `x` into bits 0..7 (fixed masks and shifts).
inline uint8_t EvenBits16(uint32_t x) {
  x &= 0x5555;
  x = (x | (x >> 1)) & 0x3333;
  x = (x | (x >> 2)) & 0x0F0F;
  x = (x | (x >> 4)) & 0x00FF;
  return static_cast<uint8_t>(x);
}

class GrainState {
 public:
  GrainState(std::span<const uint8_t> key, std::span<const uint8_t> nonce) {
    for (int j = 0; j < 4; ++j) {
      key_[j] = LoadLittleEndian32(key.data() + 4 * j);
      nfsr_[j] = key_[j];
    }
    for (int j = 0; j < 3; ++j) lfsr_[j] = LoadLittleEndian32(nonce.data() + 4 * j);
    lfsr_[3] = 0x7FFFFFFF;  // s_96 .. s_126 = 1, s_127 = 0
    // 320 clocks with the output fed back into both registers, then 64 more
    // that also add the key again: k_0..k_63 into the NFSR, k_64..k_127 into
    // the LFSR.
    for (int i = 0; i < 10; ++i) Clock(true, 0, 0);
    Clock(true, key_[2], key_[0]);
    Clock(true, key_[3], key_[1]);
    // The next 64 outputs fill the accumulator, the 64 after them the
    // authenticator's shift register.
    const uint64_t acc_low = Clock(false, 0, 0);
    const uint64_t acc_high = Clock(false, 0, 0);
    accumulator_ = acc_low | (acc_high << 32);
    const uint64_t sr_low = Clock(false, 0, 0);
    const uint64_t sr_high = Clock(false, 0, 0);
    shift_register_ = sr_low | (sr_high << 32);
  }

  ~GrainState() {
    Wipe(key_);
    Wipe(lfsr_);
    Wipe(nfsr_);
    Wipe(accumulator_);
    Wipe(shift_register_);
    Wipe(pending_);
  }

  GrainState(const GrainState&) = delete;
  GrainState& operator=(const GrainState&) = delete;

  // Authenticates one byte of DER(len(AD)) or AD: its 16 clocks' even
  // outputs (keystream) are unused.
  void AuthenticateByte(uint8_t data) { Authenticate(data, NextOddBits()); }

  // Encrypts one message byte; returns the ciphertext byte.
  uint8_t EncryptByte(uint8_t plaintext) {
    const uint32_t y = NextPreOutput16();
    Authenticate(plaintext, EvenBits16(y >> 1));
    return static_cast<uint8_t>(plaintext ^ EvenBits16(y));
  }

  // Decrypts one message byte; returns the plaintext byte.
  uint8_t DecryptByte(uint8_t ciphertext) {
    const uint32_t y = NextPreOutput16();
    const uint8_t plaintext = static_cast<uint8_t>(ciphertext ^ EvenBits16(y));
    Authenticate(plaintext, EvenBits16(y >> 1));
    return plaintext;
  }

  // Absorbs the padding bit 1 and writes the tag (the accumulator, bit j at
  // bit j % 8 of byte j / 8).
  void Finish(std::span<uint8_t> tag) {
    accumulator_ ^= shift_register_;
    for (std::size_t i = 0; i < kTagBytes; ++i)
      tag[i] = static_cast<uint8_t>(accumulator_ >> (8 * i));
  }

 private:
  // 32 clocks; returns the pre-output y (bit t = clock t). `initializing`
  // is a public phase flag: it feeds y back into both registers together
  // with the given key words.
  uint32_t Clock(bool initializing, uint32_t lfsr_key, uint32_t nfsr_key) {
    const Register& s = lfsr_;
    const Register& b = nfsr_;
    const uint32_t b12 = Tap<12>(b);
    const uint32_t b95 = Tap<95>(b);
    // h(x) = x0 x1 + x2 x3 + x4 x5 + x6 x7 + x0 x4 x8 with x = (b12, s8,
    // s13, s20, b95, s42, s60, s79, s94).
    const uint32_t h = (b12 & Tap<8>(s)) ^ (Tap<13>(s) & Tap<20>(s)) ^ (b95 & Tap<42>(s)) ^
                       (Tap<60>(s) & Tap<79>(s)) ^ (b12 & b95 & Tap<94>(s));
    const uint32_t y = h ^ Tap<93>(s) ^ Tap<2>(b) ^ Tap<15>(b) ^ Tap<36>(b) ^ Tap<45>(b) ^
                       Tap<64>(b) ^ Tap<73>(b) ^ Tap<89>(b);
    uint32_t lfsr_feedback =
        Tap<0>(s) ^ Tap<7>(s) ^ Tap<38>(s) ^ Tap<70>(s) ^ Tap<81>(s) ^ Tap<96>(s);
    uint32_t nfsr_feedback = Tap<0>(s) ^ Tap<0>(b) ^ Tap<26>(b) ^ Tap<56>(b) ^ Tap<91>(b) ^
                             Tap<96>(b) ^ (Tap<3>(b) & Tap<67>(b)) ^ (Tap<11>(b) & Tap<13>(b)) ^
                             (Tap<17>(b) & Tap<18>(b)) ^ (Tap<27>(b) & Tap<59>(b)) ^
                             (Tap<40>(b) & Tap<48>(b)) ^ (Tap<61>(b) & Tap<65>(b)) ^
                             (Tap<68>(b) & Tap<84>(b)) ^ (Tap<22>(b) & Tap<24>(b) & Tap<25>(b)) ^
                             (Tap<70>(b) & Tap<78>(b) & Tap<82>(b)) ^
                             (Tap<88>(b) & Tap<92>(b) & Tap<93>(b) & Tap<95>(b));
    if (initializing) {
      lfsr_feedback ^= y ^ lfsr_key;
      nfsr_feedback ^= y ^ nfsr_key;
    }
    Shift(lfsr_, lfsr_feedback);
    Shift(nfsr_, nfsr_feedback);
    return y;
  }

  // The next 16 pre-output bits (8 keystream, 8 authentication bits for one
  // byte). Words of 32 are split in halves; the half left over is public
  // bookkeeping that depends on lengths only.
  uint32_t NextPreOutput16() {
    if (pending_bits_ == 0) {
      pending_ = Clock(false, 0, 0);
      pending_bits_ = 32;
    }
    const uint32_t y = pending_ & 0xFFFF;
    pending_ >>= 16;
    pending_bits_ -= 16;
    return y;
  }

  uint8_t NextOddBits() { return EvenBits16(NextPreOutput16() >> 1); }

  // For each data bit j (least significant first): if it is 1, the
  // accumulator absorbs the shift register; then the shift register takes
  // authentication bit j. Masks instead of branches.
  void Authenticate(uint8_t data, uint8_t auth_bits) {
    for (int j = 0; j < 8; ++j) {
      const uint64_t mask = 0 - static_cast<uint64_t>((data >> j) & 1);
      accumulator_ ^= shift_register_ & mask;
      shift_register_ =
          (shift_register_ >> 1) | (static_cast<uint64_t>((auth_bits >> j) & 1) << 63);
    }
  }

  Register key_{};
  Register lfsr_{};
  Register nfsr_{};
  uint64_t accumulator_ = 0;
  uint64_t shift_register_ = 0;
  uint32_t pending_ = 0;
  int pending_bits_ = 0;
};

// Authenticates DER(len(AD)) || AD. DER: lengths below 128 are one byte;
// longer ones are 0x80 | n followed by the n big-endian bytes of the length.
void AuthenticateAssociatedData(GrainState& state, std::span<const uint8_t> ad) {
  const std::size_t length = ad.size();
  if (length < 128) {
    state.AuthenticateByte(static_cast<uint8_t>(length));
  } else {
    int n = 0;
    for (std::size_t rest = length; rest != 0; rest >>= 8) ++n;
    state.AuthenticateByte(static_cast<uint8_t>(0x80 | n));
    for (int i = n - 1; i >= 0; --i)
      state.AuthenticateByte(static_cast<uint8_t>(length >> (8 * i)));
  }
  for (uint8_t byte : ad) state.AuthenticateByte(byte);
}

void Encrypt(const AeadIo& io) {
  GrainState state(io.key, io.nonce);
  AuthenticateAssociatedData(state, io.ad);
  // Byte i of `in` is read before byte i of `out` is written: in place works.
  for (std::size_t i = 0; i < io.in.size(); ++i) io.out[i] = state.EncryptByte(io.in[i]);
  state.Finish(io.tag);
}

void Decrypt(const AeadIo& io) {
  GrainState state(io.key, io.nonce);
  AuthenticateAssociatedData(state, io.ad);
  for (std::size_t i = 0; i < io.in.size(); ++i) io.out[i] = state.DecryptByte(io.in[i]);
  state.Finish(io.tag);
}

constexpr RawAeadAlgorithm kGrain128AeadV2 = {kKeyBytes, kNonceBytes, kTagBytes, &Encrypt,
                                              &Decrypt};

}  // namespace

const RawAeadAlgorithm& Grain128AeadV2Algorithm() { return kGrain128AeadV2; }

StatusOr<std::unique_ptr<NonceAead>> NewGrain128AeadV2(std::span<const uint8_t> key) {
  return NewRawAead(kGrain128AeadV2, key);
}

}  // namespace custos::lwc
