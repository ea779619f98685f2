// ResendBuffer: the last `window` bytes of a stream, in a ring that grows on
// demand, checked against a plain string holding the whole stream.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/resend_buffer.h"

namespace {

using sc::ResendBuffer;

std::string bytes_of(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto &c : s) c = static_cast<char>(gen());
  return s;
}

void append(ResendBuffer &b, const std::string &s) {
  b.append(reinterpret_cast<const uint8_t *>(s.data()), s.size());
}

std::string joined(const ResendBuffer::Span &span) {
  std::string s;
  if (span.first_size) s.append(reinterpret_cast<const char *>(span.first), span.first_size);
  if (span.second_size) s.append(reinterpret_cast<const char *>(span.second), span.second_size);
  return s;
}

// Everything a buffer reports, against the whole stream it was given.
::testing::AssertionResult matches(const ResendBuffer &b, const std::string &stream) {
  const size_t window = b.window();
  const size_t held = std::min(stream.size(), window);
  if (b.end() != stream.size()) return ::testing::AssertionFailure() << "end " << b.end() << " != " << stream.size();
  if (b.held() != held) return ::testing::AssertionFailure() << "held " << b.held() << " != " << held;
  if (b.begin() != stream.size() - held)
    return ::testing::AssertionFailure() << "begin " << b.begin() << " != " << stream.size() - held;
  if (b.capacity() < held || b.capacity() > window)
    return ::testing::AssertionFailure() << "capacity " << b.capacity() << " outside [" << held << ", " << window
                                         << "]";
  // Every position that can be resent, and its neighbours that cannot.
  const uint64_t begin = stream.size() - held;
  if (begin > 0 && b.holds_from(begin - 1)) return ::testing::AssertionFailure() << "holds from begin-1";
  if (b.holds_from(stream.size() + 1)) return ::testing::AssertionFailure() << "holds from end+1";
  // Positions worth checking: the ends, both sides of every point where the
  // ring wraps, and a spread in between (all of them for small buffers).
  std::vector<uint64_t> positions;
  if (held <= 300) {
    for (uint64_t p = begin; p <= stream.size(); ++p) positions.push_back(p);
  } else {
    for (uint64_t p : {begin, begin + 1, uint64_t{stream.size()} - 1, uint64_t{stream.size()}}) positions.push_back(p);
    if (b.capacity() > 0) {
      for (uint64_t w = begin - begin % b.capacity(); w <= stream.size() + 1; w += b.capacity()) {
        for (uint64_t p : {w - 1, w, w + 1})
          if (p >= begin && p <= stream.size()) positions.push_back(p);
      }
    }
    for (uint64_t k = 1; k < 16; ++k) positions.push_back(begin + held * k / 16);
  }
  for (uint64_t from : positions) {
    if (!b.holds_from(from)) return ::testing::AssertionFailure() << "does not hold from " << from;
    const ResendBuffer::Span span = b.range_from(from);
    if (span.first_size + span.second_size != stream.size() - from)
      return ::testing::AssertionFailure() << "range_from(" << from << ") has "
                                           << span.first_size + span.second_size << " bytes";
    if (span.second_size > 0 && span.first_size == 0)
      return ::testing::AssertionFailure() << "range_from(" << from << ") has an empty first part";
    if (joined(span) != stream.substr(static_cast<size_t>(from)))
      return ::testing::AssertionFailure() << "range_from(" << from << ") has the wrong bytes";
  }
  return ::testing::AssertionSuccess();
}

TEST(ResendBuffer, StartsEmptyWithoutStorage) {
  ResendBuffer b(4096);
  EXPECT_EQ(4096u, b.window());
  EXPECT_EQ(0u, b.end());
  EXPECT_EQ(0u, b.held());
  EXPECT_EQ(0u, b.begin());
  EXPECT_EQ(0u, b.capacity());
  EXPECT_TRUE(b.holds_from(0));
  EXPECT_FALSE(b.holds_from(1));
  const ResendBuffer::Span span = b.range_from(0);
  EXPECT_EQ(0u, span.first_size + span.second_size);
}

TEST(ResendBuffer, EmptyAppendChangesNothing) {
  ResendBuffer b(100);
  b.append(nullptr, 0);
  EXPECT_EQ(0u, b.end());
  EXPECT_EQ(0u, b.capacity());
  append(b, "abc");
  b.append(nullptr, 0);
  EXPECT_TRUE(matches(b, "abc"));
}

TEST(ResendBuffer, GrowsOnDemandNotToTheWindowAtOnce) {
  const size_t window = size_t{1} << 20;
  ResendBuffer b(window);
  std::string stream;
  const std::string small = bytes_of(10, 1);
  append(b, small);
  stream += small;
  EXPECT_GE(b.capacity(), 10u);
  EXPECT_LT(b.capacity(), window) << "a 10-byte stream allocated the whole window";
  size_t last = b.capacity();
  // Growing keeps the content and never shrinks.
  for (uint32_t k = 0; k < 12; ++k) {
    const std::string more = bytes_of(size_t{1} << (k + 6), k + 2);
    append(b, more);
    stream += more;
    ASSERT_GE(b.capacity(), last);
    last = b.capacity();
    ASSERT_GE(b.capacity(), stream.size());
    ASSERT_EQ(stream.substr(0), joined(b.range_from(0)));
  }
  EXPECT_LT(b.capacity(), window);
  EXPECT_EQ(stream.size(), b.held());
}

TEST(ResendBuffer, CapacityNeverExceedsTheWindow) {
  for (size_t window : {1u, 2u, 255u, 256u, 257u, 1000u, 4096u}) {
    SCOPED_TRACE(window);
    ResendBuffer b(window);
    std::string stream;
    for (uint32_t k = 0; k < 40; ++k) {
      const std::string more = bytes_of(k * 37 % 301 + 1, k);
      append(b, more);
      stream += more;
      ASSERT_LE(b.capacity(), window);
      ASSERT_TRUE(matches(b, stream));
    }
    EXPECT_EQ(window, b.capacity());  // 40 appends held more than the window
  }
}

TEST(ResendBuffer, HeldBeginEndAcrossTheWindow) {
  ResendBuffer b(1000);
  std::string stream;
  for (size_t n : {1u, 498u, 500u, 1u, 1u, 1u, 999u, 1000u, 1001u, 3u}) {
    const std::string more = bytes_of(n, static_cast<uint32_t>(n + stream.size()));
    append(b, more);
    stream += more;
    ASSERT_TRUE(matches(b, stream)) << "after " << stream.size() << " bytes";
  }
  EXPECT_EQ(stream.size(), b.end());
  EXPECT_EQ(1000u, b.held());
  EXPECT_EQ(stream.size() - 1000, b.begin());
}

TEST(ResendBuffer, RangeFromSplitsAtTheEndOfTheRing) {
  ResendBuffer b(256);
  const std::string first = bytes_of(256, 7);
  append(b, first);
  ASSERT_EQ(256u, b.capacity());
  // 100 more bytes overwrite the oldest 100: the ring now starts at offset 100.
  const std::string second = bytes_of(100, 8);
  append(b, second);
  const std::string stream = first + second;
  const ResendBuffer::Span all = b.range_from(b.begin());
  EXPECT_EQ(156u, all.first_size);
  EXPECT_EQ(100u, all.second_size);
  EXPECT_EQ(stream.substr(100), joined(all));
  // From exactly the wrap point on, one part.
  const ResendBuffer::Span tail = b.range_from(256);
  EXPECT_EQ(100u, tail.first_size);
  EXPECT_EQ(0u, tail.second_size);
  EXPECT_EQ(second, joined(tail));
  // One byte before it: one byte, then the rest.
  const ResendBuffer::Span straddle = b.range_from(255);
  EXPECT_EQ(1u, straddle.first_size);
  EXPECT_EQ(100u, straddle.second_size);
  EXPECT_EQ(stream.substr(255), joined(straddle));
  EXPECT_TRUE(matches(b, stream));
}

TEST(ResendBuffer, AppendLargerThanTheWindowKeepsItsTail) {
  for (size_t window : {1u, 255u, 1000u, 4096u}) {
    SCOPED_TRACE(window);
    ResendBuffer b(window);
    std::string stream = bytes_of(window / 3 + 1, 1);
    append(b, stream);
    const std::string big = bytes_of(window * 3 + 7, 2);
    append(b, big);
    stream += big;
    EXPECT_EQ(window, b.held());
    EXPECT_EQ(big.substr(big.size() - window), joined(b.range_from(b.begin())));
    EXPECT_TRUE(matches(b, stream));
    // And a large append into an empty buffer.
    ResendBuffer fresh(window);
    append(fresh, big);
    EXPECT_TRUE(matches(fresh, big));
    // Exactly the window, and one more.
    ResendBuffer exact(window);
    const std::string w = bytes_of(window, 3);
    append(exact, w);
    EXPECT_TRUE(matches(exact, w));
    const std::string one = bytes_of(1, 4);
    append(exact, one);
    EXPECT_TRUE(matches(exact, w + one));
  }
}

TEST(ResendBuffer, WindowOfOneByte) {
  ResendBuffer b(1);
  std::string stream;
  for (char c : std::string("hello, ring")) {
    append(b, std::string(1, c));
    stream += c;
    ASSERT_TRUE(matches(b, stream));
    EXPECT_EQ(std::string(1, c), joined(b.range_from(b.end() - 1)));
  }
  append(b, "xyz");
  stream += "xyz";
  EXPECT_TRUE(matches(b, stream));
  EXPECT_EQ("z", joined(b.range_from(b.begin())));
}

// Random appends against the model for odd and even windows: the ring wraps
// many times and grows while wrapped.
class ResendBufferModel : public ::testing::TestWithParam<size_t> {};

TEST_P(ResendBufferModel, RandomAppendsMatchTheStream) {
  const size_t window = GetParam();
  std::mt19937 gen(static_cast<uint32_t>(window) * 7919u + 1);
  ResendBuffer b(window);
  std::string stream;
  for (int step = 0; step < 300; ++step) {
    size_t n;
    switch (gen() % 6) {
      case 0:
        n = 1;
        break;
      case 1:
        n = gen() % (window + 2);  // up to window + 1
        break;
      case 2:
        n = window + gen() % 3;  // around the window
        break;
      default:
        n = gen() % 64;
        break;
    }
    const std::string more = bytes_of(n, gen());
    append(b, more);
    stream += more;
    ASSERT_TRUE(matches(b, stream)) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Windows, ResendBufferModel,
                         ::testing::Values(size_t{1}, size_t{2}, size_t{3}, size_t{255}, size_t{256}, size_t{257},
                                           size_t{1000}, size_t{4096}),
                         [](const ::testing::TestParamInfo<size_t> &param) {
                           return "W" + std::to_string(param.param);
                         });

TEST(ResendBuffer, GrowthWhileTheRingHasWrapped) {
  // Fill a small ring past its first allocation in uneven steps so that the
  // held bytes are split in the old storage when it grows.
  ResendBuffer b(5000);
  std::string stream;
  for (size_t n : {200u, 100u, 300u, 10u, 700u, 1u, 1500u, 2000u, 999u, 4999u, 2u}) {
    const std::string more = bytes_of(n, static_cast<uint32_t>(stream.size()));
    append(b, more);
    stream += more;
    ASSERT_TRUE(matches(b, stream)) << "after " << stream.size() << " bytes";
  }
}

TEST(ResendBuffer, ResetStartsANewStream) {
  ResendBuffer b(300);
  append(b, bytes_of(1000, 1));
  b.reset(50);
  EXPECT_EQ(50u, b.window());
  EXPECT_EQ(0u, b.end());
  EXPECT_EQ(0u, b.held());
  EXPECT_EQ(0u, b.capacity());
  EXPECT_TRUE(b.holds_from(0));
  EXPECT_FALSE(b.holds_from(1));
  const std::string s = bytes_of(120, 2);
  append(b, s);
  EXPECT_TRUE(matches(b, s));
}

TEST(ResendBuffer, LongStreamPositionsStayExact) {
  // Positions are 64-bit stream offsets, not ring offsets.
  ResendBuffer b(1000);
  const std::string chunk = bytes_of(999, 5);
  for (int k = 0; k < 2000; ++k) append(b, chunk);
  EXPECT_EQ(uint64_t{999} * 2000, b.end());
  EXPECT_EQ(b.end() - 1000, b.begin());
  // The last 1000 bytes: the last byte of the previous chunk, then the chunk.
  EXPECT_EQ(chunk.substr(998) + chunk, joined(b.range_from(b.begin())));
  EXPECT_EQ(chunk.substr(500), joined(b.range_from(b.end() - 499)));
}

}  // namespace
