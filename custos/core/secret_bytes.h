// File: custos/core/secret_bytes.h
//
// SecretBytes holds key material and other secrets. Its memory is wiped
// (explicit_bzero) whenever it is freed, including when the buffer grows and
// on destruction, and it has no operator== so that secrets are compared only
// with the constant-time CtEqual of custos/core/ct.h.
#ifndef CUSTOS_CORE_SECRET_BYTES_H_
#define CUSTOS_CORE_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace custos {

// Wipes `bytes` in a way the compiler may not optimise away.
void SecureWipe(std::span<uint8_t> bytes);

namespace internal {

// A std::allocator that wipes memory before releasing it.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <typename U>
  explicit WipingAllocator(const WipingAllocator<U>& /*other*/) {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) {
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(p), n * sizeof(T)));
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const WipingAllocator&, const WipingAllocator&) { return true; }
};

}  // namespace internal

// A byte buffer for secrets: wiped on free, copyable (each copy is wiped too),
// movable, never compared with ==. Not thread-safe for concurrent mutation.
class SecretBytes {
 public:
  SecretBytes() = default;
  // A buffer of `size` zero bytes.
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  // A copy of `bytes`.
  explicit SecretBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}

  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
    return *this;
  }
  ~SecretBytes() = default;  // the allocator wipes

  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  std::span<const uint8_t> span() const { return {bytes_.data(), bytes_.size()}; }
  std::span<uint8_t> mutable_span() { return {bytes_.data(), bytes_.size()}; }
  uint8_t operator[](std::size_t i) const { return bytes_[i]; }
  uint8_t& operator[](std::size_t i) { return bytes_[i]; }
  // Resizes; new bytes are zero, a shrunk tail is wiped.
  void resize(std::size_t size);
  // Wipes and empties the buffer.
  void clear();

 private:
  std::vector<uint8_t, internal::WipingAllocator<uint8_t>> bytes_;
};

}  // namespace custos

#endif  // CUSTOS_CORE_SECRET_BYTES_H_
