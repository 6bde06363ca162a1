// ClientLimits (server/client_limits.h): how many connections Internet
// clients of an enter gateway may hold, together and per address, and how
// often one address may connect.
#include "server/client_limits.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace onionmail::server {
namespace {

std::string V4Key(const char* text) {
  sockaddr_storage ss = {};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, text, &in.sin_addr), 1) << text;
  return ClientLimits::AddressKey(ss, sizeof(sockaddr_in));
}

std::string V6Key(const char* text) {
  sockaddr_storage ss = {};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
  in6.sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, text, &in6.sin6_addr), 1) << text;
  return ClientLimits::AddressKey(ss, sizeof(sockaddr_in6));
}

TEST(ClientLimitsTest, AnIpv4AddressIsItsOwnKeyAndAMappedOneTheSame) {
  EXPECT_EQ(V4Key("192.0.2.1"), std::string("\xc0\x00\x02\x01", 4));
  EXPECT_EQ(V6Key("::ffff:192.0.2.1"), V4Key("192.0.2.1"));
  EXPECT_NE(V4Key("192.0.2.1"), V4Key("192.0.2.2"));
}

TEST(ClientLimitsTest, AnIpv6SlashSixtyFourSharesOneKey) {
  EXPECT_EQ(V6Key("2001:db8:1:2::1"), V6Key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_EQ(V6Key("2001:db8:1:2::1").size(), 8u);
  EXPECT_NE(V6Key("2001:db8:1:2::1"), V6Key("2001:db8:1:3::1"));
}

TEST(ClientLimitsTest, AShortOrUnknownAddressHasTheEmptyKey) {
  sockaddr_storage ss = {};
  ss.ss_family = AF_INET;
  EXPECT_EQ(ClientLimits::AddressKey(ss, 2), "");
  ss.ss_family = AF_UNIX;
  EXPECT_EQ(ClientLimits::AddressKey(ss, sizeof(ss)), "");
}

TEST(ClientLimitsTest, OneAddressGetsPerAddressSlotsAndTheNextIsRefusedUntilOneIsFreed) {
  auto limits = ClientLimits::Create(10, 2);
  auto a = limits->AdmitKey("a");
  auto b = limits->AdmitKey("a");
  ASSERT_NE(a.slot, nullptr);
  ASSERT_NE(b.slot, nullptr);
  auto c = limits->AdmitKey("a");
  EXPECT_EQ(c.slot, nullptr);
  EXPECT_EQ(c.refusal, ClientLimits::Refusal::kPerAddress);
  EXPECT_NE(limits->AdmitKey("b").slot, nullptr);  // another address is not refused
  a.slot.reset();
  EXPECT_NE(limits->AdmitKey("a").slot, nullptr);
}

TEST(ClientLimitsTest, AllAddressesTogetherGetTotalSlots) {
  auto limits = ClientLimits::Create(3, 2);
  std::vector<std::shared_ptr<const void>> held;
  for (const char* key : {"a", "b", "c"}) {
    auto admitted = limits->AdmitKey(key);
    ASSERT_NE(admitted.slot, nullptr) << key;
    held.push_back(admitted.slot);
  }
  auto refused = limits->AdmitKey("d");
  EXPECT_EQ(refused.slot, nullptr);
  EXPECT_EQ(refused.refusal, ClientLimits::Refusal::kTotal);
  EXPECT_EQ(limits->active(), 3u);
}

TEST(ClientLimitsTest, ASlotIsGivenBackWhenItsLastCopyGoesAndNothingOfTheAddressStays) {
  auto limits = ClientLimits::Create(4, 4);
  {
    auto admitted = limits->AdmitKey(V4Key("192.0.2.7"));
    std::shared_ptr<const void> copy = admitted.slot;
    admitted.slot.reset();
    EXPECT_EQ(limits->active(), 1u);
    EXPECT_EQ(limits->addresses(), 1u);
  }
  EXPECT_EQ(limits->active(), 0u);
  EXPECT_EQ(limits->addresses(), 0u);
}

TEST(ClientLimitsTest, PerAddressAboveTotalActsAsTotal) {
  auto limits = ClientLimits::Create(2, 100);
  auto a = limits->AdmitKey("a");
  auto b = limits->AdmitKey("a");
  auto c = limits->AdmitKey("a");
  EXPECT_NE(b.slot, nullptr);
  EXPECT_EQ(c.slot, nullptr);
  EXPECT_EQ(c.refusal, ClientLimits::Refusal::kTotal);
}

TEST(ClientLimitsTest, ASlotMayOutliveTheLimitsHandleAndBeFreedOnAnotherThread) {
  std::shared_ptr<const void> slot;
  {
    auto limits = ClientLimits::Create(1, 1);
    slot = limits->AdmitKey("a").slot;
    ASSERT_NE(slot, nullptr);
  }
  std::thread([s = std::move(slot)]() mutable { s.reset(); }).join();
}

TEST(ClientLimitsTest, ConcurrentAdmissionsNeverExceedTheLimits) {
  auto limits = ClientLimits::Create(8, 8);
  std::vector<std::thread> threads;
  std::atomic<int> over{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto admitted = limits->AdmitKey("k");
        if (admitted.slot != nullptr && limits->active() > 8) over.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(limits->active(), 0u);
  EXPECT_EQ(limits->addresses(), 0u);
}

using namespace std::chrono_literals;
using Clock = ClientLimits::Clock;

// Admits `key` at `now` and gives the slot back at once; true if admitted.
bool ConnectOnce(ClientLimits& limits, const std::string& key, Clock::time_point now,
                 ClientLimits::Refusal* refusal = nullptr) {
  auto admitted = limits.AdmitKey(key, now);
  if (refusal != nullptr) *refusal = admitted.refusal;
  return admitted.slot != nullptr;
}

TEST(ClientLimitsTest, AnAddressConnectingMoreOftenThanItsRateIsRefusedUntilItsBucketRefills) {
  auto limits = ClientLimits::Create(100, 100, /*per_minute=*/3);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ConnectOnce(*limits, "a", t0)) << i;
  ClientLimits::Refusal refusal = ClientLimits::Refusal::kNone;
  EXPECT_FALSE(ConnectOnce(*limits, "a", t0 + 1s, &refusal));
  EXPECT_EQ(refusal, ClientLimits::Refusal::kRate);
  EXPECT_TRUE(ConnectOnce(*limits, "b", t0 + 1s)) << "another address has its own bucket";
  // Three a minute: one more every 20 s.
  EXPECT_FALSE(ConnectOnce(*limits, "a", t0 + 19s));
  EXPECT_TRUE(ConnectOnce(*limits, "a", t0 + 20s));
  EXPECT_FALSE(ConnectOnce(*limits, "a", t0 + 21s));
  // A long pause refills it to three, not more.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ConnectOnce(*limits, "a", t0 + 600s)) << i;
  EXPECT_FALSE(ConnectOnce(*limits, "a", t0 + 600s));
}

TEST(ClientLimitsTest, ARefusedConnectionSpendsNoToken) {
  auto limits = ClientLimits::Create(100, 100, /*per_minute=*/1);
  const Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(ConnectOnce(*limits, "a", t0));
  for (int i = 1; i < 10; ++i) EXPECT_FALSE(ConnectOnce(*limits, "a", t0 + i * 1s));
  EXPECT_TRUE(ConnectOnce(*limits, "a", t0 + 60s));
}

TEST(ClientLimitsTest, TheRateCountsConnectionsOpenedNotHeld) {
  auto limits = ClientLimits::Create(100, 100, /*per_minute=*/2);
  const Clock::time_point t0 = Clock::now();
  auto first = limits->AdmitKey("a", t0);
  auto second = limits->AdmitKey("a", t0);
  ASSERT_NE(first.slot, nullptr);
  ASSERT_NE(second.slot, nullptr);
  first.slot.reset();
  second.slot.reset();
  EXPECT_FALSE(ConnectOnce(*limits, "a", t0 + 1s)) << "both closed, still two this minute";
}

TEST(ClientLimitsTest, AnAddressIsForgottenOnceItsBucketIsFullAgain) {
  auto limits = ClientLimits::Create(100, 100, /*per_minute=*/6);
  const Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(ConnectOnce(*limits, "a", t0));
  EXPECT_EQ(limits->addresses(), 1u) << "its bucket is not full yet";
  EXPECT_TRUE(ConnectOnce(*limits, "b", t0 + 58s));
  EXPECT_EQ(limits->addresses(), 2u);
  EXPECT_TRUE(ConnectOnce(*limits, "c", t0 + 61s));  // the next sweep, a minute on
  EXPECT_EQ(limits->addresses(), 2u) << "a's bucket refilled and it was forgotten, not b's";
  EXPECT_TRUE(ConnectOnce(*limits, "c", t0 + 200s));
  EXPECT_EQ(limits->addresses(), 1u);
}

TEST(ClientLimitsTest, WhenTooManyAddressesAreTrackedANewOneIsAdmittedWithoutARate) {
  const uint32_t n = ClientLimits::kMaxTracked;
  auto limits = ClientLimits::Create(n + 10, 1, /*per_minute=*/1);
  const Clock::time_point t0 = Clock::now();
  std::vector<std::shared_ptr<const void>> held;
  held.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    auto admitted = limits->AdmitKey("k" + std::to_string(i), t0);
    ASSERT_NE(admitted.slot, nullptr) << i;
    held.push_back(std::move(admitted.slot));
  }
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ConnectOnce(*limits, "new", t0)) << i;
  EXPECT_LE(limits->addresses(), size_t{n} + 1);
  auto per_address = limits->AdmitKey("k0", t0);  // the connection limits still hold
  EXPECT_EQ(per_address.refusal, ClientLimits::Refusal::kPerAddress);
  held.clear();
  EXPECT_EQ(limits->active(), 0u);
}

}  // namespace
}  // namespace onionmail::server
