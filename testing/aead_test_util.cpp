#include "testing/aead_test_util.h"

#include <algorithm>
#include <utility>

#include "custos/core/kat_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::testing {
namespace {

using ::testing::Each;
using ::testing::ElementsAreArray;
using ::testing::Eq;

// Bits 0, 4 and 7: the two ends of a byte and one inside it, so that a
// check that ignores part of a byte (a mask, a shift, a nibble) shows.
constexpr uint8_t kFlipMasks[] = {0x01, 0x10, 0x80};

// The one message of a failed Open (custos/lwc/aead.h: no detail).
constexpr char kAuthFailed[] = "authentication failed";

// The factory's object, or nullptr after a test failure.
std::unique_ptr<lwc::NonceAead> Make(const AeadFactory& make, std::span<const uint8_t> key) {
  StatusOr<std::unique_ptr<lwc::NonceAead>> aead = make(key);
  EXPECT_THAT(aead, IsOk()) << "key of " << key.size() << " bytes";
  return aead.ok() ? *std::move(aead) : nullptr;
}

// Runs `check` with an object keyed for each vector, then expects
// `expected_count` vectors to have been checked. Stops at the first vector
// whose key the factory refuses: the rest would fail the same way.
void ForEveryVector(const AeadFactory& make, const std::vector<AeadKatCase>& vectors,
                    int expected_count,
                    const std::function<void(const lwc::NonceAead&, const AeadKatCase&)>& check) {
  int checked = 0;
  for (const AeadKatCase& v : vectors) {
    SCOPED_TRACE(v.label);
    std::unique_ptr<lwc::NonceAead> aead = Make(make, v.key);
    if (aead == nullptr) return;
    check(*aead, v);
    ++checked;
  }
  EXPECT_EQ(checked, expected_count);
}

// Calls `check` with copies of `bytes`, each with one of the first `limit`
// bytes flipped in one bit of kFlipMasks, and a name for that change.
void ForEachByteFlip(
    const std::vector<uint8_t>& bytes, std::size_t limit,
    const std::function<void(const std::vector<uint8_t>&, const std::string&)>& check) {
  for (std::size_t i = 0; i < limit; ++i) {
    for (uint8_t mask : kFlipMasks) {
      std::vector<uint8_t> flipped = bytes;
      flipped[i] ^= mask;
      check(flipped, "byte " + std::to_string(i) + " mask " + std::to_string(mask));
    }
  }
}

void ExpectTamperingRejectedWith(const lwc::NonceAead& aead, const AeadFactory& make,
                                 const AeadKatCase& m) {
  const std::size_t tag_size = aead.tag_size();
  if (m.ct_and_tag.size() < tag_size) {
    ADD_FAILURE() << "message of " << m.ct_and_tag.size() << " bytes has no room for the tag";
    return;
  }
  const std::size_t body = m.ct_and_tag.size() - tag_size;
  for (std::size_t bit = 0; bit < 8 * tag_size; ++bit) {
    std::vector<uint8_t> ct = m.ct_and_tag;
    ct[body + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ExpectRejectedAndWiped(aead, m.nonce, m.ad, ct, "tag bit " + std::to_string(bit));
  }
  ForEachByteFlip(m.ct_and_tag, body, [&](const std::vector<uint8_t>& ct, const std::string& what) {
    ExpectRejectedAndWiped(aead, m.nonce, m.ad, ct, "ciphertext " + what);
  });
  ForEachByteFlip(m.ad, m.ad.size(), [&](const std::vector<uint8_t>& ad, const std::string& what) {
    ExpectRejectedAndWiped(aead, m.nonce, ad, m.ct_and_tag, "associated data " + what);
  });
  std::vector<uint8_t> longer_ad = m.ad;
  longer_ad.push_back(0);
  ExpectRejectedAndWiped(aead, m.nonce, longer_ad, m.ct_and_tag, "associated data extended");
  ForEachByteFlip(m.nonce, m.nonce.size(),
                  [&](const std::vector<uint8_t>& nonce, const std::string& what) {
                    ExpectRejectedAndWiped(aead, nonce, m.ad, m.ct_and_tag, "nonce " + what);
                  });
  // A message one byte shorter at either end: the tag shifts against the
  // ciphertext. Without ciphertext the result would be shorter than a tag,
  // which is malformed input rather than a forgery.
  if (body > 0) {
    const std::vector<uint8_t> no_first(m.ct_and_tag.begin() + 1, m.ct_and_tag.end());
    ExpectRejectedAndWiped(aead, m.nonce, m.ad, no_first, "first byte cut");
    const std::vector<uint8_t> no_last(m.ct_and_tag.begin(), m.ct_and_tag.end() - 1);
    ExpectRejectedAndWiped(aead, m.nonce, m.ad, no_last, "last byte cut");
  }
  std::vector<uint8_t> other_key = m.key;
  if (other_key.empty()) return;
  other_key[0] ^= 0x01;
  std::unique_ptr<lwc::NonceAead> other = Make(make, other_key);
  if (other == nullptr) return;
  ExpectRejectedAndWiped(*other, m.nonce, m.ad, m.ct_and_tag, "key byte 0 mask 1");
}

}  // namespace

std::vector<AeadKatCase> LoadLwcAeadKat(std::string_view relative) {
  std::vector<AeadKatCase> vectors;
  for (const KatRecord& record : LoadKat(relative, KatFormat::kKeyValue)) {
    StatusOr<int64_t> count = record.GetInt("Count");
    StatusOr<std::vector<uint8_t>> key = record.GetBytes("Key");
    StatusOr<std::vector<uint8_t>> nonce = record.GetBytes("Nonce");
    StatusOr<std::vector<uint8_t>> pt = record.GetBytes("PT");
    StatusOr<std::vector<uint8_t>> ad = record.GetBytes("AD");
    StatusOr<std::vector<uint8_t>> ct = record.GetBytes("CT");
    if (!count.ok() || !key.ok() || !nonce.ok() || !pt.ok() || !ad.ok() || !ct.ok()) {
      ADD_FAILURE() << relative << ": malformed record at line " << record.line();
      continue;
    }
    vectors.push_back(
        {"Count = " + std::to_string(*count) + " (line " + std::to_string(record.line()) + ")",
         *std::move(key), *std::move(nonce), *std::move(ad), *std::move(pt), *std::move(ct)});
  }
  return vectors;
}

void ExpectSealMatchesEveryVector(const AeadFactory& make, const std::vector<AeadKatCase>& vectors,
                                  int expected_count) {
  ForEveryVector(
      make, vectors, expected_count, [](const lwc::NonceAead& aead, const AeadKatCase& v) {
        EXPECT_THAT(aead.Seal(v.nonce, v.ad, v.pt), IsOkAndHolds(ElementsAreArray(v.ct_and_tag)));
      });
}

void ExpectOpenRecoversEveryVector(const AeadFactory& make, const std::vector<AeadKatCase>& vectors,
                                   int expected_count) {
  ForEveryVector(
      make, vectors, expected_count, [](const lwc::NonceAead& aead, const AeadKatCase& v) {
        EXPECT_THAT(aead.Open(v.nonce, v.ad, v.ct_and_tag), IsOkAndHolds(ElementsAreArray(v.pt)));
      });
}

void ExpectInPlaceMatchesEveryVector(const AeadFactory& make,
                                     const std::vector<AeadKatCase>& vectors, int expected_count) {
  ForEveryVector(make, vectors, expected_count,
                 [](const lwc::NonceAead& aead, const AeadKatCase& v) {
                   std::vector<uint8_t> buffer(v.pt.size() + aead.tag_size());
                   std::copy(v.pt.begin(), v.pt.end(), buffer.begin());
                   const std::span<uint8_t> whole(buffer);
                   const std::span<uint8_t> text = whole.first(v.pt.size());
                   ASSERT_THAT(aead.SealInto(v.nonce, v.ad, text, whole), IsOk());
                   EXPECT_THAT(buffer, ElementsAreArray(v.ct_and_tag));
                   ASSERT_THAT(aead.OpenInto(v.nonce, v.ad, whole, text), IsOk());
                   EXPECT_TRUE(std::equal(v.pt.begin(), v.pt.end(), buffer.begin()));
                   // A forgery opened in place must not leave plaintext in the buffer.
                   std::copy(v.ct_and_tag.begin(), v.ct_and_tag.end(), buffer.begin());
                   buffer.back() ^= 0x01;
                   EXPECT_THAT(aead.OpenInto(v.nonce, v.ad, whole, text),
                               StatusIs(StatusCode::kUnauthenticated, kAuthFailed));
                   EXPECT_THAT(text, Each(Eq(0)));
                 });
}

void ExpectTamperingRejectedForEveryVector(const AeadFactory& make,
                                           const std::vector<AeadKatCase>& vectors,
                                           int expected_count) {
  ForEveryVector(make, vectors, expected_count,
                 [&make](const lwc::NonceAead& aead, const AeadKatCase& v) {
                   ExpectTamperingRejectedWith(aead, make, v);
                 });
}

void ExpectTamperingRejected(const AeadFactory& make, const AeadKatCase& message) {
  SCOPED_TRACE(message.label);
  std::unique_ptr<lwc::NonceAead> aead = Make(make, message.key);
  if (aead != nullptr) ExpectTamperingRejectedWith(*aead, make, message);
}

void ExpectRejectedAndWiped(const lwc::NonceAead& aead, std::span<const uint8_t> nonce,
                            std::span<const uint8_t> ad, std::span<const uint8_t> ct_and_tag,
                            std::string_view what) {
  if (ct_and_tag.size() < aead.tag_size()) {
    ADD_FAILURE() << what << ": message of " << ct_and_tag.size() << " bytes is shorter than a tag";
    return;
  }
  std::vector<uint8_t> out(ct_and_tag.size() - aead.tag_size(), 0xAA);
  const Status status = aead.OpenInto(nonce, ad, ct_and_tag, out);
  // Tampering tests call this hundreds of times per vector: check plainly
  // first and leave the matchers, which format the status on every call, to
  // explain a failure.
  if (status.code() == StatusCode::kUnauthenticated && status.message() == kAuthFailed &&
      std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; })) {
    return;
  }
  EXPECT_THAT(status, StatusIs(StatusCode::kUnauthenticated, kAuthFailed)) << what;
  EXPECT_THAT(out, Each(Eq(0))) << what;
}

void ExpectSizes(const lwc::RawAeadAlgorithm& algorithm, const AeadFactory& make,
                 std::size_t key_size, std::size_t nonce_size, std::size_t tag_size) {
  EXPECT_EQ(algorithm.key_size, key_size);
  EXPECT_EQ(algorithm.nonce_size, nonce_size);
  EXPECT_EQ(algorithm.tag_size, tag_size);
  std::unique_ptr<lwc::NonceAead> aead = Make(make, std::vector<uint8_t>(key_size));
  ASSERT_NE(aead, nullptr);
  EXPECT_EQ(aead->key_size(), key_size);
  EXPECT_EQ(aead->nonce_size(), nonce_size);
  EXPECT_EQ(aead->tag_size(), tag_size);
}

void ExpectWrongKeySizesRejected(const AeadFactory& make, std::size_t key_size) {
  for (std::size_t size = 0; size <= 4 * key_size; ++size) {
    if (size == key_size) continue;
    EXPECT_THAT(make(std::vector<uint8_t>(size, 0x42)), StatusIs(StatusCode::kInvalidArgument))
        << "key of " << size << " bytes";
  }
}

void ExpectWrongNonceSizesRejected(const AeadFactory& make, std::size_t key_size) {
  std::unique_ptr<lwc::NonceAead> made = Make(make, std::vector<uint8_t>(key_size, 0x42));
  ASSERT_NE(made, nullptr);
  const lwc::NonceAead& aead = *made;
  const std::size_t nonce_size = aead.nonce_size();
  const std::vector<uint8_t> plaintext(5, 0x01);
  StatusOr<std::vector<uint8_t>> sealed =
      aead.Seal(std::vector<uint8_t>(nonce_size, 0x24), {}, plaintext);
  ASSERT_THAT(sealed, IsOk());
  for (std::size_t size = 0; size <= 4 * nonce_size; ++size) {
    if (size == nonce_size) continue;
    const std::vector<uint8_t> nonce(size, 0x24);
    EXPECT_THAT(aead.Seal(nonce, {}, plaintext), StatusIs(StatusCode::kInvalidArgument))
        << "nonce of " << size << " bytes";
    EXPECT_THAT(aead.Open(nonce, {}, *sealed), StatusIs(StatusCode::kInvalidArgument))
        << "nonce of " << size << " bytes";
  }
}

void ExpectWrongBufferSizesRejected(const AeadFactory& make, std::size_t key_size) {
  std::unique_ptr<lwc::NonceAead> made = Make(make, std::vector<uint8_t>(key_size, 0x42));
  ASSERT_NE(made, nullptr);
  const lwc::NonceAead& aead = *made;
  const std::vector<uint8_t> nonce(aead.nonce_size(), 0x24);
  const std::vector<uint8_t> plaintext(10, 0x01);
  StatusOr<std::vector<uint8_t>> sealed = aead.Seal(nonce, {}, plaintext);
  ASSERT_THAT(sealed, IsOk());
  const std::size_t sealed_size = sealed->size();
  for (std::size_t size = 0; size <= 2 * sealed_size; ++size) {
    std::vector<uint8_t> out(size);
    if (size != sealed_size) {
      EXPECT_THAT(aead.SealInto(nonce, {}, plaintext, out), StatusIs(StatusCode::kInvalidArgument))
          << "SealInto output of " << size << " bytes";
    }
    if (size != plaintext.size()) {
      EXPECT_THAT(aead.OpenInto(nonce, {}, *sealed, out), StatusIs(StatusCode::kInvalidArgument))
          << "OpenInto output of " << size << " bytes";
    }
  }
  for (std::size_t length = 0; length < aead.tag_size(); ++length) {
    const std::span<const uint8_t> too_short = std::span<const uint8_t>(*sealed).first(length);
    std::vector<uint8_t> none;
    EXPECT_THAT(aead.Open(nonce, {}, too_short), StatusIs(StatusCode::kInvalidArgument))
        << "message of " << length << " bytes";
    EXPECT_THAT(aead.OpenInto(nonce, {}, too_short, none), StatusIs(StatusCode::kInvalidArgument))
        << "message of " << length << " bytes";
  }
}

}  // namespace custos::testing
