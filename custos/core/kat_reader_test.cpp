#include "custos/core/kat_reader.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(KatReaderTest, KeyValueRecordsAndComments) {
  auto records = ParseKat("# comment\nCount = 1\nKey = 0001\nPT = \n\nCount = 2\nKey=ff\n",
                          KatFormat::kKeyValue);
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_THAT((*records)[0].GetInt("Count"), IsOkAndHolds(1));
  EXPECT_THAT((*records)[0].GetBytes("Key"), IsOkAndHolds(ElementsAre(0x00, 0x01)));
  EXPECT_THAT((*records)[0].GetBytes("PT"), IsOkAndHolds(ElementsAre()));
  EXPECT_THAT((*records)[1].GetBytes("Key"), IsOkAndHolds(ElementsAre(0xff)));
  EXPECT_THAT((*records)[1].Get("PT"), StatusIs(StatusCode::kNotFound, HasSubstr("'PT'")));
}

TEST(KatReaderTest, KeyValueRejectsLineWithoutEquals) {
  EXPECT_THAT(ParseKat("Count = 1\ngarbage\n", KatFormat::kKeyValue),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("line 2")));
}

TEST(KatReaderTest, BadHexNamesRecordAndField) {
  auto records = ParseKat("Key = 0g\n", KatFormat::kKeyValue);
  ASSERT_THAT(records, IsOk());
  EXPECT_THAT((*records)[0].GetBytes("Key"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'Key'")));
}

TEST(KatReaderTest, ColonFormatCarriesFieldsAndDecodesNotation) {
  const char* text =
      "AlgorithmType: MAC\nName: X\nKey: \"Jefe\"\nMessage: r3 0xab \\\n  cd\nMAC: 01 02\n"
      "Test: Verify\nMessage: \"\"\nTest: NotVerify\n";
  auto records = ParseKat(text, KatFormat::kColon);
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_THAT((*records)[0].GetBytes("Key"), IsOkAndHolds(ElementsAre('J', 'e', 'f', 'e')));
  EXPECT_THAT((*records)[0].GetBytes("Message"),
              IsOkAndHolds(ElementsAre(0xab, 0xab, 0xab, 0xcd)));
  // Key and MAC carry over; Message and Test are replaced.
  EXPECT_THAT((*records)[1].GetBytes("Key"), IsOkAndHolds(ElementsAre('J', 'e', 'f', 'e')));
  EXPECT_THAT((*records)[1].GetBytes("Message"), IsOkAndHolds(ElementsAre()));
  EXPECT_THAT((*records)[1].Get("Test"), IsOkAndHolds(std::string("NotVerify")));
  EXPECT_EQ((*records)[0].line(), 1);
  EXPECT_EQ((*records)[1].line(), 8);
}

TEST(KatReaderTest, ColonFormatSkipsPunctuationLikeCryptopp) {
  auto records = ParseKat("Message: \"ab\")\nTest: Verify\nKey: 0xzz\nTest: Verify\n",
                          KatFormat::kColon);
  ASSERT_THAT(records, IsOk());
  EXPECT_THAT((*records)[0].GetBytes("Message"), IsOkAndHolds(ElementsAre('a', 'b')));
  EXPECT_THAT((*records)[1].GetBytes("Key"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(KatReaderTest, NessieFormatJoinsContinuationLines) {
  const char* text =
      "noise line\nTest vectors -- set 1\n=====\n\nSet 1, vector#  0:\n"
      "        key = 8000\n  stream[0..3] = 0102\n                 0304\n"
      "  Iterated 100 times=ABCD\n\nEnd of test vectors\n";
  auto records = ParseKat(text, KatFormat::kNessie);
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_THAT((*records)[0].GetInt("Set"), IsOkAndHolds(1));
  EXPECT_THAT((*records)[0].GetInt("vector"), IsOkAndHolds(0));
  EXPECT_THAT((*records)[0].GetBytes("stream[0..3]"), IsOkAndHolds(ElementsAre(1, 2, 3, 4)));
  EXPECT_THAT((*records)[0].GetBytes("Iterated 100 times"), IsOkAndHolds(ElementsAre(0xab, 0xcd)));
}

TEST(KatReaderTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadKatFile("/nonexistent/kat.txt", KatFormat::kKeyValue),
              StatusIs(StatusCode::kNotFound));
}

// The shared files themselves: record counts as documented in SOURCES.md.
TEST(KatReaderTest, ReadsTheSharedFiles) {
  EXPECT_EQ(LoadKat("kat/ascon/LWC_AEAD_KAT_128_128.txt", KatFormat::kKeyValue).size(), 1089u);
  EXPECT_EQ(LoadKat("kat/ascon/LWC_HASH_KAT_128_256.txt", KatFormat::kKeyValue).size(), 1025u);
  EXPECT_EQ(LoadKat("kat/cmac/CMACGenAES128.fax", KatFormat::kKeyValue).size(), 144u);
  EXPECT_EQ(LoadKat("kat/trivium/trivium-80.80.test-vectors", KatFormat::kNessie).size(), 84u);
  EXPECT_EQ(LoadKat("kat/speck/speck_eprint2013-404_appendix.txt", KatFormat::kKeyValue).size(),
            10u);
}

}  // namespace
}  // namespace custos
