// PHOTON-Beetle (NIST LWC final round) over a bitsliced PHOTON-256.
//
// PHOTON-256 state: 8 rows x 8 columns of 4-bit cells; byte k of the 32-byte
// state holds cell 2k in its low nibble and cell 2k+1 in its high nibble,
// cells numbered row by row. Inside the permutation the state is kept as
// four 64-bit bit-planes: bit 8*row + column of plane p is bit p of that
// cell, so a row is one byte of each plane and all 64 S-boxes run at once.
#include "custos/lwc/photon_beetle.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "custos/core/secret_bytes.h"
#include "custos/lwc/internal/swap_move.h"

namespace custos::lwc {
namespace {

using internal::SwapMove;

constexpr std::size_t kStateBytes = 32;
constexpr int kRounds = 12;
using State = std::array<uint8_t, kStateBytes>;
using Planes = std::array<uint64_t, 4>;

// ---------------------------------------------------------------------------
// Constants, derived at compile time from the specification's definitions
// rather than copied as tables (and only ever indexed by public round and
// position numbers).

// Multiplication in GF(2^4) modulo x^4 + x + 1; compile time only.
constexpr uint8_t GfMultiply(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int i = 0; i < 4; ++i) {
    if ((b >> i) & 1) product ^= a;
    a = static_cast<uint8_t>(((a << 1) ^ ((a >> 3) * 0x13)) & 0xf);
  }
  return product;
}

using Matrix = std::array<std::array<uint8_t, 8>, 8>;

// MixColumnSerial applies Serial[2, 4, 2, 11, 2, 8, 5, 6] eight times; the
// product is the 8x8 matrix A^8, whose first row is that coefficient list.
constexpr Matrix MixColumnMatrix() {
  constexpr uint8_t kSerial[8] = {2, 4, 2, 11, 2, 8, 5, 6};
  Matrix a{};
  for (int i = 0; i < 7; ++i) a[i][i + 1] = 1;
  for (int k = 0; k < 8; ++k) a[7][k] = kSerial[k];
  Matrix m{};
  for (int i = 0; i < 8; ++i) m[i][i] = 1;
  for (int n = 0; n < 8; ++n) {
    Matrix product{};
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 8; ++j) {
        for (int k = 0; k < 8; ++k) product[i][j] ^= GfMultiply(a[i][k], m[k][j]);
      }
    }
    m = product;
  }
  return m;
}

// kMixMasks[d][e] selects the rows i (as whole bytes) whose coefficient for
// row (i + d) mod 8 has bit e set. Output row i is then the XOR, over d and
// e, of x^e times row (i + d), which the planes compute with one rotation.
using MixMasks = std::array<std::array<uint64_t, 4>, 8>;
constexpr MixMasks MakeMixMasks() {
  const Matrix m = MixColumnMatrix();
  MixMasks masks{};
  for (int d = 0; d < 8; ++d) {
    for (int e = 0; e < 4; ++e) {
      for (int i = 0; i < 8; ++i) {
        if ((m[i][(i + d) % 8] >> e) & 1) masks[d][e] |= uint64_t{0xff} << (8 * i);
      }
    }
  }
  return masks;
}
constexpr MixMasks kMixMasks = MakeMixMasks();
static_assert(MixColumnMatrix()[0][3] == 11 && MixColumnMatrix()[7][7] == 3);

// AddConstant XORs RC(r) ^ IC(i) into column 0 of row i; kRoundPlanes[r]
// holds those bits already spread over the four planes.
constexpr std::array<Planes, kRounds> MakeRoundPlanes() {
  constexpr uint8_t kRc[kRounds] = {1, 3, 7, 14, 13, 11, 6, 12, 9, 2, 5, 10};
  constexpr uint8_t kIc[8] = {0, 1, 3, 7, 15, 14, 12, 8};
  std::array<Planes, kRounds> planes{};
  for (int r = 0; r < kRounds; ++r) {
    for (int i = 0; i < 8; ++i) {
      for (int p = 0; p < 4; ++p) {
        if (((kRc[r] ^ kIc[i]) >> p) & 1) planes[r][p] |= uint64_t{1} << (8 * i);
      }
    }
  }
  return planes;
}
constexpr std::array<Planes, kRounds> kRoundPlanes = MakeRoundPlanes();

// ---------------------------------------------------------------------------
// The permutation.

// Moves bit p of nibble n (bit 4n+p) to bit 16p+n, by exchanging bit
// positions of the 6-bit index (0<->2, 1<->3, 2<->4, 3<->5).
uint64_t GatherNibbleBits(uint64_t x) {
  x = SwapMove(x, 0x0a0a0a0a0a0a0a0a, 3);
  x = SwapMove(x, 0x00cc00cc00cc00cc, 6);
  x = SwapMove(x, 0x0000f0f00000f0f0, 12);
  return SwapMove(x, 0x00000000ff00ff00, 24);
}

// The inverse of GatherNibbleBits: the same exchanges in reverse order.
uint64_t ScatterNibbleBits(uint64_t x) {
  x = SwapMove(x, 0x00000000ff00ff00, 24);
  x = SwapMove(x, 0x0000f0f00000f0f0, 12);
  x = SwapMove(x, 0x00cc00cc00cc00cc, 6);
  return SwapMove(x, 0x0a0a0a0a0a0a0a0a, 3);
}

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void StoreLe64(uint64_t v, uint8_t* p) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t Rotr64(uint64_t x, int n) { return n == 0 ? x : (x >> n) | (x << (64 - n)); }

// The PHOTON (PRESENT) S-box {C,5,6,B,9,0,A,D,3,E,F,8,4,7,1,2} in algebraic
// normal form, x0 being the least significant input bit.
void SubCells(Planes& s) {
  const uint64_t x0 = s[0], x1 = s[1], x2 = s[2], x3 = s[3];
  const uint64_t a = x1 & x2;
  const uint64_t b = x1 & x3;
  const uint64_t c = x2 & x3;
  const uint64_t q = x0 & (a ^ b ^ c);
  s[0] = x0 ^ x2 ^ x3 ^ a;
  s[1] = x1 ^ x3 ^ b ^ c ^ q;
  s[2] = ~(x2 ^ x3 ^ (x0 & x1) ^ (x0 & x3) ^ b ^ (x0 & x3 & (x1 ^ x2)));
  s[3] = ~(x0 ^ x1 ^ x3 ^ a ^ q);
}

// Rotates the rows selected by `rows` (whole bytes) by k columns towards
// column 0, leaving the other rows alone.
uint64_t RotateRows(uint64_t x, int k, uint64_t rows) {
  const uint64_t low = (uint64_t{0xff} >> k) * 0x0101010101010101;
  const uint64_t rotated = ((x >> k) & low) | ((x << (8 - k)) & ~low);
  return (x & ~rows) | (rotated & rows);
}

// Row i moves i columns left; i is built from its binary digits.
void ShiftRows(Planes& s) {
  for (uint64_t& plane : s) {
    plane = RotateRows(plane, 1, 0xff00ff00ff00ff00);
    plane = RotateRows(plane, 2, 0xffff0000ffff0000);
    plane = RotateRows(plane, 4, 0xffffffff00000000);
  }
}

// Multiplication of every cell by x modulo x^4 + x + 1.
Planes TimesX(const Planes& s) { return {s[3], s[0] ^ s[3], s[1], s[2]}; }

void MixColumns(Planes& s) {
  std::array<Planes, 4> powers;  // powers[e] = x^e * state
  powers[0] = s;
  for (int e = 1; e < 4; ++e) powers[e] = TimesX(powers[e - 1]);
  Planes out{};
  for (int d = 0; d < 8; ++d) {
    for (int e = 0; e < 4; ++e) {
      for (int p = 0; p < 4; ++p) out[p] ^= Rotr64(powers[e][p], 8 * d) & kMixMasks[d][e];
    }
  }
  s = out;
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(powers.data()), sizeof(powers)));
}

void WipePlanes(Planes& s) {
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), sizeof(s)));
}

void Photon256(State& state) {
  // Each little-endian word holds 16 cells (two rows); its gathered form
  // has bit p of those cells in 16-bit lane p, which goes to plane p.
  Planes words;
  for (int w = 0; w < 4; ++w) words[w] = GatherNibbleBits(LoadLe64(state.data() + 8 * w));
  Planes s{};
  for (int p = 0; p < 4; ++p) {
    for (int w = 0; w < 4; ++w) s[p] |= ((words[w] >> (16 * p)) & 0xffff) << (16 * w);
  }
  for (int r = 0; r < kRounds; ++r) {
    for (int p = 0; p < 4; ++p) s[p] ^= kRoundPlanes[r][p];
    SubCells(s);
    ShiftRows(s);
    MixColumns(s);
  }
  for (int w = 0; w < 4; ++w) {
    uint64_t word = 0;
    for (int p = 0; p < 4; ++p) word |= ((s[p] >> (16 * w)) & 0xffff) << (16 * p);
    StoreLe64(ScatterNibbleBits(word), state.data() + 8 * w);
  }
  WipePlanes(words);
  WipePlanes(s);
}

// ---------------------------------------------------------------------------
// The Beetle mode.

constexpr std::size_t kAeadRate = 16;
constexpr std::size_t kHashInitialRate = 16;
constexpr std::size_t kHashRate = 4;
constexpr std::size_t kSqueezeRate = 16;

// Domain separation: the constant goes into the top three bits of the
// state (the specification's capacity part).
void AddDomain(State& state, uint8_t constant) {
  state[kStateBytes - 1] ^= static_cast<uint8_t>(constant << 5);
}

void WipeState(State& state) { SecureWipe(state); }

// Absorbs `data` (non-empty) at `rate` bytes per block, each block after a
// permutation, padding a short last block with 0x01, then adds the domain
// constant.
void Absorb(State& state, std::span<const uint8_t> data, std::size_t rate, uint8_t constant) {
  std::size_t pos = 0;
  while (true) {
    Photon256(state);
    const std::size_t n = std::min(rate, data.size() - pos);
    for (std::size_t i = 0; i < n; ++i) state[i] ^= data[pos + i];
    pos += n;
    if (pos == data.size()) {
      if (n < rate) state[n] ^= 0x01;
      break;
    }
  }
  AddDomain(state, constant);
}

// The Beetle combined feedback on a message (non-empty): each block is
// XORed with the shuffled rate part (second half, then the first half
// rotated right by one bit) and the plaintext is absorbed into the state.
void Crypt(State& state, std::span<const uint8_t> in, std::span<uint8_t> out, bool encrypt,
           uint8_t constant) {
  uint8_t in_block[kAeadRate];
  uint8_t out_block[kAeadRate];
  uint8_t shuffled[kAeadRate];
  std::size_t pos = 0;
  while (true) {
    Photon256(state);
    const std::size_t n = std::min(kAeadRate, in.size() - pos);
    std::memcpy(in_block, in.data() + pos, n);  // before `out`, which may alias it
    std::memcpy(shuffled, state.data() + 8, 8);
    StoreLe64(Rotr64(LoadLe64(state.data()), 1), shuffled + 8);
    for (std::size_t i = 0; i < n; ++i) out_block[i] = shuffled[i] ^ in_block[i];
    std::memcpy(out.data() + pos, out_block, n);
    const uint8_t* plaintext = encrypt ? in_block : out_block;
    for (std::size_t i = 0; i < n; ++i) state[i] ^= plaintext[i];
    pos += n;
    if (pos == in.size()) {
      if (n < kAeadRate) state[n] ^= 0x01;
      break;
    }
  }
  AddDomain(state, constant);
  SecureWipe(in_block);
  SecureWipe(out_block);
  SecureWipe(shuffled);
}

void BeetleCrypt(const AeadIo& io, bool encrypt) {
  State state;
  std::memcpy(state.data(), io.nonce.data(), 16);
  std::memcpy(state.data() + 16, io.key.data(), 16);
  const std::size_t ad_length = io.ad.size();
  const std::size_t length = io.in.size();
  if (ad_length == 0 && length == 0) {
    AddDomain(state, 1);
  } else {
    // The constants tell whether the other input is empty and whether the
    // last block of this one is full; all lengths are public.
    if (ad_length != 0) {
      const bool full = ad_length % kAeadRate == 0;
      const uint8_t c0 = length != 0 ? (full ? 1 : 2) : (full ? 3 : 4);
      Absorb(state, io.ad, kAeadRate, c0);
    }
    if (length != 0) {
      const bool full = length % kAeadRate == 0;
      const uint8_t c1 = ad_length != 0 ? (full ? 1 : 2) : (full ? 5 : 6);
      Crypt(state, io.in, io.out, encrypt, c1);
    }
  }
  Photon256(state);
  std::memcpy(io.tag.data(), state.data(), 16);
  WipeState(state);
}

void BeetleEncrypt(const AeadIo& io) { BeetleCrypt(io, /*encrypt=*/true); }
void BeetleDecrypt(const AeadIo& io) { BeetleCrypt(io, /*encrypt=*/false); }

constexpr RawAeadAlgorithm kPhotonBeetleAead128{
    .key_size = 16,
    .nonce_size = 16,
    .tag_size = 16,
    .encrypt = &BeetleEncrypt,
    .decrypt = &BeetleDecrypt,
};

// PHOTON-Beetle-Hash[32]. The first 16 bytes are XORed into the zero state
// directly; later bytes are absorbed 4 at a time, each block after a
// permutation, as soon as a block is complete (the last block is treated
// like the others except for padding and the domain constant, so nothing
// needs to be held back).
class PhotonBeetleHash256 final : public Hash {
 public:
  PhotonBeetleHash256() = default;
  PhotonBeetleHash256(const PhotonBeetleHash256&) = default;
  PhotonBeetleHash256& operator=(const PhotonBeetleHash256&) = delete;
  ~PhotonBeetleHash256() override { Wipe(); }

  std::size_t digest_size() const override { return 32; }
  std::size_t block_size() const override { return kHashRate; }

  void Reset() override {
    Wipe();
    total_ = 0;
    pending_size_ = 0;
  }

  void Update(std::span<const uint8_t> data) override {
    std::size_t i = 0;
    for (; i < data.size() && total_ < kHashInitialRate; ++i, ++total_) state_[total_] ^= data[i];
    for (; i < data.size(); ++i, ++total_) {
      pending_[pending_size_++] = data[i];
      if (pending_size_ == kHashRate) {
        Photon256(state_);
        for (std::size_t j = 0; j < kHashRate; ++j) state_[j] ^= pending_[j];
        pending_size_ = 0;
      }
    }
  }

  std::unique_ptr<Hash> Clone() const override {
    return std::make_unique<PhotonBeetleHash256>(*this);
  }

 protected:
  void DoFinal(std::span<uint8_t> digest) override {
    // Constant 1 for an empty message, a padded short first block, or a
    // last 4-byte block that is already absorbed; 2 otherwise.
    uint8_t constant = 1;
    if (total_ > 0 && total_ < kHashInitialRate) {
      state_[total_] ^= 0x01;
    } else if (total_ == kHashInitialRate) {
      constant = 2;
    } else if (total_ > kHashInitialRate && pending_size_ != 0) {
      Photon256(state_);
      for (std::size_t j = 0; j < pending_size_; ++j) state_[j] ^= pending_[j];
      state_[pending_size_] ^= 0x01;
      constant = 2;
    }
    AddDomain(state_, constant);
    Photon256(state_);
    std::memcpy(digest.data(), state_.data(), kSqueezeRate);
    Photon256(state_);
    std::memcpy(digest.data() + kSqueezeRate, state_.data(), kSqueezeRate);
    Reset();
  }

 private:
  void Wipe() {
    WipeState(state_);
    SecureWipe(pending_);
  }

  State state_{};
  std::array<uint8_t, kHashRate> pending_{};
  std::size_t pending_size_ = 0;
  uint64_t total_ = 0;
};

}  // namespace

const RawAeadAlgorithm& PhotonBeetleAead128Algorithm() { return kPhotonBeetleAead128; }

StatusOr<std::unique_ptr<NonceAead>> NewPhotonBeetleAead128(std::span<const uint8_t> key) {
  return NewRawAead(kPhotonBeetleAead128, key);
}

std::unique_ptr<Hash> NewPhotonBeetleHash256() { return std::make_unique<PhotonBeetleHash256>(); }

}  // namespace custos::lwc
