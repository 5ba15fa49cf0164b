// File: testing/aead_test_util.h
//
// The promises every NonceAead (custos/lwc/aead.h) makes, checked once here
// and run by each algorithm's test against its own vectors: every known
// answer sealed and opened, in place too; every tampering with tag,
// ciphertext, associated data, nonce or key rejected as Unauthenticated with
// the output wiped; every wrong key, nonce or buffer size rejected as
// InvalidArgument. An algorithm's test file keeps one TEST per promise and
// calls the matching function; tests of what only one algorithm does stay in
// its own file.
//
// The functions report through GoogleTest's non-fatal failures
// (ADD_FAILURE/EXPECT_*), so they may be called from any TEST; each failure
// names the vector. They are meant for tests only and are not thread-safe
// with respect to GoogleTest's own state.
#ifndef CUSTOS_TESTING_AEAD_TEST_UTIL_H_
#define CUSTOS_TESTING_AEAD_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/lwc/aead.h"

namespace custos::testing {

// One message of an AEAD known-answer file, or any sealed message whose
// ct_and_tag is known to be right.
struct AeadKatCase {
  std::string label;  // names the vector in failure messages, e.g. "Count = 17 (line 120)"
  std::vector<uint8_t> key;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> ad;
  std::vector<uint8_t> pt;
  std::vector<uint8_t> ct_and_tag;  // ciphertext || tag
};

// Builds a NonceAead from a key: NewGiftCofb, crypto::NewChaCha20Poly1305, ...
using AeadFactory =
    std::function<StatusOr<std::unique_ptr<lwc::NonceAead>>(std::span<const uint8_t> key)>;

// Reads every record of a NIST LWC AEAD KAT file (fields Count, Key, Nonce,
// PT, AD, CT; `relative` as for LoadKat, e.g.
// "kat/gift-cofb/LWC_AEAD_KAT_128_128.txt"). A file that cannot be read, or
// a record missing a field, fails the calling test (ADD_FAILURE); such
// records are left out, so the count checks below then fail too.
std::vector<AeadKatCase> LoadLwcAeadKat(std::string_view relative);

// Seal of every vector gives its ct_and_tag. Expects exactly
// `expected_count` vectors to have been checked (a test cannot pass on an
// empty or truncated file).
void ExpectSealMatchesEveryVector(const AeadFactory& make, const std::vector<AeadKatCase>& vectors,
                                  int expected_count);

// Open of every vector's ct_and_tag gives its plaintext. Count as above.
void ExpectOpenRecoversEveryVector(const AeadFactory& make, const std::vector<AeadKatCase>& vectors,
                                   int expected_count);

// SealInto and OpenInto with out == in (one buffer) give the known results
// for every vector, and an in-place OpenInto of a message with a flipped tag
// bit fails with the plaintext area wiped to zero. Count as above.
void ExpectInPlaceMatchesEveryVector(const AeadFactory& make,
                                     const std::vector<AeadKatCase>& vectors, int expected_count);

// ExpectTamperingRejected for every vector. Count as above.
void ExpectTamperingRejectedForEveryVector(const AeadFactory& make,
                                           const std::vector<AeadKatCase>& vectors,
                                           int expected_count);

// Every way of changing a correctly sealed `message` must fail to open with
// Unauthenticated ("authentication failed", no detail) and leave the output
// wiped (ExpectRejectedAndWiped): each bit of the tag; each byte of the
// ciphertext, the associated data and the nonce, flipped in bit 0, bit 4 and
// bit 7 (one at a time); one zero byte appended to the associated data; the
// message cut by its first or by its last byte (when the plaintext is not
// empty); the first key byte flipped in bit 0.
void ExpectTamperingRejected(const AeadFactory& make, const AeadKatCase& message);

// Opens `ct_and_tag` with OpenInto into a buffer pre-filled with 0xAA and
// expects Unauthenticated ("authentication failed") with the buffer wiped to
// zero. `what` names the case in failure messages.
void ExpectRejectedAndWiped(const lwc::NonceAead& aead, std::span<const uint8_t> nonce,
                            std::span<const uint8_t> ad, std::span<const uint8_t> ct_and_tag,
                            std::string_view what);

// `algorithm` and the object `make` builds from a key of key_size bytes
// both report key_size, nonce_size and tag_size.
void ExpectSizes(const lwc::RawAeadAlgorithm& algorithm, const AeadFactory& make,
                 std::size_t key_size, std::size_t nonce_size, std::size_t tag_size);

// `make` rejects every key size from 0 to 4 * key_size other than key_size
// with InvalidArgument.
void ExpectWrongKeySizesRejected(const AeadFactory& make, std::size_t key_size);

// On the object `make` builds from a key of key_size bytes, Seal and Open
// reject every nonce size from 0 to 4 * nonce_size() other than
// nonce_size() with InvalidArgument.
void ExpectWrongNonceSizesRejected(const AeadFactory& make, std::size_t key_size);

// On the object `make` builds from a key of key_size bytes, with a 10-byte
// plaintext sealed into 10 + tag_size() bytes: SealInto rejects every
// output size from 0 to twice the sealed size other than the sealed size,
// OpenInto every output size in that range other than 10, and Open and
// OpenInto every message shorter than the tag, all with InvalidArgument (not
// Unauthenticated: a wrong size is malformed input, not a forgery).
void ExpectWrongBufferSizesRejected(const AeadFactory& make, std::size_t key_size);

}  // namespace custos::testing

#endif  // CUSTOS_TESTING_AEAD_TEST_UTIL_H_
