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
#include "v2_net.h"
#include "v2/wire.h"

namespace {

using testjson::hex_bytes;
using v2net::Bytes;
using v2net::drain;
using v2net::fixed;
using v2net::Guard;
using v2net::Net;
using v2net::Seen;
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

enum class Split { kWhole, kBytes, kRandom };

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

// With windows so large that no ACK is due, each side acknowledges at the
// end of an input with data only when no record is left half-read: an input
// that ends inside a record waits, and the one that completes it brings
// everything received into the ACK.
TEST(PoolV2, AcknowledgesOnceAnInputLeavesNoRecordHalfRead) {
  Guard guard;
  uint64_t s1 = 5, s2 = 6;
  sc::set_random_source(sc::RandomSide::kServer, fixed, &s1);
  sc::set_random_source(sc::RandomSide::kClient, fixed, &s2);
  const size_t kWindow = size_t{1} << 20;
  Net net(kWindow);
  net.pool.set_window(kWindow);
  net.step();
  const int id = net.session();
  ASSERT_NE(id, 0);
  for (int k = 0; k < 3; ++k) net.step();
  ASSERT_TRUE(net.to_pool.empty() && net.to_client.empty());

  // Client to pool: three records, the first input one and a bit.
  Bytes msg(2 * v2::kMaxRecordPlaintext + 1000);
  for (size_t k = 0; k < msg.size(); ++k) msg[k] = static_cast<uint8_t>(k * 11);
  net.client->send(msg.data(), msg.size());
  net.pump_client();
  Bytes wire;
  wire.swap(net.to_pool);
  ASSERT_GT(wire.size(), msg.size());
  const size_t first = v2::kMaxRecordSize + 1000;
  net.pool.receive(net.fd, wire.data(), first);
  net.pump_pool();
  EXPECT_GT(net.seen.in[id].size(), 0u);  // the first record was delivered
  EXPECT_TRUE(net.to_client.empty());     // but not yet acknowledged
  net.pool.receive(net.fd, wire.data() + first, wire.size() - first);
  net.pump_pool();
  EXPECT_EQ(net.seen.in[id], msg);
  ASSERT_FALSE(net.to_client.empty());  // the ACK
  EXPECT_EQ(net.client->held(), msg.size());
  net.step();
  EXPECT_EQ(net.client->held(), 0u);

  // Pool to client, the same way.
  net.pool.send(id, msg.data(), msg.size());
  net.pump_pool();
  wire.clear();
  wire.swap(net.to_client);
  ASSERT_GT(wire.size(), msg.size());
  net.client->receive(wire.data(), first);
  net.pump_client();
  EXPECT_GT(net.client_got.size(), 0u);
  EXPECT_TRUE(net.to_pool.empty());
  net.client->receive(wire.data() + first, wire.size() - first);
  net.pump_client();
  EXPECT_EQ(net.client_got, msg);
  ASSERT_FALSE(net.to_pool.empty());
  EXPECT_EQ(net.pool.session_held(id), msg.size());
  net.step();
  EXPECT_EQ(net.pool.session_held(id), 0u);
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

// ---------------------------------------------------------------- resumes and acknowledgements

namespace resume {

Bytes pattern(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t k = 0; k < n; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b[k] = static_cast<uint8_t>(x >> 32);
  }
  return b;
}

// Moves `up` and `down` through a session with a 4 KiB window both ways,
// breaking the connection (what is in flight lost both ways) every
// `break_every` steps, and checks the window and the pool's count of what
// it holds after every step.
void transfer(size_t amount, int break_every) {
  SCOPED_TRACE("amount " + std::to_string(amount));
  Guard guard;
  uint64_t s1 = 21, s2 = 22;
  sc::set_random_source(sc::RandomSide::kServer, fixed, &s1);
  sc::set_random_source(sc::RandomSide::kClient, fixed, &s2);
  constexpr size_t kWindow = 4096;
  Net net(kWindow);
  net.pool.set_window(kWindow);
  net.step();
  const int id = net.session();
  ASSERT_NE(id, 0);
  const Bytes up = pattern(amount, 1), down = pattern(amount, 2);
  // Everything is handed over at once: what does not fit the window waits
  // as backlog, and nothing may be refused for it.
  if (amount > 0) {
    net.client->send(up.data(), up.size());
    net.pool.send(id, down.data(), down.size());
  }
  int steps = 0, breaks = 0;
  while (net.seen.in[id].size() < amount || net.client_got.size() < amount) {
    ASSERT_LT(steps, 100000) << "no progress: " << net.seen.in[id].size() << " and " << net.client_got.size();
    if (++steps % break_every == 0) {
      net.reconnect();
      ++breaks;
    }
    net.step();
    EXPECT_LE(net.client->in_flight(), kWindow);
    sc::Server::SessionInfo info;
    ASSERT_TRUE(net.pool.session_info(id, &info));
    EXPECT_LE(info.sent - info.acked, kWindow);
    EXPECT_EQ(net.pool.counters().bytes_held, info.held);
  }
  for (int k = 0; k < 3; ++k) net.step();
  EXPECT_TRUE(net.seen.in[id] == up);
  EXPECT_TRUE(net.client_got == down);
  // Delivered and acknowledged: nothing is held on either side.
  EXPECT_EQ(net.pool.session_held(id), 0u);
  EXPECT_EQ(net.client->held(), 0u);
  EXPECT_EQ(net.client->backlog(), 0u);
  for (const auto &e : net.seen.events) {
    EXPECT_NE(e.type, sc::PoolEventType::kSessionClosed);
    EXPECT_NE(e.reason, sc::Reason::kWindowExceeded);
  }
  if (amount > 4 * kWindow) EXPECT_GT(breaks, 0);
}

}  // namespace resume

TEST(PoolV2Resume, AnyAmountEachWayWithBytesLostInFlight) {
  for (size_t amount : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{1} << 20}) resume::transfer(amount, 7);
}

TEST(PoolV2Resume, SixtyFourMebibytesThroughAFourKibibyteWindow) { resume::transfer(size_t{64} << 20, 997); }

TEST(PoolV2Resume, TwiceInARowWhileAttachedAndWithDataSentWhileDetached) {
  Guard guard;
  uint64_t s1 = 31, s2 = 32;
  sc::set_random_source(sc::RandomSide::kServer, fixed, &s1);
  sc::set_random_source(sc::RandomSide::kClient, fixed, &s2);
  Net net;
  net.step();
  const int id = net.session();
  Bytes up, down;
  auto both = [&](const std::string &tag) {
    const Bytes u = resume::pattern(3000, up.size() + 7), d = resume::pattern(5000, down.size() + 9);
    up.insert(up.end(), u.begin(), u.end());
    down.insert(down.end(), d.begin(), d.end());
    net.client->send(u.data(), u.size());
    net.pool.send(id, d.data(), d.size());
    (void)tag;
  };
  // Data sent while detached, on both sides.
  net.pool.socket_closed(net.fd);
  net.pump_pool();
  both("detached");
  // Twice in a row: the first resume request is lost with its connection.
  net.reconnect();
  net.pump_client();
  net.reconnect();
  for (int k = 0; k < 3; ++k) net.step();
  EXPECT_EQ(net.seen.in[id], up);
  EXPECT_EQ(net.client_got, down);
  // A resume while the old socket is still attached: the pool has not seen
  // it break. The session moves and the old socket is closed.
  both("attached");
  const int old_fd = net.fd;
  net.pump_client();
  net.pump_pool();
  net.to_pool.clear();
  net.to_client.clear();
  ++net.fd;
  net.client->handshake();
  for (int k = 0; k < 3; ++k) net.step();
  EXPECT_TRUE(net.seen.closed[old_fd]);
  EXPECT_EQ(net.pool.session_fd(id), net.fd);
  EXPECT_EQ(net.seen.in[id], up);
  EXPECT_EQ(net.client_got, down);
  int resumed = 0;
  for (const auto &e : net.seen.events) resumed += e.type == sc::PoolEventType::kSessionResumed;
  EXPECT_EQ(resumed, 2);
}

}  // namespace
