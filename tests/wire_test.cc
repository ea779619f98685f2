// The version 1 wire codec against bytes written out by hand from the
// protocol description, and the assembler that collects messages from
// arbitrary pieces.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/assembler.h"
#include "v1/wire.h"

namespace {

using namespace sc;
using namespace sc::v1;

std::vector<uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<uint8_t> out;
  for (int b : list) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(Wire, SizesOfEveryMessage) {
  EXPECT_EQ(16u, NewRequest::kSize);
  EXPECT_EQ(12u, ReuseRequest::kSize);
  EXPECT_EQ(16u, NewReply::kSize);
  EXPECT_EQ(16u, ReuseReply::kSize);
  EXPECT_EQ(8u, AuthCode::kSize);
  EXPECT_EQ(8u, kKindSize);
  EXPECT_EQ(16u, request_size(RequestKind::kNew));
  EXPECT_EQ(12u, request_size(RequestKind::kReuse));
}

TEST(Wire, NewRequestIsZeroThenTheKeyLittleEndian) {
  std::vector<uint8_t> out;
  NewRequest{0x0102030405060708ull}.encode(out);
  EXPECT_EQ(bytes({0, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1}), out);
  EXPECT_EQ(RequestKind::kNew, request_kind(out.data()));
  EXPECT_EQ(0x0102030405060708ull, NewRequest::decode(out.data()).client_public);
}

TEST(Wire, ReuseRequestIsTheCountThenTheFingerprint) {
  std::vector<uint8_t> out;
  ReuseRequest{0x1122334455667788ull, 0xa1b2c3d4u}.encode(out);
  EXPECT_EQ(bytes({0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xd4, 0xc3, 0xb2, 0xa1}), out);
  EXPECT_EQ(RequestKind::kReuse, request_kind(out.data()));
  const ReuseRequest back = ReuseRequest::decode(out.data());
  EXPECT_EQ(0x1122334455667788ull, back.received);
  EXPECT_EQ(0xa1b2c3d4u, back.fingerprint);
}

TEST(Wire, AnyNonzeroCountIsAReuse) {
  // One byte set anywhere in the first eight makes it a reuse request.
  for (int k = 0; k < 8; ++k) {
    uint8_t first[8] = {};
    first[k] = 1;
    EXPECT_EQ(RequestKind::kReuse, request_kind(first)) << k;
  }
}

TEST(Wire, RepliesAndAuthCode) {
  std::vector<uint8_t> out;
  NewReply{0x00000000000000ffull, 0x8000000000000001ull}.encode(out);
  EXPECT_EQ(bytes({0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x80}), out);
  const NewReply nr = NewReply::decode(out.data());
  EXPECT_EQ(0xffull, nr.server_public);
  EXPECT_EQ(0x8000000000000001ull, nr.challenge);

  out.clear();
  ReuseReply{300, 0x0807060504030201ull}.encode(out);
  EXPECT_EQ(bytes({0x2c, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}), out);
  const ReuseReply rr = ReuseReply::decode(out.data());
  EXPECT_EQ(300u, rr.received);
  EXPECT_EQ(0x0807060504030201ull, rr.challenge);

  out.clear();
  AuthCode{0xfedcba9876543210ull}.encode(out);
  EXPECT_EQ(bytes({0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe}), out);
  EXPECT_EQ(0xfedcba9876543210ull, AuthCode::decode(out.data()).code);
}

TEST(Wire, EncodeAppends) {
  std::vector<uint8_t> out = bytes({0xaa});
  AuthCode{1}.encode(out);
  ASSERT_EQ(9u, out.size());
  EXPECT_EQ(0xaa, out[0]);
  EXPECT_EQ(1, out[1]);
}

TEST(Assembler, CollectsAcrossPiecesAndLeavesTheRest) {
  const std::string input = "0123456789abcdefXYZ";
  for (size_t piece = 1; piece <= input.size(); ++piece) {
    SCOPED_TRACE(piece);
    Assembler<16> a;
    std::string rest;
    bool done = false;
    for (size_t at = 0; at < input.size(); at += piece) {
      const uint8_t *p = reinterpret_cast<const uint8_t *>(input.data()) + at;
      size_t n = std::min(piece, input.size() - at);
      const bool was_done = done;
      done = a.fill(p, n, 16);
      if (was_done) EXPECT_TRUE(done);
      rest.append(reinterpret_cast<const char *>(p), n);
    }
    ASSERT_TRUE(done);
    EXPECT_EQ("0123456789abcdef", std::string(reinterpret_cast<const char *>(a.data()), a.size()));
    EXPECT_EQ("XYZ", rest) << "bytes beyond the message are left to the caller";
  }
}

TEST(Assembler, GrowsInStagesAndClears) {
  Assembler<16> a;
  const uint8_t data[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const uint8_t *p = data;
  size_t n = sizeof data;
  EXPECT_TRUE(a.fill(p, n, 8));
  EXPECT_EQ(4u, n) << "the first stage takes only what it wants";
  EXPECT_FALSE(a.fill(p, n, 16));
  EXPECT_EQ(0u, n);
  EXPECT_EQ(12u, a.size());
  a.clear();
  EXPECT_EQ(0u, a.size());
  size_t none = 0;
  EXPECT_FALSE(a.fill(p, none, 1));
}

}  // namespace
