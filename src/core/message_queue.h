// The queues of outgoing and incoming messages: a circular buffer that only
// grows, so steady-state traffic allocates nothing, and a small cache of byte
// buffers that messages borrow and give back.
#ifndef SC_CORE_MESSAGE_QUEUE_H
#define SC_CORE_MESSAGE_QUEUE_H

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace sc {

// FIFO of T over a power-of-two ring of at least kInitial slots.
template <typename T, size_t kInitial = 8>
class RingQueue {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  T &front() { return items_[head_]; }
  T &back() { return items_[(head_ + count_ - 1) & (items_.size() - 1)]; }
  T &operator[](size_t k) { return items_[(head_ + k) & (items_.size() - 1)]; }
  const T &operator[](size_t k) const { return items_[(head_ + k) & (items_.size() - 1)]; }

  void push_back(T item) {
    if (count_ == items_.size()) grow();
    items_[(head_ + count_) & (items_.size() - 1)] = std::move(item);
    ++count_;
  }
  void pop_front() {
    items_[head_] = T();
    head_ = (head_ + 1) & (items_.size() - 1);
    if (--count_ == 0) release_if_large();
  }
  // Removes every item for which drop(item) is true, keeping the order.
  template <typename Pred>
  void erase_if(Pred drop) {
    size_t kept = 0;
    for (size_t k = 0; k < count_; ++k) {
      T &item = (*this)[k];
      if (drop(item)) continue;
      if (kept != k) (*this)[kept] = std::move(item);
      ++kept;
    }
    for (size_t k = kept; k < count_; ++k) (*this)[k] = T();
    count_ = kept;
    if (count_ == 0) release_if_large();
  }
  void clear() { erase_if([](const T &) { return true; }); }

 private:
  // A burst (say, a timeout closing thousands of sockets) must not pin its
  // peak size; small rings are kept so steady traffic never reallocates.
  void release_if_large() {
    if (items_.size() > 64) {
      std::vector<T>().swap(items_);
      head_ = 0;
    }
  }
  void grow() {
    std::vector<T> bigger(items_.empty() ? kInitial : items_.size() * 2);
    for (size_t k = 0; k < count_; ++k) bigger[k] = std::move((*this)[k]);
    items_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> items_;
  size_t head_ = 0;
  size_t count_ = 0;
};

// Byte buffers whose storage is kept for the next message.
class BufferCache {
 public:
  std::vector<uint8_t> take() {
    if (free_.empty()) return {};
    std::vector<uint8_t> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(std::vector<uint8_t> &&b) {
    if (b.capacity() == 0 || b.capacity() > kMaxKeptCapacity || free_.size() >= kMaxKept) return;
    b.clear();
    free_.push_back(std::move(b));
  }

 private:
  static constexpr size_t kMaxKept = 4;
  static constexpr size_t kMaxKeptCapacity = 64 * 1024;
  std::vector<std::vector<uint8_t>> free_;
};

}  // namespace sc

#endif
