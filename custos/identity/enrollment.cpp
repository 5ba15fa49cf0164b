#include "custos/identity/enrollment.h"

#include <openssl/evp.h>

#include <array>
#include <nlohmann/json.hpp>

#include "custos/core/hex.h"
#include "custos/identity/crl.h"
#include "custos/identity/tokens.h"

namespace custos::identity {
namespace {

using Json = nlohmann::json;

std::string Sha256Hex(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    digest.fill(0);
  }
  return HexEncode(digest);
}

Json DerArray(const std::vector<std::vector<uint8_t>>& ders) {
  Json array = Json::array();
  for (const auto& der : ders) array.push_back(Base64Encode(der));
  return array;
}

Json Header(std::string_view type) {
  return Json{{"type", std::string(type)}, {"version", kMessageVersion}};
}

// Reads members of a parsed document, each with bounds and a named error.
class Reader {
 public:
  Reader(const Json& json, std::string_view type) : json_(json), type_(type) {}

  StatusOr<std::string> String(std::string_view name, std::size_t max_length) const {
    auto it = json_.find(std::string(name));
    if (it == json_.end()) return Missing(name);
    if (!it->is_string()) return Bad(name, "is not a string");
    const std::string& value = it->get_ref<const std::string&>();
    if (value.size() > max_length) {
      return Bad(name, "is longer than " + std::to_string(max_length) + " characters");
    }
    return value;
  }

  StatusOr<std::string> KeyType(std::string_view name) const {
    CUSTOS_ASSIGN_OR_RETURN(std::string value, String(name, 32));
    if (value.empty()) return Bad(name, "is empty");
    for (char c : value) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return Bad(name, "is not an algorithm name");
      }
    }
    return value;
  }

  StatusOr<int64_t> Int(std::string_view name) const {
    auto it = json_.find(std::string(name));
    if (it == json_.end()) return Missing(name);
    if (!it->is_number_integer()) return Bad(name, "is not an integer");
    return it->get<int64_t>();
  }

  StatusOr<std::vector<uint8_t>> Base64(std::string_view name, std::size_t max_bytes) const {
    auto it = json_.find(std::string(name));
    if (it == json_.end()) return Missing(name);
    return DecodeBase64(*it, name, max_bytes);
  }

  StatusOr<std::vector<uint8_t>> Hex(std::string_view name, std::size_t bytes) const {
    CUSTOS_ASSIGN_OR_RETURN(std::string text, String(name, 2 * bytes));
    StatusOr<std::vector<uint8_t>> decoded = HexDecode(text);
    if (!decoded.ok()) return Bad(name, "is not hex: " + std::string(decoded.status().message()));
    if (decoded->size() != bytes) return Bad(name, "must be " + std::to_string(bytes) + " bytes");
    return decoded;
  }

  StatusOr<std::vector<std::vector<uint8_t>>> DerList(std::string_view name, bool required,
                                                      std::size_t max_count) const {
    std::vector<std::vector<uint8_t>> out;
    auto it = json_.find(std::string(name));
    if (it == json_.end()) {
      if (required) return Missing(name);
      return out;
    }
    if (!it->is_array()) return Bad(name, "is not an array");
    if (it->size() > max_count) {
      return Bad(name, "has more than " + std::to_string(max_count) + " certificates");
    }
    for (const Json& item : *it) {
      CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> der, DecodeBase64(item, name, kMaxDerBytes));
      out.push_back(std::move(der));
    }
    return out;
  }

  bool Has(std::string_view name) const { return json_.contains(std::string(name)); }

  Status Missing(std::string_view name) const {
    return InvalidArgumentError(type_ + ": missing member '" + std::string(name) + "'");
  }
  Status Bad(std::string_view name, std::string_view what) const {
    return InvalidArgumentError(type_ + ": member '" + std::string(name) + "' " +
                                std::string(what));
  }

 private:
  StatusOr<std::vector<uint8_t>> DecodeBase64(const Json& value, std::string_view name,
                                              std::size_t max_bytes) const {
    if (!value.is_string()) return Bad(name, "is not a base64 string");
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() > (max_bytes + 2) / 3 * 4) {
      return Bad(name, "is larger than " + std::to_string(max_bytes) + " bytes");
    }
    StatusOr<std::vector<uint8_t>> bytes = Base64Decode(text);
    if (!bytes.ok()) return Bad(name, "is not valid base64");
    if (bytes->empty()) return Bad(name, "is empty");
    return bytes;
  }

  const Json& json_;
  std::string type_;
};

// Parses `json` and checks its type and version.
StatusOr<Json> ParseDocument(std::string_view json, std::string_view expected_type) {
  if (json.size() > kMaxMessageBytes) {
    return InvalidArgumentError("enrollment message is larger than " +
                                std::to_string(kMaxMessageBytes) + " bytes");
  }
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError("enrollment message is not valid JSON");
  if (!doc.is_object()) return InvalidArgumentError("enrollment message is not a JSON object");
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string()) {
    return InvalidArgumentError("enrollment message has no string member 'type'");
  }
  const std::string& type_name = type->get_ref<const std::string&>();
  if (!expected_type.empty() && type_name != expected_type) {
    return InvalidArgumentError("expected a '" + std::string(expected_type) + "' message, got '" +
                                type_name.substr(0, 64) + "'");
  }
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) {
    return InvalidArgumentError("enrollment message has no integer member 'version'");
  }
  if (version->get<int64_t>() != kMessageVersion) {
    return InvalidArgumentError("unsupported enrollment message version " +
                                std::to_string(version->get<int64_t>()) + " (this build reads " +
                                std::to_string(kMessageVersion) + ")");
  }
  return doc;
}

Status DeviceIdMember(const Reader& reader, std::string& out) {
  CUSTOS_ASSIGN_OR_RETURN(out, reader.String("device_id", kMaxDeviceIdLength));
  Status valid = ValidateDeviceId(out);
  if (!valid.ok()) return reader.Bad("device_id", std::string(valid.message()));
  return OkStatus();
}

}  // namespace

std::string EnrollmentRequestToJson(const EnrollmentRequest& request) {
  Json doc = Header(kEnrollmentRequestType);
  doc["device_id"] = request.device_id;
  doc["key_type"] = request.key_type;
  doc["csr"] = Base64Encode(request.csr_der);
  doc["created_at"] = request.created_at;
  if (!request.token.empty()) {
    doc["token"] = std::string(request.token.data(), request.token.data() + request.token.size());
  }
  if (!request.birth_chain_der.empty()) doc["birth_chain"] = DerArray(request.birth_chain_der);
  std::string text = doc.dump();
  // The token's copy inside `doc` is a std::string; wipe it before it is freed.
  if (auto it = doc.find("token"); it != doc.end()) {
    auto& token = it->get_ref<std::string&>();
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(token.data()), token.size()));
  }
  return text;
}

std::string EnrollmentResponseToJson(const EnrollmentResponse& response) {
  Json doc = Header(kEnrollmentResponseType);
  doc["device_id"] = response.device_id;
  doc["key_type"] = response.key_type;
  doc["serial"] = response.serial;
  doc["certificate"] = Base64Encode(response.certificate_der);
  doc["chain"] = DerArray(response.chain_der);
  doc["roots"] = DerArray(response.roots_der);
  doc["not_after"] = response.not_after;
  return doc.dump();
}

std::string RotationRequestToJson(const RotationRequest& request) {
  Json doc = Header(kRotationRequestType);
  doc["device_id"] = request.device_id;
  doc["old_key_type"] = request.old_key_type;
  doc["new_key_type"] = request.new_key_type;
  doc["old_certificate"] = Base64Encode(request.old_certificate_der);
  doc["csr"] = Base64Encode(request.csr_der);
  doc["challenge"] = HexEncode(request.challenge);
  doc["time"] = request.time;
  doc["old_key_signature"] = Base64Encode(request.old_key_signature);
  return doc.dump();
}

StatusOr<std::string> MessageTypeOf(std::string_view json) {
  CUSTOS_ASSIGN_OR_RETURN(Json doc, ParseDocument(json, ""));
  return doc["type"].get<std::string>();
}

StatusOr<EnrollmentRequest> ParseEnrollmentRequest(std::string_view json) {
  CUSTOS_ASSIGN_OR_RETURN(Json doc, ParseDocument(json, kEnrollmentRequestType));
  Reader reader(doc, kEnrollmentRequestType);
  EnrollmentRequest request;
  CUSTOS_RETURN_IF_ERROR(DeviceIdMember(reader, request.device_id));
  CUSTOS_ASSIGN_OR_RETURN(request.key_type, reader.KeyType("key_type"));
  CUSTOS_ASSIGN_OR_RETURN(request.csr_der, reader.Base64("csr", kMaxDerBytes));
  CUSTOS_ASSIGN_OR_RETURN(request.created_at, reader.Int("created_at"));
  const bool has_token = reader.Has("token");
  const bool has_chain = reader.Has("birth_chain");
  if (has_token == has_chain) {
    return InvalidArgumentError(std::string(kEnrollmentRequestType) +
                                ": exactly one of 'token' and 'birth_chain' must be present");
  }
  if (has_token) {
    auto it = doc.find("token");
    if (!it->is_string()) return reader.Bad("token", "is not a string");
    auto& text = it->get_ref<std::string&>();
    std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(text.data()), text.size());
    Status syntax = CheckTokenSyntax(bytes);
    request.token = SecretBytes(bytes);
    SecureWipe(bytes);
    if (!syntax.ok()) return reader.Bad("token", std::string(syntax.message()));
  } else {
    CUSTOS_ASSIGN_OR_RETURN(request.birth_chain_der,
                            reader.DerList("birth_chain", true, kMaxChainLength));
    if (request.birth_chain_der.empty()) return reader.Bad("birth_chain", "is empty");
  }
  return request;
}

StatusOr<EnrollmentResponse> ParseEnrollmentResponse(std::string_view json) {
  CUSTOS_ASSIGN_OR_RETURN(Json doc, ParseDocument(json, kEnrollmentResponseType));
  Reader reader(doc, kEnrollmentResponseType);
  EnrollmentResponse response;
  CUSTOS_RETURN_IF_ERROR(DeviceIdMember(reader, response.device_id));
  CUSTOS_ASSIGN_OR_RETURN(response.key_type, reader.KeyType("key_type"));
  CUSTOS_ASSIGN_OR_RETURN(response.serial, reader.String("serial", 64));
  if (!NormalizeSerialHex(response.serial).ok()) {
    return reader.Bad("serial", "is not a hex serial number");
  }
  CUSTOS_ASSIGN_OR_RETURN(response.certificate_der, reader.Base64("certificate", kMaxDerBytes));
  CUSTOS_ASSIGN_OR_RETURN(response.chain_der,
                          reader.DerList("chain", true, kMaxResponseChainLength));
  CUSTOS_ASSIGN_OR_RETURN(response.roots_der,
                          reader.DerList("roots", true, kMaxResponseChainLength));
  if (response.roots_der.empty()) return reader.Bad("roots", "is empty");
  CUSTOS_ASSIGN_OR_RETURN(response.not_after, reader.Int("not_after"));
  return response;
}

StatusOr<RotationRequest> ParseRotationRequest(std::string_view json) {
  CUSTOS_ASSIGN_OR_RETURN(Json doc, ParseDocument(json, kRotationRequestType));
  Reader reader(doc, kRotationRequestType);
  RotationRequest request;
  CUSTOS_RETURN_IF_ERROR(DeviceIdMember(reader, request.device_id));
  CUSTOS_ASSIGN_OR_RETURN(request.old_key_type, reader.KeyType("old_key_type"));
  CUSTOS_ASSIGN_OR_RETURN(request.new_key_type, reader.KeyType("new_key_type"));
  CUSTOS_ASSIGN_OR_RETURN(request.old_certificate_der,
                          reader.Base64("old_certificate", kMaxDerBytes));
  CUSTOS_ASSIGN_OR_RETURN(request.csr_der, reader.Base64("csr", kMaxDerBytes));
  CUSTOS_ASSIGN_OR_RETURN(request.challenge, reader.Hex("challenge", kRotationChallengeBytes));
  CUSTOS_ASSIGN_OR_RETURN(request.time, reader.Int("time"));
  CUSTOS_ASSIGN_OR_RETURN(request.old_key_signature, reader.Base64("old_key_signature", 512));
  return request;
}

std::vector<uint8_t> RotationTranscript(const RotationRequest& request) {
  std::string text = "custos-rotation-v1\n";
  text += request.device_id + "\n";
  text += request.new_key_type + "\n";
  text += std::to_string(request.time) + "\n";
  text += HexEncode(request.challenge) + "\n";
  text += Sha256Hex(request.csr_der) + "\n";
  text += Sha256Hex(request.old_certificate_der) + "\n";
  return {text.begin(), text.end()};
}

}  // namespace custos::identity
