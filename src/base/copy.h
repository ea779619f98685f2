// Copies of application data on the data path.
//
// glibc's memcpy moves a copy of a few kilobytes and more with `rep movsb`.
// AMD's Zen processors run that instruction three to four times slower when
// the destination lies a few bytes past the source modulo 4096 (a 4 KiB copy
// measured 190 to 230 ns there against 55 to 70 ns otherwise, on the machine
// the benchmarks ran on, with glibc 2.36). The data path meets that case
// whenever two of its buffers share their place within a page: a record's
// payload sits a few header bytes past the stream storage it comes from, a
// message a few frame bytes past the record it arrived in. These helpers
// copy such a range with plain vector moves and hand every other copy to
// memcpy.
#ifndef SC_BASE_COPY_H
#define SC_BASE_COPY_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sc {

namespace copy_detail {

// Copies at least this long may be made with `rep movsb` (glibc's threshold
// is 2112 bytes or more, depending on the processor).
constexpr size_t kLongCopy = 2048;
// Destinations this few bytes past the source, modulo kPage, are the slow
// case (measured: 1 to 31; the margin covers wider moves).
constexpr uintptr_t kPage = 4096;
constexpr uintptr_t kNear = 64;
constexpr size_t kBlock = 32;

inline bool slow_for_memcpy(const void *dst, const void *src, size_t n) {
  const uintptr_t gap = (reinterpret_cast<uintptr_t>(dst) - reinterpret_cast<uintptr_t>(src)) & (kPage - 1);
  return n >= kLongCopy && gap != 0 && gap < kNear;
}

// The slow case's copy: plain vector moves, 32 bytes at a time.
inline void copy_blocks(uint8_t *dst, const uint8_t *src, size_t n) {
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) __builtin_memcpy(dst + i, src + i, kBlock);
  if (i < n) std::memcpy(dst + i, src + i, n - i);
}

}  // namespace copy_detail

// As memcpy(dst, src, n): the ranges must not overlap.
inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
  if (copy_detail::slow_for_memcpy(dst, src, n))
    copy_detail::copy_blocks(dst, src, n);
  else if (n)
    std::memcpy(dst, src, n);
}

// As v.insert(v.end(), p, p + n), for p outside v.
inline void append_bytes(std::vector<uint8_t> &v, const uint8_t *p, size_t n) {
  const size_t at = v.size();
  if (v.capacity() - at >= n && copy_detail::slow_for_memcpy(v.data() + at, p, n)) {
    v.resize(at + n);
    copy_detail::copy_blocks(v.data() + at, p, n);
    return;
  }
  v.insert(v.end(), p, p + n);
}

}  // namespace sc

#endif
