// mail::IsV3OnionDomain: v3 onion names are accepted only with the right
// length, alphabet, version byte and SHA3-256 checksum (rend-spec-v3).
#include "mail/relay.h"

#include <gtest/gtest.h>

#include <string>

namespace onionmail::mail {
namespace {

// pubkey = 00 01 02 .. 1f, version 3; computed with Python's
// hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03") and base64.b32encode.
constexpr char kFixedKeyOnion[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";
// The same pubkey, one bit flipped in the first checksum byte.
constexpr char kWrongChecksum[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3iead.onion";
// The same pubkey with version 4 and the checksum computed for version 4.
constexpr char kVersion4[] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp2sxye.onion";

TEST(OnionDomainTest, AddressComputedFromAFixedKeyIsAccepted) {
  EXPECT_TRUE(IsV3OnionDomain(kFixedKeyOnion));
}

TEST(OnionDomainTest, RealWorldAddressesAreAccepted) {
  EXPECT_TRUE(IsV3OnionDomain("2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"));
  EXPECT_TRUE(IsV3OnionDomain("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"));
}

TEST(OnionDomainTest, WrongChecksumIsRejected) { EXPECT_FALSE(IsV3OnionDomain(kWrongChecksum)); }

TEST(OnionDomainTest, ChangedKeyCharacterBreaksTheChecksum) {
  std::string name = kFixedKeyOnion;
  name[10] = name[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(IsV3OnionDomain(name));
}

TEST(OnionDomainTest, VersionOtherThanThreeIsRejectedEvenWithItsChecksum) {
  EXPECT_FALSE(IsV3OnionDomain(kVersion4));
}

TEST(OnionDomainTest, UpperCaseIsRejected) {
  EXPECT_FALSE(IsV3OnionDomain("AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYP3KEAD.onion"));
  EXPECT_FALSE(IsV3OnionDomain("aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.ONION"));
  std::string one_upper = kFixedKeyOnion;
  one_upper[0] = 'A';
  EXPECT_FALSE(IsV3OnionDomain(one_upper));
}

TEST(OnionDomainTest, WrongLengthIsRejected) {
  std::string name = kFixedKeyOnion;
  EXPECT_FALSE(IsV3OnionDomain(name.substr(1)));  // 55 characters
  EXPECT_FALSE(IsV3OnionDomain("a" + name));      // 57 characters
  EXPECT_FALSE(IsV3OnionDomain(""));
  EXPECT_FALSE(IsV3OnionDomain(".onion"));
}

TEST(OnionDomainTest, V2AddressIsRejected) {
  EXPECT_FALSE(IsV3OnionDomain("expyuzz4wqqyqhjn.onion"));
}

TEST(OnionDomainTest, NonBase32CharactersAreRejected) {
  for (char bad : {'0', '1', '8', '9', '=', '-', '.', '_'}) {
    std::string name = kFixedKeyOnion;
    name[20] = bad;
    EXPECT_FALSE(IsV3OnionDomain(name)) << bad;
  }
}

TEST(OnionDomainTest, WrongSuffixIsRejected) {
  std::string name = kFixedKeyOnion;
  EXPECT_FALSE(IsV3OnionDomain(name.substr(0, 56) + ".onio"));
  EXPECT_FALSE(IsV3OnionDomain(name.substr(0, 56) + "xonion"));
  EXPECT_FALSE(IsV3OnionDomain(name + "."));
  EXPECT_FALSE(IsV3OnionDomain("mx." + name));
  EXPECT_FALSE(IsV3OnionDomain(name.substr(0, 56)));
}

}  // namespace
}  // namespace onionmail::mail
