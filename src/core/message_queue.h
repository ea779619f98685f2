// The queues of outgoing and incoming messages, which the pool and the client
// share: a circular buffer that only grows, so steady-state traffic allocates
// nothing; a small cache of byte buffers that messages borrow and give back;
// and the message queue with the poll both sides hand their output through.
#ifndef SC_CORE_MESSAGE_QUEUE_H
#define SC_CORE_MESSAGE_QUEUE_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
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
  void clear() {
    erase_if([](const T &) { return true; });
  }

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
  // The largest storage kept: a 64 KiB message, and room for version 2's
  // record overhead around it.
  static constexpr size_t kMaxKeptCapacity = 64 * 1024 + 4096;

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
  std::vector<std::vector<uint8_t>> free_;
};

// Makes room for `extra` more bytes in a message buffer: doubling, as a vector
// does, but never past what BufferCache keeps while the message would still
// fit there, so that the storage serves the next message instead of being
// freed with it.
inline void grow_for(std::vector<uint8_t> &v, size_t extra) {
  const size_t need = v.size() + extra;
  if (need <= v.capacity()) return;
  size_t want = std::max(need, 2 * v.capacity());
  if (need <= BufferCache::kMaxKeptCapacity && want > BufferCache::kMaxKeptCapacity)
    want = BufferCache::kMaxKeptCapacity;
  v.reserve(want);
}

// Bytes for a socket, or the pool's request to close it.
struct OutMessage {
  int fd = -1;         // the pool's socket (the client has one socket: -1)
  bool close = false;  // the pool asks the application to close fd
  // The pool counted it in its socket's messages waiting to be polled (a
  // close always is).
  bool counted = false;
  std::vector<uint8_t> bytes;
  // The session whose stream these bytes carry (0: handshake bytes only),
  // and its position after them: polling hands the stream out that far.
  int session_id = 0;
  uint64_t stream_end = 0;
};

// Data for the application, the end of a client's connection, or an event.
template <typename Event>
struct InMessage {
  enum class What : uint8_t { kData, kEnd, kEvent };
  What what = What::kData;
  int id = 0;  // the pool's session id (0 on the client)
  std::vector<uint8_t> bytes;
  Event event;
};

// Everything a side has to hand out, in the order poll() returns it: all
// outgoing messages before any incoming one, each kind in order. What poll()
// returns stays valid until the next poll(). No message grows beyond
// kMaxMessage bytes: larger output or input is cut into several messages.
// The rings start with kRing slots: a client, with one socket, needs fewer
// than a pool.
template <typename Event, size_t kMaxMessage = std::numeric_limits<size_t>::max(), size_t kRing = 8>
class MessageQueue {
 public:
  struct Polled {
    enum class Kind { kEmpty, kOut, kIn, kEvent };
    Kind kind = Kind::kEmpty;
    int id = 0;  // kOut: the socket fd; kIn and kEvent: the session id
    bool close = false;
    const uint8_t *data = nullptr;  // nullptr when size is 0
    size_t size = 0;                // kIn with size 0: the client's end of the connection
    Event event;
  };

  // ---- output
  bool has_output() const { return !out_.empty(); }
  OutMessage &last_output() { return out_.back(); }
  // The bytes of the last message if it goes to `fd` and has room, else of a
  // new message, in which case *created is set.
  std::vector<uint8_t> &output_for(int fd, bool *created) {
    if (!out_.empty()) {
      OutMessage &last = out_.back();
      if (last.fd == fd && !last.close && last.bytes.size() < kMaxMessage) return last.bytes;
    }
    OutMessage m;
    m.fd = fd;
    m.bytes = buffers_.take();
    out_.push_back(std::move(m));
    if (created) *created = true;
    return out_.back().bytes;
  }
  void push_close(int fd) {
    OutMessage m;
    m.fd = fd;
    m.close = true;
    out_.push_back(std::move(m));
  }
  template <typename Pred>
  void drop_output_if(Pred drop) {
    out_.erase_if(drop);
  }
  void drop_output() { out_.clear(); }

  // ---- input
  // The bytes of the last message if it is data for `id` with room, else of
  // a new data message.
  std::vector<uint8_t> &input_for(int id) {
    if (!in_.empty()) {
      InMessage<Event> &last = in_.back();
      if (last.what == InMessage<Event>::What::kData && last.id == id && last.bytes.size() < kMaxMessage)
        return last.bytes;
    }
    InMessage<Event> m;
    m.id = id;
    m.bytes = buffers_.take();
    in_.push_back(std::move(m));
    return in_.back().bytes;
  }
  void push_event(int id, const Event &e) {
    InMessage<Event> m;
    m.what = InMessage<Event>::What::kEvent;
    m.id = id;
    m.event = e;
    in_.push_back(std::move(m));
  }
  void push_end() {
    InMessage<Event> m;
    m.what = InMessage<Event>::What::kEnd;
    in_.push_back(std::move(m));
  }
  static constexpr size_t max_message() { return kMaxMessage; }

  // One message per call. Queued events are returned only when
  // `with_events`, and skipped otherwise. Each outgoing message that leaves
  // the queue is shown to dequeued(message, handed_out) first: handed_out is
  // false for a data message a failed allocation left empty, which is
  // skipped (it must not read as a close).
  template <typename OnDequeued>
  Polled poll(bool with_events, OnDequeued &&dequeued) {
    Polled m;
    while (!out_.empty() && !out_.front().close && out_.front().bytes.empty()) {
      dequeued(out_.front(), false);
      buffers_.give(std::move(out_.front().bytes));  // its storage serves the next message
      out_.pop_front();
    }
    buffers_.give(std::move(current_));
    current_.clear();
    if (!out_.empty()) {
      OutMessage &o = out_.front();
      current_ = std::move(o.bytes);
      m.kind = Polled::Kind::kOut;
      m.id = o.fd;
      m.close = o.close;
      m.data = current_.empty() ? nullptr : current_.data();
      m.size = current_.size();
      dequeued(o, true);
      out_.pop_front();
      return m;
    }
    while (!in_.empty()) {
      InMessage<Event> &i = in_.front();
      if (i.what == InMessage<Event>::What::kEvent) {
        const Event e = i.event;
        const int id = i.id;
        in_.pop_front();
        if (!with_events) continue;
        m.kind = Polled::Kind::kEvent;
        m.id = id;
        m.event = e;
        return m;
      }
      current_ = std::move(i.bytes);
      m.kind = Polled::Kind::kIn;
      m.id = i.id;
      m.data = current_.empty() ? nullptr : current_.data();
      m.size = current_.size();
      in_.pop_front();
      return m;
    }
    return m;
  }

 private:
  RingQueue<OutMessage, kRing> out_;
  RingQueue<InMessage<Event>, kRing> in_;
  std::vector<uint8_t> current_;  // the bytes the last poll() handed out
  BufferCache buffers_;           // storage of handed-out messages, for the next ones
};

}  // namespace sc

#endif
