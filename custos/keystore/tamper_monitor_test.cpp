#include "custos/keystore/tamper_monitor.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "custos/core/hex.h"
#include "custos/core/secret_bytes.h"
#include "custos/keystore/soft_key_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TamperMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "custos-tamper-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    state_ = dir_ + "/state";
    store_ = NewInMemorySoftKeyStore();
    for (KeyType type : AllKeyTypes()) {
      ASSERT_THAT(store_->Generate(type, KeyTypeName(type)), IsOk());
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TamperMonitor NewMonitor() {
    StatusOr<TamperMonitor> monitor = TamperMonitor::Create(store_.get(), state_);
    EXPECT_THAT(monitor, IsOk());
    return *std::move(monitor);
  }

  void ExpectResponded(const TamperEvent& event, std::string_view source) {
    EXPECT_EQ(event.source, source);
    EXPECT_EQ(event.keys_destroyed, 6u);
    EXPECT_EQ(event.backend, "soft");
    EXPECT_THAT(event.error, IsEmpty());
    EXPECT_THAT(store_->List(), IsOkAndHolds(IsEmpty()));
    EXPECT_THAT(store_->Sign("ecdsa-p256", {}), StatusIs(StatusCode::kNotFound));
    EXPECT_TRUE(NeedsReenrollment(state_));
    StatusOr<std::vector<TamperEvent>> log = ReadTamperLog(state_);
    ASSERT_THAT(log, IsOk());
    ASSERT_THAT(*log, SizeIs(1));
    EXPECT_EQ((*log)[0].source, source);
    EXPECT_EQ((*log)[0].keys_destroyed, 6u);
    EXPECT_EQ((*log)[0].time, event.time);
  }

  std::string dir_;
  std::string state_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(TamperMonitorTest, TriggerDestroysKeysRecordsAndMarks) {
  TamperMonitor monitor = NewMonitor();
  EXPECT_FALSE(NeedsReenrollment(state_));
  StatusOr<TamperEvent> event = monitor.Trigger("cli", "operator request");
  ASSERT_THAT(event, IsOk());
  ExpectResponded(*event, "cli");
  EXPECT_EQ(event->reason, "operator request");
  EXPECT_THAT(event->time, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"));

  // The record is one JSON line.
  std::ifstream in(state_ + "/tamper.log");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"keys_destroyed\":6"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);

  // A second event appends; a later enrollment clears the marker.
  ASSERT_THAT(monitor.Trigger("cli", "again"),
              IsOkAndHolds(::testing::Field(&TamperEvent::keys_destroyed, 0u)));
  EXPECT_THAT(ReadTamperLog(state_), IsOkAndHolds(SizeIs(2)));
  EXPECT_THAT(ClearReenrollment(state_), IsOk());
  EXPECT_FALSE(NeedsReenrollment(state_));
  EXPECT_THAT(ClearReenrollment(state_), IsOk());
}

TEST_F(TamperMonitorTest, FolderStoreFilesAreGone) {
  SoftKeyStoreOptions options;
  options.scrypt_n = 1 << 10;
  auto store = OpenSoftKeyStore(dir_ + "/keys", SecretBytes(AsBytes("pw")), options);
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->Generate(KeyType::kEcdsaP256, "device"), IsOk());
  ASSERT_THAT((*store)->Generate(KeyType::kAes128, "wrap"), IsOk());
  auto monitor = TamperMonitor::Create(store->get(), state_);
  ASSERT_THAT(monitor, IsOk());
  ASSERT_THAT(monitor->Trigger("test", "case open"),
              IsOkAndHolds(::testing::Field(&TamperEvent::keys_destroyed, 2u)));
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/keys/keys"));
  auto reopened = OpenSoftKeyStore(dir_ + "/keys", SecretBytes(AsBytes("pw")), options);
  ASSERT_THAT(reopened, IsOk());
  EXPECT_THAT((*reopened)->List(), IsOkAndHolds(IsEmpty()));
}

TEST_F(TamperMonitorTest, FileAppearingFires) {
  TamperMonitor monitor = NewMonitor();
  const std::string trip = dir_ + "/case-open";
  ASSERT_THAT(monitor.WatchFile(trip), IsOk());
  EXPECT_THAT(monitor.Poll(), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(store_->List(), IsOkAndHolds(SizeIs(6)));
  { std::ofstream(trip) << "x"; }
  StatusOr<std::optional<TamperEvent>> event = monitor.Poll();
  ASSERT_THAT(event, IsOk());
  ASSERT_TRUE(event->has_value());
  ExpectResponded(**event, "file:" + trip);
  EXPECT_EQ((*event)->reason, "file appeared");
  EXPECT_THAT(monitor.Poll(), IsOkAndHolds(::testing::Eq(std::nullopt)));  // fires once per change
}

TEST_F(TamperMonitorTest, FileChangingFires) {
  const std::string trip = dir_ + "/mesh";
  { std::ofstream(trip) << "intact"; }
  TamperMonitor monitor = NewMonitor();
  ASSERT_THAT(monitor.WatchFile(trip), IsOk());
  EXPECT_THAT(monitor.Poll(), IsOkAndHolds(::testing::Eq(std::nullopt)));
  { std::ofstream(trip) << "broken"; }
  StatusOr<std::optional<TamperEvent>> event = monitor.Poll();
  ASSERT_THAT(event, IsOk());
  ASSERT_TRUE(event->has_value());
  ExpectResponded(**event, "file:" + trip);
}

TEST_F(TamperMonitorTest, GpioLineGoingHighFires) {
  const std::string value = dir_ + "/gpio17-value";
  { std::ofstream(value) << "0\n"; }
  TamperMonitor monitor = NewMonitor();
  ASSERT_THAT(monitor.WatchGpio(value), IsOk());
  EXPECT_THAT(monitor.Poll(), IsOkAndHolds(::testing::Eq(std::nullopt)));
  { std::ofstream(value) << "0\n"; }  // rewritten but still inactive
  EXPECT_THAT(monitor.Poll(), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(store_->List(), IsOkAndHolds(SizeIs(6)));
  { std::ofstream(value) << "1\n"; }
  StatusOr<std::optional<TamperEvent>> event = monitor.Wait(2000, 10);
  ASSERT_THAT(event, IsOk());
  ASSERT_TRUE(event->has_value());
  ExpectResponded(**event, "gpio:" + value);
  EXPECT_THAT(monitor.Poll(),
              IsOkAndHolds(::testing::Eq(std::nullopt)));  // still "1": no second event
  EXPECT_THAT(monitor.WatchGpio(dir_ + "/no-such-gpio"), StatusIs(StatusCode::kNotFound));
}

TEST_F(TamperMonitorTest, SignalFires) {
  TamperMonitor monitor = NewMonitor();
  ASSERT_THAT(monitor.WatchSignal(SIGUSR1), IsOk());
  EXPECT_THAT(monitor.Poll(), IsOkAndHolds(::testing::Eq(std::nullopt)));
  ASSERT_EQ(::raise(SIGUSR1), 0);  // blocked: queued for the signalfd
  StatusOr<std::optional<TamperEvent>> event = monitor.Wait(2000);
  ASSERT_THAT(event, IsOk());
  ASSERT_TRUE(event->has_value());
  ExpectResponded(**event, "signal:" + std::to_string(SIGUSR1));
  EXPECT_THAT((*event)->reason, HasSubstr("USR1"));
  EXPECT_THAT(monitor.WatchSignal(SIGKILL), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(TamperMonitorTest, WaitTimesOutWhenNothingHappens) {
  TamperMonitor monitor = NewMonitor();
  ASSERT_THAT(monitor.WatchFile(dir_ + "/never"), IsOk());
  EXPECT_THAT(monitor.Wait(60, 10), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(store_->List(), IsOkAndHolds(SizeIs(6)));
  EXPECT_FALSE(NeedsReenrollment(state_));
}

TEST_F(TamperMonitorTest, BadStateFolderAndMalformedLog) {
  { std::ofstream(dir_ + "/file") << "x"; }
  EXPECT_THAT(TamperMonitor::Create(store_.get(), dir_ + "/file"), ::testing::Not(IsOk()));
  EXPECT_THAT(TamperMonitor::Create(nullptr, state_), StatusIs(StatusCode::kInvalidArgument));
  std::filesystem::create_directories(state_);
  { std::ofstream(state_ + "/tamper.log") << "{\"time\":1}\n"; }
  EXPECT_THAT(ReadTamperLog(state_), StatusIs(StatusCode::kDataLoss, HasSubstr("line 1")));
  EXPECT_THAT(ReadTamperLog(dir_ + "/none"), IsOkAndHolds(IsEmpty()));
}

}  // namespace
}  // namespace custos::keystore
