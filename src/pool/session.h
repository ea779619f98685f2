// A session of the pool: one stable connection, attached to a socket or
// waiting for its client to come back. Version 1 protects its stream with
// the stream cipher and names positions in it by fingerprints.
#ifndef SC_POOL_SESSION_H
#define SC_POOL_SESSION_H

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <memory>
#include <new>

#include "base/config.h"
#include "base/prefetch.h"
#include "core/message_queue.h"
#include "core/send_state.h"
#include "v1/stream_cipher.h"
#ifdef SC_WITH_V2
#include "crypto/primitives.h"
#include "v2/link.h"
#include "v2/wire.h"
#endif

namespace sc {

// A session being created has no socket yet but was never detached.
constexpr uint64_t kNeverDetached = ~uint64_t{0};

// Fingerprints of the server->client stream at one 256-byte boundary, over
// the ciphertext (what this library's and the reference's servers record) and
// over the plaintext (what the reference's client computes).
struct Boundary {
  uint32_t cipher;
  uint32_t plain;
};

// Boundaries oldest first; most sessions hold one or two, a full window
// window / 256 + 2. A ring of any capacity, so that a full window takes what
// it needs rather than the next power of two (twice as much): it grows by
// doubling up to the most the window needs, and beyond only while one large
// send is recorded, after which shrink() gives the excess back.
class BoundaryRing {
 public:
  explicit BoundaryRing(size_t window) : most_(static_cast<uint32_t>(window / kBoundary + 2)) {}

  size_t size() const { return count_; }
  // Holding all the window needs: the next push would grow the ring.
  bool full() const { return count_ == cap_ && cap_ >= most_; }
  const Boundary &operator[](size_t k) const { return items_[wrap(head_ + k)]; }

  void push_back(Boundary b) {
    if (count_ == cap_) resize(cap_ == 0 ? 2 : cap_ < most_ ? std::min(2 * cap_, most_) : 2 * cap_);
    items_[wrap(head_ + count_)] = b;
    ++count_;
  }
  void pop_front() {
    head_ = static_cast<uint32_t>(wrap(head_ + 1));
    --count_;
  }
  // Starts loading the `n` oldest entries and the `n` slots after the
  // newest.
  void prefetch(size_t n) const {
    if (cap_ == 0) return;
    constexpr size_t kPerLine = kCacheLine / sizeof(Boundary);
    const size_t last = std::min<size_t>(n, cap_);
    for (size_t k = 0; k < last + kPerLine; k += kPerLine) {
      const size_t at = std::min(k, last - 1);
      sc::prefetch(&items_[(head_ + at) % cap_]);
      sc::prefetch(&items_[(head_ + count_ + at) % cap_]);
    }
  }
  // After a send larger than the window: back to what the window needs.
  // Without memory for the smaller ring, the larger one stays.
  void shrink() {
    if (cap_ > most_ && count_ <= most_) resize(most_, std::nothrow);
  }

 private:
  size_t wrap(size_t k) const { return k >= cap_ ? k - cap_ : k; }
  void resize(uint32_t cap) { move_to(std::unique_ptr<Boundary[]>(new Boundary[cap]), cap); }
  void resize(uint32_t cap, const std::nothrow_t &) {
    std::unique_ptr<Boundary[]> items(new (std::nothrow) Boundary[cap]);
    if (items) move_to(std::move(items), cap);
  }
  void move_to(std::unique_ptr<Boundary[]> items, uint32_t cap) {
    for (uint32_t k = 0; k < count_; ++k) items[k] = (*this)[k];
    items_ = std::move(items);
    cap_ = cap;
    head_ = 0;
  }

  std::unique_ptr<Boundary[]> items_;
  uint32_t cap_ = 0, head_ = 0, count_ = 0;
  uint32_t most_;
};

// What a version 1 session has beyond the common part: its two ciphers, and
// the fingerprints of its server->client stream at positions first_boundary,
// +256, ..., which the session table keeps in step with its index.
struct SessionV1 {
  SessionV1(uint64_t secret, size_t window)
      : boundaries(window), encoder(secret), decoder(encoder) {  // one keying, copied
    fp_cipher = fp_plain = encoder.initial_fingerprint();
  }

  uint64_t skip = 0;  // resent bytes on the new socket that were already received
  uint64_t first_boundary = 0;
  BoundaryRing boundaries;  // beside first_boundary: what a reuse lookup reads
  uint32_t fp_cipher;       // running fingerprints of the server->client stream
  uint32_t fp_plain;
  uint32_t unindexed = 0;  // the latest boundaries, not yet in the table's index
  StreamCipher encoder;    // server->client
  StreamCipher decoder;    // client->server
};

#ifdef SC_WITH_V2
// What a version 2 session has instead of version 1's cipher and
// fingerprints: its id and resume secret, its two streams, and whether the
// client's first record confirmed it yet.
struct SessionV2 {
  SessionV2(uint32_t window, uint32_t peer_window, v2::StorageCache *cache) : streams(window, peer_window, cache) {}
  ~SessionV2() { crypto::cleanse(secret, sizeof secret); }
  SessionV2(const SessionV2 &) = delete;
  SessionV2 &operator=(const SessionV2 &) = delete;

  v2::SessionId sid;
  uint8_t secret[v2::kResumeSecretSize] = {};
  v2::Streams streams;
  bool confirmed = false;
  uint64_t opened_ms = 0;  // when the pool learned of its first socket
  bool write_due = false;  // sent to since the pool last wrote its records
};
#else
struct SessionV2 {};  // never made without version 2
#endif

// The fields a resume and the data path read come first. Exactly one of v1
// and v2 is set once the session is made.
struct alignas(64) Session {
  Session(int id_, uint64_t secret_, size_t window) : out(window), id(id_), secret(secret_) {}

  uint64_t sent() const { return out.sent(); }
  bool attached() const { return fd >= 0; }

  SendState out;  // server->client: ciphertext held for resending
  int id;
  int fd = -1;            // -1: detached
  int slot = 0;           // of its hot record in the session table
  uint64_t secret;        // the DH shared secret, which auth codes prove
  uint64_t received = 0;  // client->server bytes decrypted
  uint64_t detached_at_ms = kNeverDetached;
  // Cold from here on.
  // Which detachment this is, in the session table's order; 0 while attached.
  uint64_t detach_serial = 0;
  std::unique_ptr<SessionV1> v1;
  std::unique_ptr<SessionV2> v2;
};

}  // namespace sc

#endif
