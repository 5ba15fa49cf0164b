#include "custos/lwc/trivium.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "custos/core/kat_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;

std::vector<uint8_t> Bytes(const KatRecord& record, std::string_view name) {
  StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(name);
  EXPECT_THAT(bytes, IsOk()) << "line " << record.line() << " field " << name;
  return bytes.ok() ? *bytes : std::vector<uint8_t>();
}

std::unique_ptr<StreamCipher> MustNewTrivium(std::span<const uint8_t> key,
                                             std::span<const uint8_t> iv) {
  StatusOr<std::unique_ptr<StreamCipher>> cipher = NewTrivium(key, iv);
  EXPECT_THAT(cipher, IsOk());
  return cipher.ok() ? std::move(*cipher) : nullptr;
}

// Runs `cipher` over `input` in pieces whose sizes cycle through `chunks`.
std::vector<uint8_t> ProcessInChunks(StreamCipher& cipher, std::span<const uint8_t> input,
                                     std::span<const std::size_t> chunks) {
  std::vector<uint8_t> output(input.size());
  std::size_t offset = 0;
  for (std::size_t n = 0; offset < input.size(); ++n) {
    const std::size_t take = std::min(chunks[n % chunks.size()], input.size() - offset);
    EXPECT_THAT(cipher.Process(input.subspan(offset, take),
                               std::span<uint8_t>(output).subspan(offset, take)),
                IsOk());
    offset += take;
  }
  return output;
}

// A segment field "stream[first..last]" of an eSTREAM record.
struct Segment {
  std::string name;
  std::size_t first;
  std::size_t last;
};

std::vector<Segment> Segments(const KatRecord& record) {
  std::vector<Segment> segments;
  for (const auto& [name, value] : record.fields()) {
    if (name.rfind("stream[", 0) != 0) continue;
    const std::size_t dots = name.find("..");
    const std::size_t close = name.find(']');
    EXPECT_NE(dots, std::string::npos) << name;
    EXPECT_NE(close, std::string::npos) << name;
    if (dots == std::string::npos || close == std::string::npos) continue;
    segments.push_back({name, std::stoul(name.substr(7, dots - 7)),
                        std::stoul(name.substr(dots + 2, close - dots - 2))});
  }
  return segments;
}

// Every eSTREAM record: the keystream (zeros encrypted) is generated up to
// the end of the record's last segment, which is the stream length the file
// states (512 bytes for sets 1-5, 131072 for set 6); every segment is
// compared, and the xor-digest, the XOR of all 64-byte blocks of that stream.
TEST(TriviumTest, MatchesEstreamVectors) {
  int records = 0;
  int segments_checked = 0;
  const std::vector<std::size_t> chunks = {1, 7, 64, 13, 8, 200, 3};
  for (const KatRecord& record :
       LoadKat("kat/trivium/trivium-80.80.test-vectors", KatFormat::kNessie)) {
    const std::string where = "line " + std::to_string(record.line());
    std::unique_ptr<StreamCipher> cipher =
        MustNewTrivium(Bytes(record, "key"), Bytes(record, "IV"));
    ASSERT_NE(cipher, nullptr);
    const std::vector<Segment> segments = Segments(record);
    ASSERT_FALSE(segments.empty()) << where;
    std::size_t length = 0;
    for (const Segment& segment : segments) length = std::max(length, segment.last + 1);
    ASSERT_EQ(length % 64, 0u) << where;
    const std::vector<uint8_t> zeros(length, 0);
    const std::vector<uint8_t> stream = ProcessInChunks(*cipher, zeros, chunks);
    for (const Segment& segment : segments) {
      const std::vector<uint8_t> expected = Bytes(record, segment.name);
      ASSERT_EQ(expected.size(), segment.last - segment.first + 1) << where << " " << segment.name;
      EXPECT_TRUE(std::equal(expected.begin(), expected.end(), stream.begin() + segment.first))
          << where << " " << segment.name;
      ++segments_checked;
    }
    std::vector<uint8_t> digest(64, 0);
    for (std::size_t i = 0; i < stream.size(); ++i) digest[i % 64] ^= stream[i];
    EXPECT_EQ(digest, Bytes(record, "xor-digest")) << where;
    ++records;
  }
  EXPECT_EQ(records, 84);
  // 76 records of four segments (sets 1-5), 8 of four (set 6).
  EXPECT_EQ(segments_checked, 84 * 4);
}

// The keystream does not depend on how the input is split between calls.
TEST(TriviumTest, ChunkedProcessingEqualsOneShot) {
  std::vector<uint8_t> key(10), iv(10);
  for (int i = 0; i < 10; ++i) {
    key[i] = static_cast<uint8_t>(0x11 * i + 1);
    iv[i] = static_cast<uint8_t>(0xF0 - 3 * i);
  }
  std::vector<uint8_t> message(1000);
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i * 7);
  std::unique_ptr<StreamCipher> one_shot = MustNewTrivium(key, iv);
  ASSERT_NE(one_shot, nullptr);
  std::vector<uint8_t> expected(message.size());
  ASSERT_THAT(one_shot->Process(message, expected), IsOk());
  for (std::size_t chunk : {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65}) {
    std::unique_ptr<StreamCipher> cipher = MustNewTrivium(key, iv);
    ASSERT_NE(cipher, nullptr);
    const std::vector<std::size_t> chunks = {chunk};
    EXPECT_EQ(ProcessInChunks(*cipher, message, chunks), expected) << "chunk " << chunk;
  }
}

// Encryption is its own inverse under a fresh object, also in place.
TEST(TriviumTest, DecryptsInPlace) {
  const std::vector<uint8_t> key(10, 0xA5), iv(10, 0x3C);
  const std::vector<uint8_t> message = {'a', 't', 't', 'a', 'c', 'k', ' ', 'a', 't', ' ', 'd'};
  std::unique_ptr<StreamCipher> encryptor = MustNewTrivium(key, iv);
  std::unique_ptr<StreamCipher> decryptor = MustNewTrivium(key, iv);
  ASSERT_NE(encryptor, nullptr);
  ASSERT_NE(decryptor, nullptr);
  std::vector<uint8_t> buffer = message;
  ASSERT_THAT(encryptor->Process(buffer, buffer), IsOk());
  EXPECT_NE(buffer, message);
  ASSERT_THAT(decryptor->Process(buffer, buffer), IsOk());
  EXPECT_EQ(buffer, message);
}

TEST(TriviumTest, RejectsWrongKeyAndIvSizes) {
  const std::vector<uint8_t> ten(10), nine(9), eleven(11), sixteen(16);
  EXPECT_THAT(NewTrivium(nine, ten), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NewTrivium(sixteen, ten), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NewTrivium(ten, eleven), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NewTrivium(ten, {}), StatusIs(StatusCode::kInvalidArgument));
  std::unique_ptr<StreamCipher> cipher = MustNewTrivium(ten, ten);
  ASSERT_NE(cipher, nullptr);
  EXPECT_EQ(cipher->key_size(), 10u);
  EXPECT_EQ(cipher->iv_size(), 10u);
}

TEST(TriviumTest, RejectsMismatchedBuffers) {
  const std::vector<uint8_t> ten(10);
  std::unique_ptr<StreamCipher> cipher = MustNewTrivium(ten, ten);
  ASSERT_NE(cipher, nullptr);
  std::vector<uint8_t> in(5), out(4);
  EXPECT_THAT(cipher->Process(in, out), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos::lwc
