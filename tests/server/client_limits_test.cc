// ClientLimits (server/client_limits.h): how many connections Internet
// clients of an enter gateway may hold, together and per address.
#include "server/client_limits.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
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

}  // namespace
}  // namespace onionmail::server
