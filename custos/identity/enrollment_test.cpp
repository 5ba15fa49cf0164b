// Tests of the enrollment message formats and tokens: round trips, bounds,
// and errors that name the member.
#include "custos/identity/enrollment.h"

#include <set>
#include <string>

#include "custos/core/ct.h"
#include "custos/core/hex.h"
#include "custos/identity/tokens.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

SecretBytes TokenText() {
  auto text = GenerateTokenText();
  EXPECT_THAT(text, IsOk());
  return *std::move(text);
}

EnrollmentRequest SampleRequest() {
  EnrollmentRequest r;
  r.device_id = "dev-1";
  r.key_type = "ecdsa-p256";
  r.csr_der = {0x30, 0x03, 0x02, 0x01, 0x01};
  r.token = TokenText();
  r.created_at = 1700000000;
  return r;
}

TEST(TokensTest, TokensAreRandomWellFormedAndHashed) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    SecretBytes text = TokenText();
    ASSERT_EQ(text.size(), kTokenTextLength);
    EXPECT_THAT(CheckTokenSyntax(text.span()), IsOk());
    seen.insert(HashToken(text.span()));
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(HashToken(AsBytes("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THAT(CheckTokenSyntax(AsBytes("cet1-00")), StatusIs(StatusCode::kInvalidArgument));
  std::string upper = "cet1-" + std::string(40, 'A');
  EXPECT_THAT(CheckTokenSyntax(AsBytes(upper)), StatusIs(StatusCode::kInvalidArgument));
}

TEST(EnrollmentMessageTest, RequestRoundTrips) {
  EnrollmentRequest request = SampleRequest();
  const std::string json = EnrollmentRequestToJson(request);
  EXPECT_THAT(MessageTypeOf(json), IsOkAndHolds(std::string(kEnrollmentRequestType)));
  auto parsed = ParseEnrollmentRequest(json);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->device_id, "dev-1");
  EXPECT_EQ(parsed->key_type, "ecdsa-p256");
  EXPECT_EQ(parsed->csr_der, request.csr_der);
  EXPECT_TRUE(CtEqual(parsed->token.span(), request.token.span()));
  EXPECT_EQ(parsed->created_at, request.created_at);

  request.token = SecretBytes();
  request.birth_chain_der = {{0x30, 0x00}, {0x30, 0x01, 0x00}};
  auto birth = ParseEnrollmentRequest(EnrollmentRequestToJson(request));
  ASSERT_THAT(birth, IsOk());
  EXPECT_TRUE(birth->token.empty());
  EXPECT_EQ(birth->birth_chain_der, request.birth_chain_der);
}

TEST(EnrollmentMessageTest, ResponseAndRotationRoundTrip) {
  EnrollmentResponse response;
  response.device_id = "dev-1";
  response.key_type = "ed25519";
  response.serial = "1f2e";
  response.certificate_der = {1, 2, 3};
  response.chain_der = {{4, 5}};
  response.roots_der = {{6}};
  response.not_after = 42;
  auto parsed = ParseEnrollmentResponse(EnrollmentResponseToJson(response));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->serial, "1f2e");
  EXPECT_EQ(parsed->chain_der, response.chain_der);
  EXPECT_EQ(parsed->roots_der, response.roots_der);
  EXPECT_EQ(parsed->not_after, 42);

  RotationRequest rotation;
  rotation.device_id = "dev-1";
  rotation.old_key_type = "ecdsa-p256";
  rotation.new_key_type = "ed25519";
  rotation.old_certificate_der = {1};
  rotation.csr_der = {2};
  rotation.challenge.assign(kRotationChallengeBytes, 7);
  rotation.time = 99;
  rotation.old_key_signature = {3, 4};
  auto rot = ParseRotationRequest(RotationRequestToJson(rotation));
  ASSERT_THAT(rot, IsOk());
  EXPECT_EQ(rot->challenge, rotation.challenge);
  EXPECT_EQ(RotationTranscript(*rot), RotationTranscript(rotation));
  // The transcript binds every field it covers.
  RotationRequest other = rotation;
  other.time = 100;
  EXPECT_NE(RotationTranscript(other), RotationTranscript(rotation));
  other = rotation;
  other.csr_der = {9};
  EXPECT_NE(RotationTranscript(other), RotationTranscript(rotation));
}

TEST(EnrollmentMessageTest, ErrorsNameTheProblem) {
  EXPECT_THAT(ParseEnrollmentRequest("not json"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not valid JSON")));
  EXPECT_THAT(ParseEnrollmentRequest("[1]"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseEnrollmentRequest(R"({"type":"custos.enrollment.request","version":2})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unsupported")));
  EXPECT_THAT(ParseEnrollmentRequest(R"({"type":"custos.rotation.request","version":1})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("expected a")));
  EXPECT_THAT(ParseEnrollmentRequest(R"({"type":"custos.enrollment.request","version":1})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'device_id'")));
  EXPECT_THAT(ParseEnrollmentRequest(std::string(kMaxMessageBytes + 1, ' ')),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("larger than")));

  const std::string good = EnrollmentRequestToJson(SampleRequest());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  EXPECT_THAT(ParseEnrollmentRequest(replace("\"dev-1\"", "\"../x\"")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'device_id'")));
  EXPECT_THAT(ParseEnrollmentRequest(replace("\"csr\":\"", "\"csr\":\"!")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'csr'")));
  EXPECT_THAT(ParseEnrollmentRequest(replace("\"token\":\"cet1-", "\"token\":\"xxxx-")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'token'")));
  EXPECT_THAT(ParseEnrollmentRequest(replace("\"token\":", "\"birth_chain\":[],\"token\":")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exactly one")));
  std::string big_csr = "\"csr\":\"" + std::string(kMaxDerBytes * 2, 'A') + "\",\"x\":\"";
  EXPECT_THAT(ParseEnrollmentRequest(replace("\"csr\":\"", big_csr)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("larger than")));
}

}  // namespace
}  // namespace custos::identity
