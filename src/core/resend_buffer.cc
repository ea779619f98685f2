#include "core/resend_buffer.h"

#include <algorithm>

#include "base/copy.h"

namespace sc {

void ResendBuffer::reset(size_t window) {
  window_ = window;
  end_ = 0;
  capacity_ = 0;
  data_.reset();
}

void ResendBuffer::grow_for(size_t extra) {
  const size_t needed = std::min(window_, held() + extra);
  if (needed <= capacity_) return;
  size_t new_capacity = std::max<size_t>(capacity_ * 2, 64);
  new_capacity = std::max(new_capacity, needed);
  new_capacity = std::min(new_capacity, window_);
  std::unique_ptr<uint8_t[]> fresh(new uint8_t[new_capacity]);
  // Relinearize: the held bytes go to their offsets in the new ring.
  const Span old = range_from(begin());
  uint64_t pos = begin();
  for (const auto &part : {std::make_pair(old.first, old.first_size),
                           std::make_pair(old.second, old.second_size)}) {
    for (size_t k = 0; k < part.second;) {
      const size_t off = static_cast<size_t>(pos % new_capacity);
      const size_t chunk = std::min(part.second - k, new_capacity - off);
      copy_bytes(fresh.get() + off, part.first + k, chunk);
      k += chunk;
      pos += chunk;
    }
  }
  data_ = std::move(fresh);
  capacity_ = new_capacity;
}

void ResendBuffer::append(const uint8_t *data, size_t n) {
  if (window_ == 0 || n == 0) {
    end_ += n;
    return;
  }
  grow_for(n);
  // Only the last `capacity_` bytes of a large append can be kept.
  if (n > capacity_) {
    end_ += n - capacity_;
    data += n - capacity_;
    n = capacity_;
  }
  while (n > 0) {
    const size_t off = offset_of(end_);
    const size_t chunk = std::min(n, capacity_ - off);
    copy_bytes(data_.get() + off, data, chunk);
    data += chunk;
    n -= chunk;
    end_ += chunk;
  }
}

ResendBuffer::Span ResendBuffer::range_from(uint64_t from) const {
  Span span;
  const size_t n = static_cast<size_t>(end_ - from);
  if (n == 0 || capacity_ == 0) return span;
  const size_t off = offset_of(from);
  span.first = data_.get() + off;
  span.first_size = std::min(n, capacity_ - off);
  if (span.first_size < n) {
    span.second = data_.get();
    span.second_size = n - span.first_size;
  }
  return span;
}

}  // namespace sc
