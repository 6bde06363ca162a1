// Fixed interoperability vectors of the TKIM proof (docs/PROTOCOL.md, "TKIM
// test vectors"), computed independently of this code base by
// tests/unseal/gen_torm_vectors.py (struct.pack encodings, RSA-PSS, SHA-256 and
// SHA3-256 from Python). If a test here fails, the implementation changed the
// protocol.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "crypto/hex.h"
#include "tests/unseal/torm_test_keys.h"
#include "unseal/tkim_wire.h"

namespace onionmail::unseal {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr char kSender[] = "c5j427vx2jqfswevlixlr6xoshvaojzfnfyq2verfqys43ddjyim56qd.onion";
constexpr char kReceiver[] = "hb53jwwf6mybde3jqmx4xys74nsvw3esiswtyhegofrgmexlfqx7gpid.onion";
constexpr char kBody[] =
    "3e63356a3432377678326a7166737765766c69786c7236786f736876616f6a7a"
    "666e6679713276657266717973343364646a79696d353671642e6f6e696f6e3e"
    "686235336a777766366d79626465336a716d783478797337346e737677336573"
    "69737774796865676f6672676d65786c66717837677069642e6f6e696f6e0000"
    "00006b36ec80";
constexpr char kInput[] =
    "6f6e696f6e6d61696c2d746f726d2d76310004c1887c1e073b7757dec6cbeab1"
    "ddb3cafc6bf85bc0e737b3151448802eb0dc8e3e63356a3432377678326a7166"
    "737765766c69786c7236786f736876616f6a7a666e6679713276657266717973"
    "343364646a79696d353671642e6f6e696f6e3e686235336a777766366d796264"
    "65336a716d783478797337346e73767733657369737774796865676f6672676d"
    "65786c66717837677069642e6f6e696f6e000000006b36ec80";
constexpr char kSignature[] =
    "23b36874a9223126821bc4935ef710eed0d967bc5553e0e11cff4635aad0e263"
    "1df5eac4efa0836f5e69b57d4e2f600e2af15745d44ccd65ab105ec8803949a3"
    "86ed3b6e14ff48ac870ecbd3394dd031f1d2873b3a2fa6dbc4cd75bc8fae7396"
    "13880894162a575369c4971b1600ac2da7770590f5f45e7cf47f8f8b320121a5"
    "eed2b895e879dbe2dd36668ab1b324182bf5019fb97e2f360c0c2cc37dc72919"
    "ab388792533ae47079d22c921a56c7317d4df2c07d7c043e82a89c69c49f4f62"
    "ad06f5b08815870d1ace8f1d39ae3d1e67861f36eee04e7abfbbbcb540ae7050"
    "14e30e61b027cebcc9d22e8292f1b92d3c7332b57ee87673a2a6097a1508153b";
constexpr char kRequest[] =
    "0104000000863e63356a3432377678326a7166737765766c69786c7236786f73"
    "6876616f6a7a666e6679713276657266717973343364646a79696d353671642e"
    "6f6e696f6e3e686235336a777766366d79626465336a716d783478797337346e"
    "73767733657369737774796865676f6672676d65786c66717837677069642e6f"
    "6e696f6e000000006b36ec80012630820122300d06092a864886f70d01010105"
    "000382010f003082010a0282010100dac1450d99f4ab68b69ac190b7770dc577"
    "c38a9233a24ffd9dc5e56aa5afcbf6af385fa74edd2489565ede25e428ea3ca3"
    "29bc1b55ba56167770aa4b9cb15383d138818457d6b19623b83e37b3c2d89d3b"
    "62c7af93d985d9841ea2624d57756361045bf5316c0cdee28a2e84ad176d2a52"
    "2205645e44b2c3edcf00fb683f97345375df7c9fcec71f1242971741a81a834a"
    "9be842f25360ede3832267f3430fefd8807934bd9b261afd41e293b1386578c7"
    "f8d4a1c23569968c9ebde8ba90fe013a404fc826d95662a2389e0e3d3d867fd7"
    "64fd996445738c447bba7763042042d3d5d275dedefaa82ead296ded6e86ea31"
    "fdc7a9fb7d12977907c5c5da93e51d0203010001010023b36874a9223126821b"
    "c4935ef710eed0d967bc5553e0e11cff4635aad0e2631df5eac4efa0836f5e69"
    "b57d4e2f600e2af15745d44ccd65ab105ec8803949a386ed3b6e14ff48ac870e"
    "cbd3394dd031f1d2873b3a2fa6dbc4cd75bc8fae739613880894162a575369c4"
    "971b1600ac2da7770590f5f45e7cf47f8f8b320121a5eed2b895e879dbe2dd36"
    "668ab1b324182bf5019fb97e2f360c0c2cc37dc72919ab388792533ae47079d2"
    "2c921a56c7317d4df2c07d7c043e82a89c69c49f4f62ad06f5b08815870d1ace"
    "8f1d39ae3d1e67861f36eee04e7abfbbbcb540ae705014e30e61b027cebcc9d2"
    "2e8292f1b92d3c7332b57ee87673a2a6097a1508153b";

constexpr uint64_t kTime = 1798761600;  // 2027-01-01T00:00:00Z

Bytes Hex(const char* hex) {
  auto b = crypto::FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

std::array<uint8_t, kChannelBindingSize> Cb() {
  std::array<uint8_t, kChannelBindingSize> cb{};
  const Bytes b = Hex(kCb);
  std::copy_n(b.begin(), cb.size(), cb.begin());
  return cb;
}

TEST(TkimVectorsTest, BodyAndSigningInputAreTheDocumentedBytes) {
  auto body = EncodeTkimBody(TkimBody{kSender, kReceiver, kTime});
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(crypto::ToHex(*body), kBody);
  EXPECT_EQ(crypto::ToHex(SigningInput(Verb::kTkim, Cb(), *body)), kInput);
}

TEST(TkimVectorsTest, DocumentedRequestIsBuiltFromItsPartsAndAcceptedByTheReceiver) {
  auto built = BuildSignedRequest(Verb::kTkim, Hex(kBody), Hex(kSpki), Hex(kSignature));
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(crypto::ToHex(*built), kRequest);
  auto proof = CheckTkimRequest(Hex(kRequest), Cb(), kReceiver, kTime + 60);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_EQ(proof->sender_domain, kSender);
  EXPECT_EQ(crypto::ToHex(proof->key_id), kPartnerId);
}

TEST(TkimVectorsTest, DocumentedRequestIsRefusedByTheSenderItselfOrTooLate) {
  EXPECT_EQ(CheckTkimRequest(Hex(kRequest), Cb(), kSender, kTime).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(CheckTkimRequest(Hex(kRequest), Cb(), kReceiver, kTime + 601).error().code,
            ErrorCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace onionmail::unseal
