// McCallum-Relyea blinded exchange on P-256 with OpenSSL EC_POINT; see ecmr.h.
#include "unseal/ecmr.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <memory>
#include <string>

#include "crypto/kdf.h"

namespace onionmail::unseal {

namespace {

struct GroupDeleter {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
// Every point may be secret (c*S, e*S, ...): always clear on free.
struct PointDeleter {
  void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct BnCtxDeleter {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using GroupPtr = std::unique_ptr<EC_GROUP, GroupDeleter>;
using PointPtr = std::unique_ptr<EC_POINT, PointDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxDeleter>;

Error Internal(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInternal, std::string("ecmr: ") + what);
}

Error Invalid(const char* what) {
  ERR_clear_error();
  return MakeError(ErrorCode::kInvalidArgument, std::string("ecmr: ") + what);
}

// The curve, a BN_CTX on the secure heap and the group order.
struct Curve {
  GroupPtr group;
  BnCtxPtr ctx;
  const BIGNUM* order = nullptr;
  BnPtr p;
};

Result<Curve> MakeCurve() {
  Curve curve;
  curve.group.reset(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!curve.group) return Internal("P-256 group unavailable");
  curve.ctx.reset(BN_CTX_secure_new());
  if (!curve.ctx) return Internal("BN_CTX allocation failed");
  curve.order = EC_GROUP_get0_order(curve.group.get());
  curve.p.reset(BN_new());
  if (curve.order == nullptr || !curve.p ||
      EC_GROUP_get_curve(curve.group.get(), curve.p.get(), nullptr, nullptr, curve.ctx.get()) !=
          1) {
    return Internal("P-256 parameters unavailable");
  }
  return curve;
}

PointPtr NewPoint(const Curve& curve) { return PointPtr(EC_POINT_new(curve.group.get())); }

BnPtr NewSecretBn() {
  BnPtr bn(BN_secure_new());
  if (bn) BN_set_flags(bn.get(), BN_FLG_CONSTTIME);
  return bn;
}

// Decodes and validates a 65-byte SEC1 uncompressed point.
Result<PointPtr> DecodePoint(const Curve& curve, std::span<const uint8_t> wire) {
  if (wire.size() != kPointSize) return Invalid("point must be 65 bytes");
  if (wire[0] != 0x04) return Invalid("point must be SEC1 uncompressed (0x04)");
  BnPtr x(BN_bin2bn(wire.data() + 1, 32, nullptr));
  BnPtr y(BN_bin2bn(wire.data() + 33, 32, nullptr));
  if (!x || !y) return Internal("BIGNUM allocation failed");
  if (BN_cmp(x.get(), curve.p.get()) >= 0 || BN_cmp(y.get(), curve.p.get()) >= 0) {
    return Invalid("point coordinate out of range");
  }
  PointPtr point = NewPoint(curve);
  if (!point) return Internal("EC_POINT allocation failed");
  if (EC_POINT_oct2point(curve.group.get(), point.get(), wire.data(), wire.size(),
                         curve.ctx.get()) != 1) {
    return Invalid("point is not on P-256");
  }
  if (EC_POINT_is_at_infinity(curve.group.get(), point.get()) == 1) {
    return Invalid("point at infinity");
  }
  if (EC_POINT_is_on_curve(curve.group.get(), point.get(), curve.ctx.get()) != 1) {
    return Invalid("point is not on P-256");
  }
  return point;
}

Result<Point> EncodePoint(const Curve& curve, const EC_POINT* point) {
  if (EC_POINT_is_at_infinity(curve.group.get(), point) == 1) {
    return Invalid("result is the point at infinity");
  }
  Point out{};
  if (EC_POINT_point2oct(curve.group.get(), point, POINT_CONVERSION_UNCOMPRESSED, out.data(),
                         out.size(), curve.ctx.get()) != kPointSize) {
    return Internal("point encoding failed");
  }
  return out;
}

// A scalar in [1, n-1] from 32 big-endian bytes.
Result<BnPtr> DecodeScalar(const Curve& curve, const SecretBytes& bytes) {
  if (bytes.size() != kScalarSize) return Invalid("scalar must be 32 bytes");
  BnPtr k = NewSecretBn();
  if (!k) return Internal("BIGNUM allocation failed");
  const auto raw = bytes.Reveal(SecretAccess::Grant());
  if (BN_bin2bn(raw.data(), static_cast<int>(raw.size()), k.get()) == nullptr) {
    return Internal("scalar decoding failed");
  }
  if (BN_is_zero(k.get()) || BN_cmp(k.get(), curve.order) >= 0) {
    return Invalid("scalar out of range [1, n-1]");
  }
  return k;
}

// A uniformly random scalar in [1, n-1] from OpenSSL's private DRBG.
Result<SecretBytes> RandomScalar(const Curve& curve) {
  BnPtr k = NewSecretBn();
  if (!k) return Internal("BIGNUM allocation failed");
  do {
    if (BN_priv_rand_range_ex(k.get(), curve.order, 0, curve.ctx.get()) != 1) {
      return Internal("random scalar failed");
    }
  } while (BN_is_zero(k.get()));
  SecretBytes out(kScalarSize);
  if (BN_bn2binpad(k.get(), out.Reveal(SecretAccess::Grant()).data(), kScalarSize) !=
      static_cast<int>(kScalarSize)) {
    return Internal("scalar encoding failed");
  }
  return out;
}

// r = k*G (base == nullptr) or r = k*base.
Result<PointPtr> Multiply(const Curve& curve, const BIGNUM* k, const EC_POINT* base) {
  PointPtr r = NewPoint(curve);
  if (!r) return Internal("EC_POINT allocation failed");
  const int ok =
      base == nullptr
          ? EC_POINT_mul(curve.group.get(), r.get(), k, nullptr, nullptr, curve.ctx.get())
          : EC_POINT_mul(curve.group.get(), r.get(), nullptr, base, k, curve.ctx.get());
  if (ok != 1) return Internal("point multiplication failed");
  return r;
}

Result<void> CheckPeerId(std::string_view peer_id) {
  if (peer_id.empty() || peer_id.size() > kMaxPeerIdSize) {
    return Invalid("peer id must be 1..255 bytes");
  }
  return Ok();
}

// K = HKDF-SHA256(x(Z), salt "onionmail-unseal-v1", info "K" || peer_id, 32).
Result<SecretBytes> DeriveKey(const Curve& curve, const EC_POINT* z, std::string_view peer_id) {
  if (EC_POINT_is_at_infinity(curve.group.get(), z) == 1) {
    return Invalid("shared point is the point at infinity");
  }
  BnPtr x = NewSecretBn();
  if (!x) return Internal("BIGNUM allocation failed");
  if (EC_POINT_get_affine_coordinates(curve.group.get(), z, x.get(), nullptr, curve.ctx.get()) !=
      1) {
    return Internal("shared point coordinates failed");
  }
  SecretBytes ikm(kScalarSize);
  if (BN_bn2binpad(x.get(), ikm.Reveal(SecretAccess::Grant()).data(), kScalarSize) !=
      static_cast<int>(kScalarSize)) {
    return Internal("shared point encoding failed");
  }
  std::string info = "K";
  info.append(peer_id);
  const auto* salt = reinterpret_cast<const uint8_t*>(kUnsealSalt.data());
  return crypto::HkdfSha256(ikm, std::span<const uint8_t>(salt, kUnsealSalt.size()), info,
                            kUnsealKeySize);
}

}  // namespace

Result<Point> ParsePoint(std::span<const uint8_t> wire) {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto point = DecodePoint(*curve, wire);
  if (!point.ok()) return point.error();
  Point out{};
  for (size_t i = 0; i < kPointSize; ++i) out[i] = wire[i];
  return out;
}

Result<PeerKey> PeerKeyFromScalar(const SecretBytes& s) {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto k = DecodeScalar(*curve, s);
  if (!k.ok()) return k.error();
  auto pub = Multiply(*curve, k->get(), nullptr);
  if (!pub.ok()) return pub.error();
  auto encoded = EncodePoint(*curve, pub->get());
  if (!encoded.ok()) return encoded.error();
  return PeerKey{s.Clone(), *encoded};
}

Result<PeerKey> GeneratePeerKey() {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto s = RandomScalar(*curve);
  if (!s.ok()) return s.error();
  return PeerKeyFromScalar(*s);
}

Result<Enrolment> ServerEnrollWithScalar(const Point& S, std::string_view peer_id,
                                         const SecretBytes& c) {
  ONIONMAIL_RETURN_IF_ERROR(CheckPeerId(peer_id));
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto s_point = DecodePoint(*curve, S);
  if (!s_point.ok()) return s_point.error();
  auto c_bn = DecodeScalar(*curve, c);
  if (!c_bn.ok()) return c_bn.error();
  auto c_point = Multiply(*curve, c_bn->get(), nullptr);
  if (!c_point.ok()) return c_point.error();
  auto encoded = EncodePoint(*curve, c_point->get());
  if (!encoded.ok()) return encoded.error();
  auto shared = Multiply(*curve, c_bn->get(), s_point->get());
  if (!shared.ok()) return shared.error();
  auto key = DeriveKey(*curve, shared->get(), peer_id);
  if (!key.ok()) return key.error();
  return Enrolment{*encoded, std::move(*key)};
}

Result<Enrolment> ServerEnroll(const Point& S, std::string_view peer_id) {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto c = RandomScalar(*curve);
  if (!c.ok()) return c.error();
  return ServerEnrollWithScalar(S, peer_id, *c);  // c is wiped when it goes out of scope
}

Result<Blinded> ServerBlindWithScalar(const Point& C, const Point& S, const SecretBytes& e) {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto c_point = DecodePoint(*curve, C);
  if (!c_point.ok()) return c_point.error();
  auto s_point = DecodePoint(*curve, S);
  if (!s_point.ok()) return s_point.error();
  auto e_bn = DecodeScalar(*curve, e);
  if (!e_bn.ok()) return e_bn.error();
  auto e_point = Multiply(*curve, e_bn->get(), nullptr);
  if (!e_point.ok()) return e_point.error();
  PointPtr x = NewPoint(*curve);
  if (!x) return Internal("EC_POINT allocation failed");
  if (EC_POINT_add(curve->group.get(), x.get(), c_point->get(), e_point->get(), curve->ctx.get()) !=
      1) {
    return Internal("point addition failed");
  }
  // X = infinity only when e = -c mod n; EncodePoint refuses it.
  auto encoded = EncodePoint(*curve, x.get());
  if (!encoded.ok()) return encoded.error();
  return Blinded{*encoded, e.Clone()};
}

Result<Blinded> ServerBlind(const Point& C, const Point& S) {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  for (const Point* point : {&C, &S}) {
    auto decoded = DecodePoint(*curve, *point);
    if (!decoded.ok()) return decoded.error();
  }
  // With C and S valid, the only failure left is X = infinity (e = -c mod n,
  // probability 1/n): draw another e.
  Result<Blinded> blinded = Internal("no blinding scalar found");
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto e = RandomScalar(*curve);
    if (!e.ok()) return e.error();
    blinded = ServerBlindWithScalar(C, S, *e);
    if (blinded.ok() || blinded.error().code != ErrorCode::kInvalidArgument) break;
  }
  return blinded;
}

Result<Point> PeerAnswer(const SecretBytes& s, const Point& X) {
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto s_bn = DecodeScalar(*curve, s);
  if (!s_bn.ok()) return s_bn.error();
  auto x_point = DecodePoint(*curve, X);
  if (!x_point.ok()) return x_point.error();
  auto y = Multiply(*curve, s_bn->get(), x_point->get());
  if (!y.ok()) return y.error();
  return EncodePoint(*curve, y->get());
}

Result<SecretBytes> ServerUnblind(const Point& Y, const SecretBytes& e, const Point& S,
                                  std::string_view peer_id) {
  ONIONMAIL_RETURN_IF_ERROR(CheckPeerId(peer_id));
  auto curve = MakeCurve();
  if (!curve.ok()) return curve.error();
  auto y_point = DecodePoint(*curve, Y);
  if (!y_point.ok()) return y_point.error();
  auto s_point = DecodePoint(*curve, S);
  if (!s_point.ok()) return s_point.error();
  auto e_bn = DecodeScalar(*curve, e);
  if (!e_bn.ok()) return e_bn.error();
  auto es = Multiply(*curve, e_bn->get(), s_point->get());
  if (!es.ok()) return es.error();
  if (EC_POINT_invert(curve->group.get(), es->get(), curve->ctx.get()) != 1) {
    return Internal("point negation failed");
  }
  PointPtr z = NewPoint(*curve);
  if (!z) return Internal("EC_POINT allocation failed");
  if (EC_POINT_add(curve->group.get(), z.get(), y_point->get(), es->get(), curve->ctx.get()) != 1) {
    return Internal("point addition failed");
  }
  return DeriveKey(*curve, z.get(), peer_id);
}

}  // namespace onionmail::unseal
