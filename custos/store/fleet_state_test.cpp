// Tests of the control plane's fleet state on SQLite: devices and their
// lifecycle, batched activity, paging, counts and the audit.
#include "custos/store/fleet_state.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "custos/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::store {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class FleetStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto state = OpenSqliteFleetState(Path());
    ASSERT_THAT(state, IsOk());
    state_ = *std::move(state);
  }
  std::string Path() const { return dir_.path() + "/custos.db"; }
  DeviceRecord Get(const std::string& id) {
    auto device = state_->GetDevice(id);
    EXPECT_THAT(device, IsOk());
    EXPECT_TRUE(device.ok() && device->has_value()) << id;
    return device.ok() && device->has_value() ? **device : DeviceRecord{};
  }

  TempDir dir_;
  std::unique_ptr<FleetState> state_;
};

TEST_F(FleetStateTest, RecordEnrollmentsIsOneAllOrNothingBatchWithTelemetryKeys) {
  const std::vector<uint8_t> key_a = {1, 2, 3};
  const std::vector<uint8_t> key_b = {4, 5};
  std::vector<EnrollmentRecord> batch = {{"dev-a", "0a", 10, key_a}, {"dev-b", "0b", 20, key_b}};
  ASSERT_THAT(state_->RecordEnrollments(batch), IsOk());
  EXPECT_EQ(Get("dev-a").certificate_serial, "0a");
  EXPECT_EQ(Get("dev-b").enrolled_at_ms, 20);
  EXPECT_THAT(state_->GetTelemetryKey("dev-a"), IsOkAndHolds(std::optional(key_a)));
  EXPECT_THAT(state_->GetTelemetryKey("dev-b"), IsOkAndHolds(std::optional(key_b)));
  EXPECT_THAT(state_->GetTelemetryKey("dev-c"),
              IsOkAndHolds(std::optional<std::vector<uint8_t>>()));

  // A bad serial in the batch: nothing of it is written.
  std::vector<EnrollmentRecord> bad = {{"dev-c", "0c", 30, key_a}, {"dev-d", "XYZ", 30, {}}};
  EXPECT_THAT(state_->RecordEnrollments(bad), StatusIs(StatusCode::kInvalidArgument));
  auto c = state_->GetDevice("dev-c");
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE(c->has_value());

  // A re-enrollment without a key keeps the recorded one; SetTelemetryKey replaces it.
  ASSERT_THAT(state_->RecordEnrollments(std::vector<EnrollmentRecord>{{"dev-a", "1a", 40, {}}}),
              IsOk());
  EXPECT_THAT(state_->GetTelemetryKey("dev-a"), IsOkAndHolds(std::optional(key_a)));
  ASSERT_THAT(state_->SetTelemetryKey("dev-a", key_b), IsOk());
  EXPECT_THAT(state_->GetTelemetryKey("dev-a"), IsOkAndHolds(std::optional(key_b)));
  EXPECT_THAT(state_->SetTelemetryKey("nobody", key_b), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(state_->SetTelemetryKey("dev-a", {}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(state_->SetTelemetryKey("dev-a", std::vector<uint8_t>(kMaxTelemetryKeyBytes + 1)),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(FleetStateTest, EnrollmentRotationRevocationAndReEnrollment) {
  ASSERT_THAT(state_->RecordEnrollment("dev-1", "0a", 1000), IsOk());
  DeviceRecord d = Get("dev-1");
  EXPECT_EQ(d.status, kDeviceEnrolled);
  EXPECT_EQ(d.certificate_serial, "0a");
  EXPECT_EQ(d.enrolled_at_ms, 1000);
  EXPECT_EQ(d.last_seen_ms, 0);
  EXPECT_FALSE(d.revoked);

  ASSERT_THAT(state_->RecordRotation("dev-1", "0b"), IsOk());
  ASSERT_THAT(state_->SetStatus("dev-1", kDeviceConnected), IsOk());
  EXPECT_EQ(Get("dev-1").certificate_serial, "0b");
  EXPECT_EQ(Get("dev-1").status, kDeviceConnected);

  ASSERT_THAT(state_->MarkRevoked("dev-1", 5000), IsOk());
  ASSERT_THAT(state_->MarkRevoked("dev-1", 6000), IsOk());  // keeps the first time
  d = Get("dev-1");
  EXPECT_TRUE(d.revoked);
  EXPECT_EQ(d.revoked_at_ms, 5000);
  EXPECT_EQ(d.status, kDeviceRevoked);
  EXPECT_THAT(state_->SetStatus("dev-1", kDeviceConnected),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("revoked")));
  EXPECT_THAT(state_->RecordRotation("dev-1", "0c"), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(Get("dev-1").certificate_serial, "0b");

  // Enrolling again clears the revocation and keeps the first enrollment time.
  ASSERT_THAT(state_->RecordEnrollment("dev-1", "0d", 9000), IsOk());
  d = Get("dev-1");
  EXPECT_FALSE(d.revoked);
  EXPECT_EQ(d.status, kDeviceEnrolled);
  EXPECT_EQ(d.certificate_serial, "0d");
  EXPECT_EQ(d.enrolled_at_ms, 1000);
}

TEST_F(FleetStateTest, RefusesBadInputAndUnknownDevices) {
  EXPECT_THAT(state_->RecordEnrollment("", "0a", 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(state_->RecordEnrollment(std::string(129, 'x'), "0a", 1),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("1 to 128 bytes")));
  EXPECT_THAT(state_->RecordEnrollment("a\nb", "0a", 1),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("control character")));
  EXPECT_THAT(state_->RecordEnrollment("dev-1", "0A", 1),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("lower-case hex")));
  EXPECT_THAT(state_->RecordRotation("dev-9", "0a"),
              StatusIs(StatusCode::kNotFound, HasSubstr("no device 'dev-9'")));
  EXPECT_THAT(state_->SetStatus("dev-9", "connected"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(state_->MarkRevoked("dev-9", 1), StatusIs(StatusCode::kNotFound));
  ASSERT_THAT(state_->RecordEnrollment("dev-1", "0a", 1), IsOk());
  EXPECT_THAT(state_->SetStatus("dev-1", "Bad Status"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(state_->SetStatus("dev-1", kDeviceRevoked),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("MarkRevoked")));
  EXPECT_THAT(state_->GetDevice("dev-9"), IsOkAndHolds(::testing::Eq(std::nullopt)));
}

TEST_F(FleetStateTest, RecordsABatchOfActivityInOneGo) {
  ASSERT_THAT(state_->RecordEnrollment("dev-1", "01", 100), IsOk());
  ASSERT_THAT(state_->RecordEnrollment("dev-2", "02", 100), IsOk());
  const std::vector<DeviceActivity> batch = {
      {"dev-1", 1000, 1, R"({"t":20.5})"},
      {"dev-1", 2000, 2, R"({"t":21.0})"},
      {"dev-1", 1500, 7, R"({"t":99})"},  // arrives late: counted, not latest
      {"dev-2", 3000, std::nullopt, ""},  // seen, no telemetry
      {"ghost", 3000, 1, "{}"},
      {"ghost", 3100, 2, "{}"},
  };
  auto result = state_->RecordActivity(batch);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->applied, 4);
  EXPECT_THAT(result->unknown_devices, ElementsAre("ghost"));

  EXPECT_EQ(Get("dev-1").last_seen_ms, 2000);
  EXPECT_EQ(Get("dev-2").last_seen_ms, 3000);
  auto telemetry = state_->GetTelemetry("dev-1");
  ASSERT_THAT(telemetry, IsOk());
  ASSERT_TRUE(telemetry->has_value());
  EXPECT_EQ((*telemetry)->message_count, 3);
  EXPECT_EQ((*telemetry)->last_sequence, 2);
  EXPECT_EQ((*telemetry)->first_at_ms, 1000);
  EXPECT_EQ((*telemetry)->last_at_ms, 2000);
  EXPECT_EQ((*telemetry)->latest_json, R"({"t":21.0})");
  EXPECT_THAT(state_->GetTelemetry("dev-2"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(state_->GetTelemetry("ghost"), IsOkAndHolds(::testing::Eq(std::nullopt)));

  // An older observation does not move last_seen back.
  const std::vector<DeviceActivity> late = {{"dev-2", 10, std::nullopt, ""}};
  ASSERT_THAT(state_->RecordActivity(late), IsOk());
  EXPECT_EQ(Get("dev-2").last_seen_ms, 3000);

  // An oversized message refuses the whole batch.
  const std::vector<DeviceActivity> oversized = {
      {"dev-2", 4000, 1, "{}"},
      {"dev-1", 4000, 3, std::string(kMaxTelemetryJsonBytes + 1, ' ')},
  };
  EXPECT_THAT(state_->RecordActivity(oversized),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("dev-1")));
  EXPECT_EQ(Get("dev-2").last_seen_ms, 3000);
  EXPECT_THAT(state_->RecordActivity({}), IsOk());
}

TEST_F(FleetStateTest, PagesThroughDevicesInIdOrderAndCountsByStatus) {
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "dev-%03d", i);
    ASSERT_THAT(state_->RecordEnrollment(id, "0a", i), IsOk());
    if (i % 5 == 0) {
      ASSERT_THAT(state_->SetStatus(id, kDeviceConnected), IsOk());
    }
  }
  ASSERT_THAT(state_->MarkRevoked("dev-024", 99), IsOk());

  std::vector<std::string> seen;
  DeviceQuery query;
  query.limit = 10;
  int pages = 0;
  for (;;) {
    auto page = state_->ListDevices(query);
    ASSERT_THAT(page, IsOk());
    ++pages;
    for (const DeviceRecord& d : page->devices) seen.push_back(d.id);
    if (page->next_after.empty()) break;
    query.after_id = page->next_after;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "dev-000");
  EXPECT_EQ(seen[10], "dev-010");
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  DeviceQuery connected;
  connected.status = std::string(kDeviceConnected);
  auto page = state_->ListDevices(connected);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->devices.size(), 5u);
  EXPECT_EQ(page->devices[1].id, "dev-005");
  EXPECT_TRUE(page->next_after.empty());

  EXPECT_THAT(
      state_->CountByStatus(),
      IsOkAndHolds(ElementsAre(Pair("connected", 5), Pair("enrolled", 19), Pair("revoked", 1))));
  query.limit = 0;
  EXPECT_THAT(state_->ListDevices(query), StatusIs(StatusCode::kInvalidArgument));
  query.limit = kMaxPageSize + 1;
  EXPECT_THAT(state_->ListDevices(query), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(FleetStateTest, AuditIsAppendOnlyAndOrdered) {
  auto first = state_->AppendAudit({0, 100, "alice", "tokens.issue", "", R"({"count":5})"});
  auto second = state_->AppendAudit({42, 200, "bob", "device.revoke", "dev-1", ""});
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_LT(*first, *second);
  EXPECT_THAT(state_->AppendAudit({0, 1, "", "x", "", ""}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(state_->AppendAudit({0, 1, "a", std::string(300, 'x'), "", ""}),
              StatusIs(StatusCode::kInvalidArgument));
  auto all = state_->ListAudit(0, 100);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].actor, "alice");
  EXPECT_EQ((*all)[0].detail_json, R"({"count":5})");
  EXPECT_EQ((*all)[1].id, *second);
  EXPECT_EQ((*all)[1].target, "dev-1");
  EXPECT_EQ((*all)[1].at_ms, 200);
  auto rest = state_->ListAudit(*first, 100);
  ASSERT_THAT(rest, IsOk());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].action, "device.revoke");
  EXPECT_THAT(state_->ListAudit(0, 0), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(FleetStateTest, SurvivesReopeningAndSharesTheFileWithAnotherConnection) {
  ASSERT_THAT(state_->RecordEnrollment("dev-1", "0a", 1000), IsOk());
  auto other = OpenSqliteFleetState(Path());
  ASSERT_THAT(other, IsOk());
  const std::vector<DeviceActivity> batch = {{"dev-1", 2000, 5, R"({"v":1})"}};
  ASSERT_THAT((*other)->RecordActivity(batch), IsOk());
  EXPECT_EQ(Get("dev-1").last_seen_ms, 2000);
  state_.reset();
  other->reset();
  auto reopened = OpenSqliteFleetState(Path());
  ASSERT_THAT(reopened, IsOk());
  auto telemetry = (*reopened)->GetTelemetry("dev-1");
  ASSERT_THAT(telemetry, IsOk());
  ASSERT_TRUE(telemetry->has_value());
  EXPECT_EQ((*telemetry)->last_sequence, 5);
  auto db = Database::Open(Path());
  ASSERT_THAT(db, IsOk());
  EXPECT_THAT(SchemaVersion(**db, "fleet"),
              IsOkAndHolds(static_cast<int>(FleetMigrations().size())));
  EXPECT_THAT(CheckIntegrity(**db), IsOk());
}

}  // namespace
}  // namespace custos::store
