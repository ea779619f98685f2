// Version 2 through the pool (src/pool/server.*): the recorded exchanges of
// tests/data/v2_sessions.json replayed server side, whole, byte by byte and
// in random pieces (every answer and status byte as recorded, the recorded
// data delivered, the recorded events); and the pool with this library's
// version 2 client over an in-memory network that loses what is in flight
// when a connection breaks. Version 1 clients keep working on the same pool.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/random.h"
#include "client/client.h"
#include "client/client_v2.h"
#include "crypto/primitives.h"
#include "json.h"
#include "pool/server.h"
#include "v2/wire.h"

namespace {

using Bytes = std::vector<uint8_t>;
using testjson::hex_bytes;
namespace v2 = sc::v2;

const testjson::Value &exchanges() {
  static const testjson::Value v =
      testjson::load_file(std::string(SC_TEST_DATA_DIR) + "/v2_sessions.json")["exchanges"];
  return v;
}

uint64_t num(const testjson::Value &v) { return static_cast<uint64_t>(v.number); }

std::string hex(const Bytes &b) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

struct Injected {
  Bytes bytes;
  size_t at = 0;
  static uint64_t next(void *self) {
    auto *in = static_cast<Injected *>(self);
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k, ++in->at)
      v |= static_cast<uint64_t>(in->at < in->bytes.size() ? in->bytes[in->at] : 0) << (8 * k);
    return v;
  }
};

struct Guard {
  ~Guard() {
    sc::set_random_source(sc::RandomSide::kServer, nullptr, nullptr);
    sc::set_random_source(sc::RandomSide::kClient, nullptr, nullptr);
  }
};

enum class Split { kWhole, kBytes, kRandom };

// What the pool put out, by fd, and what it delivered, by session.
struct Seen {
  std::map<int, Bytes> out;
  std::map<int, bool> closed;
  std::map<int, Bytes> in;
  std::vector<sc::PoolEvent> events;
};

void drain(sc::Server &pool, Seen &seen) {
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

TEST(PoolV2, ReplaysTheRecordedExchangesServerSide) {
  Guard guard;
  int checked = 0;
  for (Split split : {Split::kWhole, Split::kBytes, Split::kRandom}) {
    for (size_t k = 0; k < exchanges().size(); ++k) {
      const auto &ex = exchanges()[k];
      SCOPED_TRACE(ex["name"].str() + " split " + std::to_string(static_cast<int>(split)));
      std::mt19937 rng(11);
      Injected draws;
      sc::Server pool;
      for (size_t i = 0; i < ex["injected"].size(); ++i) {
        const std::string name = ex["injected"][i]["name"].str();
        Bytes b = hex_bytes(ex["injected"][i]["hex"].str());
        if (name == "server_static_private") {
          ASSERT_TRUE(pool.set_static_key(b.data()));
        } else if (name.rfind("server_", 0) == 0) {
          b.resize((b.size() + 7) / 8 * 8);  // whole 8-byte draws
          draws.bytes.insert(draws.bytes.end(), b.begin(), b.end());
        }
      }
      pool.set_server_id(static_cast<uint16_t>(num(ex["server_id"])));
      pool.set_window(num(ex["server_window"]));
      pool.enable_events(true);
      sc::set_random_source(sc::RandomSide::kServer, &Injected::next, &draws);
      Seen seen;
      std::map<int, const testjson::Value *> wire;
      std::map<int, size_t> out_checked;  // per fd: how much of the pool's output was compared
      const auto &steps = ex["steps"];
      int session = 0;
      for (size_t i = 0; i < steps.size(); ++i) {
        const auto &st = steps[i];
        SCOPED_TRACE("step " + std::to_string(i));
        const std::string op = st["op"].str();
        if (op == "wire") {
          wire[static_cast<int>(num(st["step"]))] = &st;
          if (st["dir"].str() == "s2c" && st["unit"].str() != "record") {
            // A handshake answer: exactly the pool's next bytes on that socket.
            drain(pool, seen);
            const int fd = static_cast<int>(num(st["conn"]));
            const Bytes want = hex_bytes(st["hex"].str());
            const Bytes &got = seen.out[fd];
            ASSERT_GE(got.size(), out_checked[fd] + want.size());
            EXPECT_EQ(hex(Bytes(got.begin() + out_checked[fd], got.begin() + out_checked[fd] + want.size())),
                      hex(want));
            out_checked[fd] += want.size();
            ++checked;
          }
        } else if (op == "deliver" && st["dir"].str() == "c2s") {
          const int fd = static_cast<int>(num(st["conn"]));
          for (size_t j = 0; j < st["steps"].size(); ++j) {
            const Bytes b = hex_bytes((*wire.at(static_cast<int>(num(st["steps"][j]))))["hex"].str());
            size_t at = 0;
            while (at < b.size()) {
              size_t n = b.size() - at;
              if (split == Split::kBytes) n = 1;
              if (split == Split::kRandom) n = std::min<size_t>(n, 1 + rng() % 40);
              pool.receive(fd, b.data() + at, n);
              drain(pool, seen);
              at += n;
            }
          }
        } else if ((op == "break" && st["server_told"].boolean) || (op == "close" && st["side"].str() == "client")) {
          pool.socket_closed(static_cast<int>(num(st["conn"])));
          drain(pool, seen);
        } else if (op == "close" && st["side"].str() == "server") {
          // The pool asked for it.
          drain(pool, seen);
          EXPECT_TRUE(seen.closed[static_cast<int>(num(st["conn"]))]) << "conn " << num(st["conn"]);
          pool.socket_closed(static_cast<int>(num(st["conn"])));
        } else if (op == "app" && st["side"].str() == "server") {
          const std::string call = st["call"].str();
          if (call == "send") {
            const Bytes d = hex_bytes(st["data"]["hex"].str());
            pool.send(session, d.data(), d.size());
          } else if (call == "close") {
            pool.close_session(session);
          }
          drain(pool, seen);
        } else if (op == "event" && st["side"].str() == "server") {
          drain(pool, seen);
          const std::string ev = st["event"].str();
          if (ev == "opened") {
            ASSERT_FALSE(seen.events.empty());
            bool found = false;
            for (const auto &e : seen.events)
              if (e.type == sc::PoolEventType::kSessionOpened) {
                session = e.id;
                found = true;
              }
            EXPECT_TRUE(found);
          } else if (ev == "resumed") {
            bool found = false;
            for (const auto &e : seen.events) found = found || e.type == sc::PoolEventType::kSessionResumed;
            EXPECT_TRUE(found);
          } else if (ev == "ended") {
            EXPECT_FALSE(pool.session_exists(session));
          } else if (ev == "handshake_failed") {
            bool found = false;
            for (const auto &e : seen.events) found = found || e.type == sc::PoolEventType::kHandshakeRefused;
            EXPECT_TRUE(found);
          }
        }
      }
      drain(pool, seen);
      EXPECT_EQ(hex(seen.in[session]), ex["server_received"]["hex"].str());
      EXPECT_EQ(draws.at, draws.bytes.size()) << "every injected value was used";
    }
  }
  EXPECT_EQ(checked, 3 * 10);
}

// ---------------------------------------------------------------- the pool and the client

uint64_t fixed(void *state) {
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

TEST(PoolV2, StreamsBothWaysAcrossBrokenConnectionsLosingNothing) {
  Guard guard;
  uint64_t s1 = 1, s2 = 2;
  sc::set_random_source(sc::RandomSide::kServer, fixed, &s1);
  sc::set_random_source(sc::RandomSide::kClient, fixed, &s2);
  Net net(8192);
  net.pool.set_window(16384);
  std::mt19937 rng(17);
  Bytes a(400000), b(300000);
  for (auto &x : a) x = static_cast<uint8_t>(rng());
  for (auto &x : b) x = static_cast<uint8_t>(rng());
  size_t ia = 0, ib = 0;
  int breaks = 0;
  net.step();
  ASSERT_NE(net.session(), 0);
  for (int turn = 0; turn < 3000; ++turn) {
    if (ia < a.size()) {
      const size_t n = std::min<size_t>(a.size() - ia, 1 + rng() % 3000);
      net.client->send(a.data() + ia, n);
      ia += n;
    }
    if (ib < b.size()) {
      const size_t n = std::min<size_t>(b.size() - ib, 1 + rng() % 3000);
      net.pool.send(net.session(), b.data() + ib, n);
      ib += n;
    }
    if (rng() % 10 == 0) {
      net.reconnect();
      ++breaks;
    }
    net.step();
    EXPECT_LE(net.client->in_flight(), 8192u);
    if (net.seen.in[net.session()].size() == a.size() && net.client_got.size() == b.size()) break;
  }
  for (int k = 0; k < 5; ++k) net.step();
  EXPECT_EQ(net.seen.in[net.session()], a);
  EXPECT_EQ(net.client_got, b);
  EXPECT_GT(breaks, 20);
  // Idle, everything delivered and acknowledged: nothing held either side.
  EXPECT_EQ(net.pool.session_held(net.session()), 0u);
  EXPECT_EQ(net.client->held(), 0u);
  // Never "window exceeded", never a second session.
  int opened = 0;
  for (const auto &e : net.seen.events) {
    opened += e.type == sc::PoolEventType::kSessionOpened;
    EXPECT_NE(e.type, sc::PoolEventType::kSessionClosed);
  }
  EXPECT_EQ(opened, 1);
}

TEST(PoolV2, APoolWithoutAKeyAnswersNotSupported) {
  Guard guard;
  sc::Server pool;
  pool.enable_events(true);
  uint8_t key[32] = {1}, pub[32];
  ASSERT_TRUE(sc::crypto::x25519_public(key, pub));
  sc::ClientV2 c(pub);
  Bytes req;
  for (;;) {
    const auto m = c.poll(false);
    if (m.kind == sc::ClientV2::Message::Kind::kEmpty) break;
    req.insert(req.end(), m.data, m.data + m.size);
  }
  pool.receive(7, req.data(), req.size());
  Seen seen;
  drain(pool, seen);
  EXPECT_EQ(seen.out[7], Bytes({0x01}));
  EXPECT_TRUE(seen.closed[7]);
  c.receive(seen.out[7].data(), 1);
  EXPECT_EQ(c.state(), sc::ClientV2::State::kDead);
  EXPECT_EQ(c.last_failure(), sc::Reason::kNotSupported);
}

TEST(PoolV2, VersionOneClientsStillWorkOnAPoolWithAKey) {
  Guard guard;
  sc::Server pool;
  uint8_t key[32] = {9};
  ASSERT_TRUE(pool.set_static_key(key));
  sc::Client c;
  Seen seen;
  Bytes to_pool, to_client, got;
  auto pump = [&] {
    for (int k = 0; k < 4; ++k) {
      for (;;) {
        const auto m = c.poll(false);
        if (m.kind == sc::Client::Kind::kEmpty) break;
        if (m.kind == sc::Client::Kind::kOut) to_pool.insert(to_pool.end(), m.data, m.data + m.size);
        if (m.kind == sc::Client::Kind::kIn) got.insert(got.end(), m.data, m.data + m.size);
      }
      if (!to_pool.empty()) pool.receive(3, to_pool.data(), to_pool.size());
      to_pool.clear();
      drain(pool, seen);
      if (!seen.out[3].empty()) c.receive(seen.out[3].data(), seen.out[3].size());
      seen.out[3].clear();
    }
  };
  const uint8_t hello[] = {'h', 'i'};
  c.send(hello, 2);
  pump();
  ASSERT_EQ(pool.session_count(), 1u);
  int id = 0;
  for (const auto &kv : seen.in) id = kv.first;
  EXPECT_EQ(seen.in[id], Bytes({'h', 'i'}));
  pool.send(id, hello, 2);
  pump();
  EXPECT_EQ(got, Bytes({'h', 'i'}));
}

TEST(PoolV2, UnconfirmedSessionsExpireAfterTheHandshakeTimeout) {
  Guard guard;
  uint64_t now = 1000;
  Net net;
  net.pool.set_clock([](void *p) { return *static_cast<uint64_t *>(p); }, &now);
  net.pool.set_handshake_timeout(500);
  net.pump_client();
  net.pool.receive(net.fd, net.to_pool.data(), net.to_pool.size());  // the request, answered
  net.to_pool.clear();
  net.pump_pool();
  EXPECT_EQ(net.pool.session_count(), 1u);
  EXPECT_EQ(net.pool.handshake_count(), 1u);  // unconfirmed: still a handshake in progress
  now += 501;
  net.pool.timeout();
  net.pump_pool();
  EXPECT_EQ(net.pool.session_count(), 0u);
  EXPECT_TRUE(net.seen.closed[net.fd]);
}

}  // namespace
