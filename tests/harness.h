// An in-memory network for the tests: one connection_pool, any number of
// clients, each on a numbered "socket" whose bytes sit in a wire until the test
// delivers them (whole, one byte at a time, or in random pieces) or throws them
// away (bytes that died with a broken TCP connection).
#ifndef SC_TESTS_HARNESS_H
#define SC_TESTS_HARNESS_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/client.h"
#include "base/config.h"
#include "connectionclient.h"
#include "connectionserver.h"
#include "v1/dh64.h"
#include "v1/hash64.h"
#include "v1/stream_cipher.h"
#include "stable_connection.h"
#include "stable_connection_testing.h"

namespace harness {

// ------------------------------------------------------------------ bytes

inline std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int k = 0; k < 8; ++k) s[k] = static_cast<char>(v >> (8 * k));
  return s;
}

inline std::string le32(uint32_t v) {
  std::string s(4, '\0');
  for (int k = 0; k < 4; ++k) s[k] = static_cast<char>(v >> (8 * k));
  return s;
}

inline uint64_t get_le64(const std::string &s, size_t at) {
  uint64_t v = 0;
  for (int k = 7; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(s.at(at + k));
  return v;
}

inline uint32_t get_le32(const std::string &s, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(s.at(at + k));
  return v;
}

// n pseudo-random bytes; different seeds give different strings.
inline std::string make_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
  for (size_t k = 0; k < n; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[k] = static_cast<char>(x >> 24);
  }
  return s;
}

// Compares two byte streams and names the first difference instead of
// printing kilobytes of both.
inline ::testing::AssertionResult same_stream(const std::string &got, const std::string &want) {
  const size_t common = std::min(got.size(), want.size());
  for (size_t k = 0; k < common; ++k) {
    if (got[k] != want[k])
      return ::testing::AssertionFailure()
             << "streams differ at byte " << k << " (got " << got.size() << " bytes, want " << want.size()
             << ")";
  }
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                         << " (equal up to the shorter)";
  return ::testing::AssertionSuccess();
}

// The fingerprint of protocol version 1, computed here without the library's
// helpers: f = rotl32(f, 4) ^ byte, over `data`, starting from `f`.
inline uint32_t fold_fingerprint(uint32_t f, const std::string &data) {
  for (unsigned char b : data) f = ((f << 4) | (f >> 28)) ^ b;
  return f;
}

// ------------------------------------------------------------------ randomness

// Installs a seeded generator as the source of both sides' keys and
// challenges, recording every draw; restores getrandom() when destroyed.
class FixedRandom {
 public:
  explicit FixedRandom(uint64_t seed) {
    src_[0].state = seed * 2 + 1;
    src_[1].state = seed * 2 + 0x51ed270b;
    EXPECT_EQ(SC_OK, sc_testing_set_random(SC_RANDOM_SERVER, &FixedRandom::next, &src_[0]));
    EXPECT_EQ(SC_OK, sc_testing_set_random(SC_RANDOM_CLIENT, &FixedRandom::next, &src_[1]));
  }
  ~FixedRandom() {
    sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr);
    sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr);
  }
  FixedRandom(const FixedRandom &) = delete;
  FixedRandom &operator=(const FixedRandom &) = delete;

  const std::vector<uint64_t> &server_draws() const { return src_[0].draws; }
  const std::vector<uint64_t> &client_draws() const { return src_[1].draws; }

 private:
  struct Source {
    uint64_t state = 0;
    std::vector<uint64_t> draws;
  };
  static uint64_t next(void *p) {
    auto *s = static_cast<Source *>(p);
    uint64_t z = (s->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    s->draws.push_back(z);
    return z;
  }
  Source src_[2];
};

// ------------------------------------------------------------------ clients

// The client side as the harness drives it: the C API, or the internal
// sc::Client (which can compute reuse fingerprints as the reference did).
class ClientEnd {
 public:
  virtual ~ClientEnd() = default;
  virtual void send(const char *data, size_t n) = 0;
  virtual void recv(const char *data, size_t n) = 0;  // (NULL, 0): drop
  virtual void handshake() = 0;
  virtual int poll(connection_message *m) = 0;
  virtual int set_window(size_t bytes) = 0;
};

class CApiClient : public ClientEnd {
 public:
  CApiClient() : c_(cc_open()) { EXPECT_NE(nullptr, c_); }
  ~CApiClient() override { cc_close(c_); }
  void send(const char *data, size_t n) override { cc_send(c_, data, n); }
  void recv(const char *data, size_t n) override { cc_recv(c_, data, n); }
  void handshake() override { cc_handshake(c_); }
  int poll(connection_message *m) override { return cc_poll(c_, m); }
  int set_window(size_t bytes) override { return sc_client_set_window(c_, bytes); }
  connection *get() { return c_; }

 private:
  connection *c_;
};

class InternalClient : public ClientEnd {
 public:
  explicit InternalClient(sc::Client::FingerprintForm form, size_t window = sc::kDefaultWindow)
      : client_(window) {
    client_.set_fingerprint_form(form);
  }
  void send(const char *data, size_t n) override {
    client_.send(reinterpret_cast<const uint8_t *>(data), n);
  }
  void recv(const char *data, size_t n) override {
    if (n == 0)  // as cc_recv: size 0 drops the connection, whatever the buffer
      client_.drop();
    else
      client_.receive(reinterpret_cast<const uint8_t *>(data), n);
  }
  void handshake() override { client_.handshake(); }
  int poll(connection_message *m) override {
    const sc::Client::Message msg = client_.poll();
    if (msg.kind == sc::Client::Kind::kEmpty) return MESSAGE_EMPTY;
    m->sz = static_cast<int>(msg.size);
    m->buffer = reinterpret_cast<const char *>(msg.data);
    return msg.kind == sc::Client::Kind::kOut ? MESSAGE_OUT : MESSAGE_IN;
  }
  int set_window(size_t bytes) override {
    if (!sc::valid_window(bytes)) return SC_ERR_INVALID_ARGUMENT;
    return client_.set_window(bytes) ? SC_OK : SC_ERR_INVALID_STATE;
  }
  sc::Client &core() { return client_; }

 private:
  sc::Client client_;
};

// ------------------------------------------------------------------ the pool

struct PoolDeleter {
  void operator()(connection_pool *cp) const { cp_delete(cp); }
};
using PoolPtr = std::unique_ptr<connection_pool, PoolDeleter>;

// Bytes in flight, consumed from the front.
class Wire {
 public:
  void append(const char *p, size_t n) { buf_.append(p, n); }
  size_t size() const { return buf_.size() - at_; }
  bool empty() const { return size() == 0; }
  std::string take(size_t n) {
    n = std::min(n, size());
    std::string piece = buf_.substr(at_, n);
    at_ += n;
    if (at_ == buf_.size() || at_ > (1u << 16)) {
      buf_.erase(0, at_);
      at_ = 0;
    }
    return piece;
  }
  std::string take_all() { return take(size()); }
  void clear() {
    buf_.clear();
    at_ = 0;
  }

 private:
  std::string buf_;
  size_t at_ = 0;
};

// Polls a pool and sorts what comes out: bytes per fd, closes, data per
// session. Checks on every drain that no OUT message follows an IN message.
class PoolTap {
 public:
  explicit PoolTap(connection_pool *cp) : cp_(cp) {}

  // Polls until POOL_EMPTY; true if anything came out.
  bool drain() {
    bool any = false;
    bool seen_in = false;
    pool_message m;
    for (;;) {
      std::memset(&m, 0, sizeof m);
      const int r = cp_poll(cp_, &m);
      if (r == POOL_EMPTY) break;
      any = true;
      if (r == POOL_OUT) {
        EXPECT_FALSE(seen_in) << "POOL_OUT after POOL_IN in one drain";
        if (m.sz == 0) {
          closes.push_back(m.id);
        } else {
          EXPECT_NE(nullptr, m.buffer);
          wires[m.id].append(m.buffer, m.sz);
          written[m.id].append(m.buffer, m.sz);
        }
      } else {
        EXPECT_EQ(POOL_IN, r);
        seen_in = true;
        EXPECT_GT(m.id, 0);
        EXPECT_GT(m.sz, 0u);
        if (m.sz > 0) in[m.id].append(m.buffer, m.sz);
        in_order.push_back(m.id);
      }
    }
    return any;
  }

  // Feeds bytes to the pool as read from socket fd (copied, so that reading
  // past the end would be caught by the sanitizers), then drains.
  void recv(int fd, const std::string &bytes) {
    std::unique_ptr<char[]> copy(new char[bytes.size() ? bytes.size() : 1]);
    std::memcpy(copy.get(), bytes.data(), bytes.size());
    cp_recv(cp_, fd, copy.get(), bytes.size());
    drain();
  }
  // One byte per call.
  void recv_bytes(int fd, const std::string &bytes) {
    for (char c : bytes) recv(fd, std::string(1, c));
  }
  void closed(int fd) {
    cp_recv(cp_, fd, nullptr, 0);
    drain();
  }

  int close_count(int fd) const {
    int n = 0;
    for (int c : closes) n += c == fd;
    return n;
  }
  bool was_closed(int fd) const { return close_count(fd) > 0; }
  std::string take(int fd) { return wires[fd].take_all(); }

  connection_pool *pool() const { return cp_; }

  std::map<int, Wire> wires;           // bytes written to each fd, not yet consumed
  std::map<int, std::string> written;  // every byte ever written to each fd
  std::vector<int> closes;             // fds the pool closed, in order
  std::map<int, std::string> in;       // data received, per session id
  std::vector<int> in_order;           // session id of each POOL_IN

 private:
  connection_pool *cp_;
};

// ------------------------------------------------------------------ a link

enum class Split { kWhole, kSingle, kRandom };

// One client talking to the pool through a socket numbered fd(), which the
// test can break and replace.
class Link {
 public:
  Link(PoolTap &tap, std::unique_ptr<ClientEnd> client, int fd, int id, uint64_t seed = 1)
      : tap_(tap), client_(std::move(client)), fd_(fd), id_(id), rng_(seed), seed_(seed * 1000003) {}

  ClientEnd &client() { return *client_; }
  int fd() const { return fd_; }
  int id() const { return id_; }
  void set_id(int id) { id_ = id; }
  void set_split(Split s) { split_ = s; }

  // Application data, recorded so the test can compare what arrived.
  void client_send(const std::string &data) {
    if (data.empty()) return;  // cc_send(.., 0) means cc_handshake
    client_->send(data.data(), data.size());
    client_sent += data;
  }
  void server_send(const std::string &data) {
    if (data.empty()) return;  // cp_send(.., 0) closes the session
    cp_send(tap_.pool(), id_, data.data(), data.size());
    server_sent += data;
  }
  std::string client_send(size_t n) {
    std::string d = make_bytes(n, ++seed_);
    client_send(d);
    return d;
  }
  std::string server_send(size_t n) {
    std::string d = make_bytes(n, ++seed_ + 0x5555);
    server_send(d);
    return d;
  }

  // What the server application received on this link's session.
  const std::string &server_got() { return tap_.in[id_]; }

  // Moves what the client and the pool have to send onto the wires without
  // delivering anything; true if anything moved.
  bool collect() {
    bool moved = false;
    bool seen_in = false;
    connection_message m;
    for (;;) {
      std::memset(&m, 0, sizeof m);
      const int r = client_->poll(&m);
      if (r == MESSAGE_EMPTY) break;
      moved = true;
      if (r == MESSAGE_OUT) {
        EXPECT_FALSE(seen_in) << "MESSAGE_OUT after MESSAGE_IN in one drain";
        EXPECT_GT(m.sz, 0);
        if (m.sz > 0) {
          c2s_.append(m.buffer, static_cast<size_t>(m.sz));
          c2s_log[fd_].append(m.buffer, static_cast<size_t>(m.sz));
        }
      } else {
        EXPECT_EQ(MESSAGE_IN, r);
        seen_in = true;
        EXPECT_GE(m.sz, 0);
        if (m.sz == 0)
          ++client_deaths;
        else
          client_got.append(m.buffer, static_cast<size_t>(m.sz));
      }
    }
    if (tap_.drain()) moved = true;
    return moved;
  }

  // Delivers at most n bytes client->server; returns how many.
  size_t deliver_c2s(size_t n = SIZE_MAX) {
    collect();
    size_t done = 0;
    while (done < n && !c2s_.empty()) {
      const std::string piece = c2s_.take(std::min(n - done, chunk(c2s_.size())));
      tap_.recv(fd_, piece);
      done += piece.size();
    }
    collect();
    return done;
  }
  // Delivers at most n bytes server->client; returns how many.
  size_t deliver_s2c(size_t n = SIZE_MAX) {
    collect();
    size_t done = 0;
    Wire &w = tap_.wires[fd_];
    while (done < n && !w.empty()) {
      const std::string piece = w.take(std::min(n - done, chunk(w.size())));
      std::unique_ptr<char[]> copy(new char[piece.size()]);
      std::memcpy(copy.get(), piece.data(), piece.size());
      client_->recv(copy.get(), piece.size());
      s2c_log[fd_] += piece;
      done += piece.size();
    }
    collect();
    return done;
  }

  // Delivers both ways until nothing moves.
  void pump() {
    for (int rounds = 0;; ++rounds) {
      ASSERT_LT(rounds, 10000000) << "the link does not settle";
      bool moved = collect();
      if (!c2s_.empty()) {
        tap_.recv(fd_, c2s_.take(chunk(c2s_.size())));
        moved = true;
      }
      Wire &w = tap_.wires[fd_];
      if (!w.empty()) {
        const std::string piece = w.take(chunk(w.size()));
        std::unique_ptr<char[]> copy(new char[piece.size()]);
        std::memcpy(copy.get(), piece.data(), piece.size());
        client_->recv(copy.get(), piece.size());
        s2c_log[fd_] += piece;
        moved = true;
      }
      if (!moved) break;
    }
  }

  // The socket breaks: what both sides had handed out and was not delivered
  // is lost.
  void lose_in_flight() {
    collect();
    lose_c2s();
    lose_s2c();
  }
  void lose_c2s() { c2s_.clear(); }
  void lose_s2c() { tap_.wires[fd_].clear(); }
  size_t c2s_pending() const { return c2s_.size(); }
  size_t s2c_pending() { return tap_.wires[fd_].size(); }
  // Takes the undelivered client->server bytes off the wire (to be delivered
  // late by hand).
  std::string take_c2s() {
    collect();
    return c2s_.take_all();
  }

  // The application connects a new socket: optionally tells the pool the old
  // one is gone, calls cc_handshake and moves to new_fd. Anything still on the
  // old wires is lost. Delivers nothing.
  void switch_socket(int new_fd, bool tell_pool) {
    if (tell_pool) cp_recv(tap_.pool(), fd_, nullptr, 0);
    c2s_.clear();
    tap_.wires[fd_].clear();
    client_->handshake();
    fd_ = new_fd;
  }
  void reconnect(int new_fd, bool tell_pool = true) {
    switch_socket(new_fd, tell_pool);
    pump();
  }

  std::string client_sent;  // everything the client application sent
  std::string server_sent;  // everything cp_send was given for this session
  std::string client_got;   // what the client application received
  int client_deaths = 0;    // MESSAGE_IN of size 0
  std::map<int, std::string> c2s_log;  // bytes the client wrote, per socket
  std::map<int, std::string> s2c_log;  // bytes the client read, per socket

 private:
  size_t chunk(size_t available) {
    switch (split_) {
      case Split::kWhole:
        return available;
      case Split::kSingle:
        return 1;
      case Split::kRandom:
        break;
    }
    // Mostly small pieces, sometimes large ones.
    std::uniform_int_distribution<size_t> small(1, 40);
    std::uniform_int_distribution<size_t> any(1, available);
    return std::min(available, rng_() % 4 == 0 ? any(rng_) : small(rng_));
  }

  PoolTap &tap_;
  std::unique_ptr<ClientEnd> client_;
  int fd_;
  int id_;
  Split split_ = Split::kWhole;
  std::mt19937_64 rng_;
  uint64_t seed_;
  Wire c2s_;
};

inline std::unique_ptr<ClientEnd> capi_client(size_t window = 0) {
  auto c = std::make_unique<CApiClient>();
  if (window) {
    EXPECT_EQ(SC_OK, c->set_window(window));
  }
  return c;
}

inline std::unique_ptr<ClientEnd> old_client(size_t window = sc::kDefaultWindow) {
  return std::make_unique<InternalClient>(sc::Client::FingerprintForm::kPlaintext, window);
}

// The DH secret of a session, from the client's private key and the server's
// public key (the first 8 bytes the server sent on a new connection).
inline uint64_t session_secret(uint64_t client_private, const std::string &server_reply) {
  return sc::dh64::shared_secret(get_le64(server_reply, 0), client_private);
}

}  // namespace harness

#endif
