// Tests of the Ascon-AEAD128 batch interface: every backend this CPU has must
// give exactly the bytes and statuses of the single-message implementation,
// on the KAT vectors and on random mixes of lengths.
#include "custos/lwc/ascon_batch.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "custos/core/kat_reader.h"
#include "custos/lwc/ascon.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAreArray;
using ::testing::Eq;

// One message with owned buffers.
struct Message {
  std::vector<uint8_t> key, nonce, ad, pt, ct;  // ct = ciphertext || tag
};

std::vector<uint8_t> Bytes(const KatRecord& record, std::string_view name) {
  StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(name);
  EXPECT_THAT(bytes, IsOk()) << "line " << record.line() << " field " << name;
  return bytes.ok() ? *std::move(bytes) : std::vector<uint8_t>();
}

std::vector<Message> KatMessages() {
  std::vector<Message> messages;
  for (const KatRecord& r : LoadKat("kat/ascon/LWC_AEAD_KAT_128_128.txt", KatFormat::kKeyValue)) {
    messages.push_back(
        {Bytes(r, "Key"), Bytes(r, "Nonce"), Bytes(r, "AD"), Bytes(r, "PT"), Bytes(r, "CT")});
  }
  return messages;
}

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<uint8_t> bytes(n);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

// `count` messages with random keys, nonces and contents, plaintext lengths
// 0..max_pt and AD lengths 0..max_ad; ct is computed with the
// single-message implementation.
std::vector<Message> RandomMessages(std::mt19937_64& rng, std::size_t count, std::size_t max_pt,
                                    std::size_t max_ad) {
  std::vector<Message> messages;
  for (std::size_t i = 0; i < count; ++i) {
    Message m;
    m.key = RandomBytes(rng, 16);
    m.nonce = RandomBytes(rng, 16);
    m.ad = RandomBytes(rng, rng() % (max_ad + 1));
    m.pt = RandomBytes(rng, rng() % (max_pt + 1));
    StatusOr<std::unique_ptr<NonceAead>> aead = NewAsconAead128(m.key);
    EXPECT_THAT(aead, IsOk());
    StatusOr<std::vector<uint8_t>> ct = (*aead)->Seal(m.nonce, m.ad, m.pt);
    EXPECT_THAT(ct, IsOk());
    m.ct = *std::move(ct);
    messages.push_back(std::move(m));
  }
  return messages;
}

class AsconBatchTest : public ::testing::TestWithParam<AsconBatchBackend> {
 protected:
  void SetUp() override {
    if (!AsconBatchBackendAvailable(GetParam())) GTEST_SKIP() << "backend not on this CPU";
  }

  // Seals all messages in one batch call and checks the outputs against ct.
  void ExpectSealMatches(const std::vector<Message>& messages) {
    std::vector<std::vector<uint8_t>> outs;
    std::vector<AsconSealRequest> requests;
    for (const Message& m : messages) outs.emplace_back(m.pt.size() + 16, 0xEE);
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const Message& m = messages[i];
      requests.push_back({m.key, m.nonce, m.ad, m.pt, outs[i]});
    }
    ASSERT_THAT(AsconAead128SealBatch(requests, GetParam()), IsOk());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      EXPECT_THAT(outs[i], ElementsAreArray(messages[i].ct))
          << "message " << i << " pt " << messages[i].pt.size() << " ad " << messages[i].ad.size();
    }
  }

  // Opens all messages in one batch call and checks statuses and plaintexts.
  void ExpectOpenMatches(const std::vector<Message>& messages) {
    std::vector<std::vector<uint8_t>> outs;
    std::vector<AsconOpenRequest> requests;
    for (const Message& m : messages) outs.emplace_back(m.pt.size(), 0xEE);
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const Message& m = messages[i];
      requests.push_back({m.key, m.nonce, m.ad, m.ct, outs[i]});
    }
    std::vector<Status> statuses = AsconAead128OpenBatch(requests, GetParam());
    ASSERT_EQ(statuses.size(), messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      EXPECT_THAT(statuses[i], IsOk()) << "message " << i;
      EXPECT_THAT(outs[i], ElementsAreArray(messages[i].pt)) << "message " << i;
    }
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, AsconBatchTest,
                         ::testing::Values(AsconBatchBackend::kAuto, AsconBatchBackend::kPortable,
                                           AsconBatchBackend::kAvx2, AsconBatchBackend::kAvx512),
                         [](const ::testing::TestParamInfo<AsconBatchBackend>& param_info) {
                           switch (param_info.param) {
                             case AsconBatchBackend::kAuto:
                               return std::string("Auto");
                             case AsconBatchBackend::kPortable:
                               return std::string("Portable");
                             case AsconBatchBackend::kAvx2:
                               return std::string("Avx2");
                             case AsconBatchBackend::kAvx512:
                               return std::string("Avx512");
                           }
                           return std::string("Unknown");
                         });

TEST_P(AsconBatchTest, SealMatchesEveryKatVectorInOneBatch) {
  std::vector<Message> messages = KatMessages();
  EXPECT_EQ(messages.size(), 1089u);
  ExpectSealMatches(messages);
}

TEST_P(AsconBatchTest, OpenMatchesEveryKatVectorInOneBatch) {
  std::vector<Message> messages = KatMessages();
  EXPECT_EQ(messages.size(), 1089u);
  ExpectOpenMatches(messages);
}

TEST_P(AsconBatchTest, RandomMixesOfLengthsMatchSingleMessageCode) {
  std::mt19937_64 rng(20250817);
  // Batch sizes around the lane counts, lengths 0..300 with various AD.
  for (std::size_t count : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100}) {
    for (std::size_t max_ad : {0, 16, 40, 300}) {
      std::vector<Message> messages = RandomMessages(rng, count, 300, max_ad);
      ExpectSealMatches(messages);
      ExpectOpenMatches(messages);
    }
  }
}

TEST_P(AsconBatchTest, EqualLengthMessagesMatchSingleMessageCode) {
  std::mt19937_64 rng(7);
  for (std::size_t length : {0, 1, 15, 16, 17, 64, 1536}) {
    std::vector<Message> messages;
    for (int i = 0; i < 19; ++i) {
      Message m;
      m.key = RandomBytes(rng, 16);
      m.nonce = RandomBytes(rng, 16);
      m.ad = RandomBytes(rng, 16);
      m.pt = RandomBytes(rng, length);
      m.ct = (*NewAsconAead128(m.key))->Seal(m.nonce, m.ad, m.pt).value();
      messages.push_back(std::move(m));
    }
    ExpectSealMatches(messages);
    ExpectOpenMatches(messages);
  }
}

TEST_P(AsconBatchTest, SealAndOpenWorkInPlace) {
  std::mt19937_64 rng(99);
  std::vector<Message> messages = RandomMessages(rng, 21, 100, 20);
  std::vector<std::vector<uint8_t>> buffers;
  for (const Message& m : messages) {
    buffers.emplace_back(m.pt.size() + 16);
    std::copy(m.pt.begin(), m.pt.end(), buffers.back().begin());
  }
  std::vector<AsconSealRequest> seal;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    seal.push_back({m.key, m.nonce, m.ad, std::span<const uint8_t>(buffers[i]).first(m.pt.size()),
                    buffers[i]});
  }
  ASSERT_THAT(AsconAead128SealBatch(seal, GetParam()), IsOk());
  for (std::size_t i = 0; i < messages.size(); ++i) EXPECT_EQ(buffers[i], messages[i].ct) << i;
  std::vector<AsconOpenRequest> open;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    open.push_back(
        {m.key, m.nonce, m.ad, buffers[i], std::span<uint8_t>(buffers[i]).first(m.pt.size())});
  }
  std::vector<Status> statuses = AsconAead128OpenBatch(open, GetParam());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_THAT(statuses[i], IsOk()) << i;
    EXPECT_THAT(std::span<const uint8_t>(buffers[i]).first(messages[i].pt.size()),
                ElementsAreArray(messages[i].pt))
        << i;
  }
}

TEST_P(AsconBatchTest, OpenRejectsTamperedMessagesIndividuallyAndWipesThem) {
  std::mt19937_64 rng(5);
  std::vector<Message> messages = RandomMessages(rng, 40, 200, 50);
  // Tamper with every third message: alternately a tag byte, a ciphertext
  // byte, an AD byte (or append one), the nonce, the key.
  std::vector<bool> tampered(messages.size(), false);
  for (std::size_t i = 0; i < messages.size(); i += 3) {
    Message& m = messages[i];
    switch ((i / 3) % 5) {
      case 0:
        m.ct[m.ct.size() - 1 - i % 16] ^= 1;
        break;
      case 1:
        m.ct[m.pt.empty() ? 0 : rng() % m.pt.size()] ^= 0x40;
        break;
      case 2:
        if (m.ad.empty()) {
          m.ad.push_back(0);
        } else {
          m.ad[rng() % m.ad.size()] ^= 2;
        }
        break;
      case 3:
        m.nonce[i % 16] ^= 0x80;
        break;
      default:
        m.key[i % 16] ^= 4;
        break;
    }
    tampered[i] = true;
  }
  std::vector<std::vector<uint8_t>> outs;
  std::vector<AsconOpenRequest> requests;
  for (const Message& m : messages) outs.emplace_back(m.pt.size(), 0xAA);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    requests.push_back({m.key, m.nonce, m.ad, m.ct, outs[i]});
  }
  std::vector<Status> statuses = AsconAead128OpenBatch(requests, GetParam());
  ASSERT_EQ(statuses.size(), messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (tampered[i]) {
      EXPECT_THAT(statuses[i], StatusIs(StatusCode::kUnauthenticated)) << i;
      EXPECT_THAT(outs[i], Each(Eq(0))) << i;
    } else {
      EXPECT_THAT(statuses[i], IsOk()) << i;
      EXPECT_THAT(outs[i], ElementsAreArray(messages[i].pt)) << i;
    }
  }
}

TEST_P(AsconBatchTest, SealRejectsAnyBadSizeAndWritesNothing) {
  std::mt19937_64 rng(11);
  std::vector<Message> messages = RandomMessages(rng, 10, 50, 10);
  for (int bad = 0; bad < 3; ++bad) {
    std::vector<std::vector<uint8_t>> outs;
    for (const Message& m : messages) outs.emplace_back(m.pt.size() + 16, 0xAA);
    std::vector<uint8_t> short_key(15), long_nonce(17);
    std::vector<AsconSealRequest> requests;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const Message& m = messages[i];
      requests.push_back({m.key, m.nonce, m.ad, m.pt, outs[i]});
    }
    if (bad == 0) requests[7].key = short_key;
    if (bad == 1) requests[7].nonce = long_nonce;
    if (bad == 2) requests[7].out = std::span<uint8_t>(outs[7]).first(outs[7].size() - 1);
    EXPECT_THAT(AsconAead128SealBatch(requests, GetParam()),
                StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("request 7")));
    for (const std::vector<uint8_t>& out : outs) EXPECT_THAT(out, Each(Eq(0xAA)));
  }
}

TEST_P(AsconBatchTest, OpenRejectsBadSizesPerRequest) {
  std::mt19937_64 rng(12);
  std::vector<Message> messages = RandomMessages(rng, 6, 50, 10);
  std::vector<std::vector<uint8_t>> outs;
  for (const Message& m : messages) outs.emplace_back(m.pt.size(), 0xAA);
  std::vector<uint8_t> short_key(15), short_nonce(12), short_ct(15);
  std::vector<AsconOpenRequest> requests;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    requests.push_back({m.key, m.nonce, m.ad, m.ct, outs[i]});
  }
  requests[1].key = short_key;
  requests[2].nonce = short_nonce;
  requests[3].ciphertext_and_tag = short_ct;
  std::vector<uint8_t> big_out(messages[4].pt.size() + 1, 0xAA);
  requests[4].out = big_out;
  std::vector<Status> statuses = AsconAead128OpenBatch(requests, GetParam());
  ASSERT_EQ(statuses.size(), 6u);
  for (int i : {1, 2, 3, 4}) EXPECT_THAT(statuses[i], StatusIs(StatusCode::kInvalidArgument)) << i;
  for (int i : {1, 2, 3}) EXPECT_THAT(outs[i], Each(Eq(0xAA))) << i;
  EXPECT_THAT(big_out, Each(Eq(0xAA)));
  for (int i : {0, 5}) {
    EXPECT_THAT(statuses[i], IsOk()) << i;
    EXPECT_THAT(outs[i], ElementsAreArray(messages[i].pt)) << i;
  }
}

TEST_P(AsconBatchTest, EmptyBatchIsOk) {
  EXPECT_THAT(AsconAead128SealBatch({}, GetParam()), IsOk());
  EXPECT_TRUE(AsconAead128OpenBatch({}, GetParam()).empty());
}

TEST(AsconBatchBackendTest, AutoAndPortableAreAlwaysAvailable) {
  EXPECT_TRUE(AsconBatchBackendAvailable(AsconBatchBackend::kAuto));
  EXPECT_TRUE(AsconBatchBackendAvailable(AsconBatchBackend::kPortable));
}

TEST(AsconBatchBackendTest, UnavailableBackendFailsWithoutWriting) {
  for (AsconBatchBackend backend : {AsconBatchBackend::kAvx2, AsconBatchBackend::kAvx512}) {
    if (AsconBatchBackendAvailable(backend)) continue;
    std::vector<uint8_t> key(16), nonce(16), pt(5), out(21, 0xAA);
    std::vector<AsconSealRequest> requests = {{key, nonce, {}, pt, out}};
    EXPECT_THAT(AsconAead128SealBatch(requests, backend),
                StatusIs(StatusCode::kFailedPrecondition));
    EXPECT_THAT(out, Each(Eq(0xAA)));
  }
}

}  // namespace
}  // namespace custos::lwc
