// An in-memory network for version 2 tests: a pool (src/pool/server.*) with
// a static key and this library's version 2 client, the bytes in flight
// between them lost when the connection breaks, and what the pool put out,
// delivered and reported, collected.
#ifndef SC_TESTS_V2_NET_H
#define SC_TESTS_V2_NET_H

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "base/random.h"
#include "client/client_v2.h"
#include "crypto/primitives.h"
#include "pool/server.h"

namespace v2net {

using Bytes = std::vector<uint8_t>;

// Restores the system's randomness when a test that injected its own ends.
struct Guard {
  ~Guard() {
    sc::set_random_source(sc::RandomSide::kServer, nullptr, nullptr);
    sc::set_random_source(sc::RandomSide::kClient, nullptr, nullptr);
  }
};

// What the pool put out, by fd, and what it delivered, by session.
struct Seen {
  std::map<int, Bytes> out;
  std::map<int, bool> closed;
  std::map<int, Bytes> in;
  std::vector<sc::PoolEvent> events;
};

inline void drain(sc::Server &pool, Seen &seen) {
  for (;;) {
    const sc::Server::Message m = pool.poll(true);
    if (m.kind == sc::Server::Kind::kEmpty) return;
    if (m.kind == sc::Server::Kind::kOut) {
      if (m.close)
        seen.closed[m.id] = true;
      else
        seen.out[m.id].insert(seen.out[m.id].end(), m.data, m.data + m.size);
    } else if (m.kind == sc::Server::Kind::kIn) {
      seen.in[m.id].insert(seen.in[m.id].end(), m.data, m.data + m.size);
    } else if (m.kind == sc::Server::Kind::kEvent) {
      seen.events.push_back(m.event);
    }
  }
}

// A deterministic random source (splitmix64) for both sides.
inline uint64_t fixed(void *state) {
  auto *s = static_cast<uint64_t *>(state);
  *s += 0x9e3779b97f4a7c15ull;
  uint64_t z = *s;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Net {
  sc::Server pool;
  std::unique_ptr<sc::ClientV2> client;
  Seen seen;
  Bytes client_got;
  bool client_ended = false;
  int fd = 100;
  Bytes to_pool, to_client;  // in flight
  uint8_t key[32], pub[32];
  std::mt19937 rng{3};

  explicit Net(size_t window = 65536) {
    for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i * 5 + 9);
    EXPECT_TRUE(sc::crypto::x25519_public(key, pub));
    EXPECT_TRUE(pool.set_static_key(key));
    pool.enable_events(true);
    client = std::make_unique<sc::ClientV2>(pub, window);
  }
  void pump_client() {
    for (;;) {
      const sc::ClientV2::Message m = client->poll(false);
      if (m.kind == sc::ClientV2::Message::Kind::kEmpty) break;
      if (m.kind == sc::ClientV2::Message::Kind::kOut) to_pool.insert(to_pool.end(), m.data, m.data + m.size);
      if (m.kind == sc::ClientV2::Message::Kind::kIn) {
        if (m.size == 0) client_ended = true;
        client_got.insert(client_got.end(), m.data, m.data + m.size);
      }
    }
  }
  void pump_pool() {
    drain(pool, seen);
    Bytes &o = seen.out[fd];
    to_client.insert(to_client.end(), o.begin(), o.end());
    o.clear();
  }
  // Moves what is in flight, in random pieces.
  void step() {
    pump_client();
    while (!to_pool.empty()) {
      const size_t n = std::min<size_t>(to_pool.size(), 1 + rng() % 5000);
      pool.receive(fd, to_pool.data(), n);
      to_pool.erase(to_pool.begin(), to_pool.begin() + static_cast<long>(n));
      pump_pool();
    }
    pump_pool();
    while (!to_client.empty()) {
      const size_t n = std::min<size_t>(to_client.size(), 1 + rng() % 5000);
      client->receive(to_client.data(), n);
      to_client.erase(to_client.begin(), to_client.begin() + static_cast<long>(n));
      pump_client();
    }
  }
  // The connection breaks with whatever is in flight lost; a new one resumes.
  void reconnect() {
    pump_client();
    pump_pool();
    to_pool.clear();
    to_client.clear();
    pool.socket_closed(fd);
    pump_pool();
    ++fd;
    client->handshake();
  }
  int session() const {
    for (const auto &e : seen.events)
      if (e.type == sc::PoolEventType::kSessionOpened) return e.id;
    return 0;
  }
};

}  // namespace v2net

#endif
