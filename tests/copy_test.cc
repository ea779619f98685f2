// The data path's copy helpers (src/base/copy.h): exact copies at every
// distance between source and destination, the slow case among them, and
// nothing written outside the destination.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "base/copy.h"

namespace {

using Bytes = std::vector<uint8_t>;
using sc::copy_detail::slow_for_memcpy;

// A page-aligned place inside `buf` with at least `room` bytes after it.
uint8_t *page_in(Bytes &buf, size_t room) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(buf.data());
  uint8_t *p = buf.data() + ((4096 - (base & 4095)) & 4095);
  EXPECT_LE(static_cast<size_t>(p - buf.data()) + room, buf.size());
  return p;
}

TEST(Copy, TheSlowCaseIsALongCopyJustPastItsSourceWithinAPage) {
  Bytes buf(64 * 1024);
  uint8_t *src = page_in(buf, 40 * 1024);
  EXPECT_TRUE(slow_for_memcpy(src + 5, src, 4096));
  EXPECT_TRUE(slow_for_memcpy(src + 8192 + 5, src, 4096));
  EXPECT_TRUE(slow_for_memcpy(src + 63, src, 2048));
  EXPECT_TRUE(slow_for_memcpy(src + 1, src + 4096, 2048)) << "4095 bytes before: 1 past, modulo the page";
  EXPECT_FALSE(slow_for_memcpy(src + 4096, src, 4096)) << "the same place in another page";
  EXPECT_FALSE(slow_for_memcpy(src + 64, src, 4096));
  EXPECT_FALSE(slow_for_memcpy(src + 4091, src, 4096)) << "5 bytes before";
  EXPECT_FALSE(slow_for_memcpy(src + 5, src, 2047)) << "short copies never use rep movsb";
}

TEST(Copy, EveryDistanceAndLengthCopiesExactly) {
  Bytes buf(256 * 1024);
  uint8_t *src = page_in(buf, 200 * 1024);
  const size_t lengths[] = {0, 1, 31, 32, 33, 2047, 2048, 2049, 4096, 4101, 65536 + 7};
  const size_t gaps[] = {0, 1, 2, 5, 14, 31, 32, 63, 64, 100, 4095};
  for (size_t n : lengths) {
    for (size_t g : gaps) {
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint8_t>(i * 7 + g);
      uint8_t *dst = src + 69632 + 8192 + g;  // 17 + 2 pages past: no overlap for any length here
      ASSERT_LE(static_cast<size_t>(dst + n + 1 - buf.data()), buf.size());
      dst[-1] = 0xa5;
      dst[n] = 0x5a;
      sc::copy_bytes(dst, src, n);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], src[i]) << "length " << n << " gap " << g << " at " << i;
      EXPECT_EQ(dst[-1], 0xa5) << "length " << n << " gap " << g;
      EXPECT_EQ(dst[n], 0x5a) << "length " << n << " gap " << g;
    }
  }
}

TEST(Copy, AppendMatchesInsertWhetherOrNotTheCaseIsSlow) {
  Bytes buf(64 * 1024);
  uint8_t *base = page_in(buf, 40 * 1024);
  for (size_t n : {size_t{100}, size_t{4096}, size_t{5000}}) {
    for (bool room : {true, false}) {
      Bytes v(10, 0x11);
      if (room) v.reserve(10 + n);
      // A source 5 bytes before the vector's end, modulo the page: the slow
      // case when the vector has room.
      const uintptr_t end = reinterpret_cast<uintptr_t>(v.data() + v.size());
      uint8_t *src = base + 4096 + ((end - 5) & 4095);
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint8_t>(i ^ (i >> 8));
      if (room) EXPECT_EQ(slow_for_memcpy(v.data() + v.size(), src, n), n >= 2048);
      Bytes want = v;
      want.insert(want.end(), src, src + n);
      sc::append_bytes(v, src, n);
      EXPECT_EQ(v, want) << n << (room ? " with room" : " growing");
    }
  }
}

}  // namespace
