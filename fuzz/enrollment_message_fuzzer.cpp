// Fuzzes the enrollment message parsers (request, response, rotation
// request): any input gives a Status, never a crash; an accepted message
// must survive serialize -> parse unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "custos/core/ct.h"
#include "custos/identity/enrollment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace custos::identity;  // NOLINT(google-build-using-namespace)
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)MessageTypeOf(text);
  if (auto request = ParseEnrollmentRequest(text); request.ok()) {
    auto again = ParseEnrollmentRequest(EnrollmentRequestToJson(*request));
    if (!again.ok() || again->device_id != request->device_id ||
        again->csr_der != request->csr_der ||
        !custos::CtEqual(again->token.span(), request->token.span()) ||
        again->birth_chain_der != request->birth_chain_der) {
      std::abort();
    }
  }
  if (auto response = ParseEnrollmentResponse(text); response.ok()) {
    auto again = ParseEnrollmentResponse(EnrollmentResponseToJson(*response));
    if (!again.ok() || again->certificate_der != response->certificate_der ||
        again->chain_der != response->chain_der || again->roots_der != response->roots_der) {
      std::abort();
    }
  }
  if (auto rotation = ParseRotationRequest(text); rotation.ok()) {
    auto again = ParseRotationRequest(RotationRequestToJson(*rotation));
    if (!again.ok() || RotationTranscript(*again) != RotationTranscript(*rotation) ||
        again->old_key_signature != rotation->old_key_signature) {
      std::abort();
    }
  }
  return 0;
}
