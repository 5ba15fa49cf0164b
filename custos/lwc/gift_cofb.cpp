// GIFT-COFB (NIST LWC final round). The block cipher works on the
// designers' bitsliced GIFT-128 representation, which is also the byte order
// GIFT-COFB defines for its blocks: word s0 holds bit 0 of the 32 S-box
// inputs, s1 bit 1, and so on, each word loaded big-endian from four block
// bytes. In that representation SubCells is a boolean formula over whole
// words and PermBits moves bits inside each word, so the cipher needs no
// table and no secret-dependent branch.
#include "custos/lwc/gift_cofb.h"

#include <array>
#include <cstddef>
#include <cstring>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/swap_move.h"

namespace custos::lwc {
namespace {

using internal::SwapMove;

constexpr std::size_t kBlockBytes = 16;
constexpr int kRounds = 40;

// The GIFT round constants come from a 6-bit affine LFSR; generating them
// here avoids a hand-copied table.
constexpr std::array<uint32_t, kRounds> MakeRoundConstants() {
  std::array<uint32_t, kRounds> constants{};
  uint32_t c = 0;
  for (int r = 0; r < kRounds; ++r) {
    c = ((c << 1) | (((c >> 5) ^ (c >> 4) ^ 1) & 1)) & 0x3f;
    constants[r] = c;
  }
  return constants;
}
constexpr std::array<uint32_t, kRounds> kRoundConstants = MakeRoundConstants();
static_assert(kRoundConstants[0] == 0x01 && kRoundConstants[6] == 0x3d &&
              kRoundConstants[39] == 0x1a);

// A 128-bit block as two big-endian halves: hi = bytes 0..7, lo = 8..15.
struct Block {
  uint64_t hi;
  uint64_t lo;
};

uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void StoreBe64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

Block LoadBlock(const uint8_t* p) { return {LoadBe64(p), LoadBe64(p + 8)}; }

void StoreBlock(const Block& b, uint8_t* p) {
  StoreBe64(b.hi, p);
  StoreBe64(b.lo, p + 8);
}

Block Xor(const Block& a, const Block& b) { return {a.hi ^ b.hi, a.lo ^ b.lo}; }

uint64_t Rotl64(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

// Moves bit i of nibble b (bit 4b+i) to bit 8i+b: every byte then gathers
// one bit position of the eight S-box outputs. The four swaps exchange bit
// positions of the bit index (0<->2, 1<->3, 2<->3, 2<->4), which together
// rotate the 5-bit index by two.
uint32_t GatherNibbleBits(uint32_t x) {
  x = SwapMove(x, 0x0a0a0a0a, 3);
  x = SwapMove(x, 0x00cc00cc, 6);
  x = SwapMove(x, 0x00f000f0, 4);
  return SwapMove(x, 0x0000f0f0, 12);
}

// PermBits of the bitsliced representation: after GatherNibbleBits, word j
// moves its byte i to byte position (j - i) mod 4 (the designers' "rowperm"
// with positions (0,3,2,1), (1,0,3,2), (2,1,0,3) and (3,2,1,0)).
uint32_t PermuteWord0(uint32_t x) { return SwapMove(GatherNibbleBits(x), 0x0000ff00, 16); }

uint32_t PermuteWord1(uint32_t x) {
  x = GatherNibbleBits(x);
  return ((x >> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
}

uint32_t PermuteWord2(uint32_t x) { return SwapMove(GatherNibbleBits(x), 0x000000ff, 16); }

uint32_t PermuteWord3(uint32_t x) {
  x = GatherNibbleBits(x);
  return (x >> 24) | ((x >> 8) & 0x0000ff00) | ((x << 8) & 0x00ff0000) | (x << 24);
}

// GIFT-128 encryption with the 40 round keys expanded once per message.
// The schedule is wiped when the object goes out of scope.
class Gift128 {
 public:
  explicit Gift128(std::span<const uint8_t> key) {
    std::array<uint16_t, 8> w;
    for (int i = 0; i < 8; ++i) {
      w[i] = static_cast<uint16_t>((key[2 * i] << 8) | key[2 * i + 1]);
    }
    for (int r = 0; r < kRounds; ++r) {
      round_keys_[2 * r] = (uint32_t{w[2]} << 16) | w[3];      // into s2
      round_keys_[2 * r + 1] = (uint32_t{w[6]} << 16) | w[7];  // into s1
      const auto t6 = static_cast<uint16_t>((w[6] >> 2) | (w[6] << 14));
      const auto t7 = static_cast<uint16_t>((w[7] >> 12) | (w[7] << 4));
      for (int i = 7; i >= 2; --i) w[i] = w[i - 2];
      w[1] = t7;
      w[0] = t6;
    }
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(w.data()), sizeof(w)));
  }

  ~Gift128() {
    SecureWipe(
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(round_keys_.data()), sizeof(round_keys_)));
  }

  Gift128(const Gift128&) = delete;
  Gift128& operator=(const Gift128&) = delete;

  Block Encrypt(const Block& in) const {
    uint32_t s0 = static_cast<uint32_t>(in.hi >> 32);
    uint32_t s1 = static_cast<uint32_t>(in.hi);
    uint32_t s2 = static_cast<uint32_t>(in.lo >> 32);
    uint32_t s3 = static_cast<uint32_t>(in.lo);
    for (int r = 0; r < kRounds; ++r) {
      // SubCells: the GIFT S-box as a formula over the four bit-planes; its
      // outputs land in s3, s1, s2, s0, hence the exchange of s0 and s3.
      s1 ^= s0 & s2;
      s0 ^= s1 & s3;
      s2 ^= s0 | s1;
      s3 ^= s2;
      s1 ^= s3;
      s3 = ~s3;
      s2 ^= s0 & s1;
      const uint32_t t = s0;
      s0 = s3;
      s3 = t;
      s0 = PermuteWord0(s0);
      s1 = PermuteWord1(s1);
      s2 = PermuteWord2(s2);
      s3 = PermuteWord3(s3);
      s2 ^= round_keys_[2 * r];
      s1 ^= round_keys_[2 * r + 1];
      s3 ^= 0x80000000u ^ kRoundConstants[r];
    }
    return {(uint64_t{s0} << 32) | s1, (uint64_t{s2} << 32) | s3};
  }

 private:
  std::array<uint32_t, 2 * kRounds> round_keys_;
};

// Offset arithmetic in GF(2^64) modulo x^64 + x^4 + x^3 + x + 1. The
// reduction is selected with a mask, not a branch: the offset is secret.
uint64_t Double(uint64_t x) { return (x << 1) ^ ((0 - (x >> 63)) & 0x1b); }
uint64_t Triple(uint64_t x) { return Double(x) ^ x; }

// COFB's feedback G: (Y1, Y2) -> (Y2, Y1 <<< 1).
Block Feedback(const Block& y) { return {y.lo, Rotl64(y.hi, 1)}; }

// The block `bytes` (length <= 16) padded with 0x80 and zeros when shorter
// than a block; the empty string pads to 0x80 00 ... 00. Lengths are public.
Block PaddedBlock(const uint8_t* bytes, std::size_t length) {
  uint8_t buffer[kBlockBytes] = {};
  if (length > 0) std::memcpy(buffer, bytes, length);
  if (length < kBlockBytes) buffer[length] = 0x80;
  const Block block = LoadBlock(buffer);
  SecureWipe(buffer);
  return block;
}

// The secret working values of one message, wiped on every return path.
struct CofbState {
  Block y{};
  Block x{};
  Block data{};
  uint64_t offset = 0;
  uint8_t buffer[kBlockBytes] = {};

  CofbState() = default;
  CofbState(const CofbState&) = delete;
  CofbState& operator=(const CofbState&) = delete;
  ~CofbState() { SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(this), sizeof(*this))); }
};

// One pass of COFB; `encrypt` selects whether io.in holds the plaintext
// (encryption) or the ciphertext (decryption). Each input block is read in
// full before its output is written, so io.out may alias io.in.
void CofbCrypt(const AeadIo& io, bool encrypt) {
  const Gift128 cipher(io.key);
  CofbState st;
  st.y = cipher.Encrypt(LoadBlock(io.nonce.data()));
  st.offset = st.y.hi;

  // Associated data: every block but the last with offset 2^i * L.
  const std::size_t ad_length = io.ad.size();
  std::size_t pos = 0;
  while (ad_length - pos > kBlockBytes) {
    st.x = Xor(Feedback(st.y), LoadBlock(io.ad.data() + pos));
    st.offset = Double(st.offset);
    st.x.hi ^= st.offset;
    st.y = cipher.Encrypt(st.x);
    pos += kBlockBytes;
  }
  // The last (possibly empty or partial) AD block: 3L if full, 3^2 L if
  // partial or empty, times another 3^2 when the message is empty.
  const std::size_t ad_tail = ad_length - pos;
  st.offset = Triple(st.offset);
  if (ad_tail != kBlockBytes) st.offset = Triple(st.offset);
  const std::size_t length = io.in.size();
  if (length == 0) st.offset = Triple(Triple(st.offset));
  st.x = Xor(Feedback(st.y), PaddedBlock(io.ad.data() + pos, ad_tail));
  st.x.hi ^= st.offset;
  st.y = cipher.Encrypt(st.x);

  // Message: every full block but the last.
  pos = 0;
  while (length - pos > kBlockBytes) {
    st.offset = Double(st.offset);
    const Block in = LoadBlock(io.in.data() + pos);
    const Block out = Xor(st.y, in);
    StoreBlock(out, io.out.data() + pos);
    st.data = encrypt ? in : out;  // the plaintext block
    st.x = Xor(Feedback(st.y), st.data);
    st.x.hi ^= st.offset;
    st.y = cipher.Encrypt(st.x);
    pos += kBlockBytes;
  }
  if (length != 0) {
    const std::size_t tail = length - pos;
    st.offset = Triple(st.offset);
    if (tail != kBlockBytes) st.offset = Triple(st.offset);
    std::memcpy(st.buffer, io.in.data() + pos, tail);
    std::memset(st.buffer + tail, 0, kBlockBytes - tail);
    const Block in = LoadBlock(st.buffer);
    StoreBlock(Xor(st.y, in), st.buffer);
    std::memcpy(io.out.data() + pos, st.buffer, tail);
    // Re-read the plaintext tail into the buffer, zero the rest, and pad.
    if (encrypt) StoreBlock(in, st.buffer);
    std::memset(st.buffer + tail, 0, kBlockBytes - tail);
    st.data = PaddedBlock(st.buffer, tail);
    st.x = Xor(Feedback(st.y), st.data);
    st.x.hi ^= st.offset;
    st.y = cipher.Encrypt(st.x);
  }
  StoreBlock(st.y, io.tag.data());
}

void GiftCofbEncrypt(const AeadIo& io) { CofbCrypt(io, /*encrypt=*/true); }
void GiftCofbDecrypt(const AeadIo& io) { CofbCrypt(io, /*encrypt=*/false); }

constexpr RawAeadAlgorithm kGiftCofb{
    .key_size = 16,
    .nonce_size = 16,
    .tag_size = 16,
    .encrypt = &GiftCofbEncrypt,
    .decrypt = &GiftCofbDecrypt,
};

}  // namespace

const RawAeadAlgorithm& GiftCofbAlgorithm() { return kGiftCofb; }

StatusOr<std::unique_ptr<NonceAead>> NewGiftCofb(std::span<const uint8_t> key) {
  return NewRawAead(kGiftCofb, key);
}

}  // namespace custos::lwc
