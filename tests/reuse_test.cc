// Reconnects through the public C API: a cc client and a pool joined by the
// in-memory harness, sockets broken with bytes lost in flight, and checks that
// both application streams arrive byte for byte.
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "pool/server.h"

namespace {

using namespace harness;

constexpr size_t kW = 4096;  // the small window most tests use

// ------------------------------------------------------------------ scenarios

struct Scenario {
  size_t window = kW;
  size_t c2s_delivered = 0, c2s_lost = 0;
  size_t s2c_delivered = 0, s2c_lost = 0;
  bool tell_pool = true;  // the pool hears that the old socket closed
  bool poll_lost = true;  // the lost bytes were handed out (else still queued)
  Split split = Split::kWhole;
  uint64_t seed = 1;

  std::string describe() const {
    std::ostringstream s;
    s << "window " << window << ", c2s " << c2s_delivered << "+" << c2s_lost << " lost, s2c " << s2c_delivered
      << "+" << s2c_lost << " lost, " << (tell_pool ? "pool told" : "old fd still attached") << ", "
      << (poll_lost ? "lost bytes polled" : "lost bytes unpolled") << ", split "
      << (split == Split::kWhole ? "whole" : split == Split::kSingle ? "single bytes" : "random");
    return s.str();
  }
};

// Exchanges the delivered bytes, sends the lost ones into a socket that
// breaks, reconnects on a new fd and checks both streams, then goes on.
void run_reuse(const Scenario &s) {
  SCOPED_TRACE(s.describe());
  ASSERT_GE(s.s2c_delivered, 1u) << "a client that received nothing cannot reuse";
  FixedRandom random(s.seed);
  PoolPtr pool(cp_new());
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), s.window));
  PoolTap tap(pool.get());
  Link link(tap, capi_client(s.window), 3, 1, s.seed);
  link.set_split(s.split);
  link.pump();

  link.client_send(s.c2s_delivered);
  link.server_send(s.s2c_delivered);
  link.pump();
  ASSERT_TRUE(same_stream(link.server_got(), link.client_sent));
  ASSERT_TRUE(same_stream(link.client_got, link.server_sent));

  link.client_send(s.c2s_lost);
  link.server_send(s.s2c_lost);
  if (s.poll_lost) link.lose_in_flight();
  link.reconnect(4, s.tell_pool);

  EXPECT_EQ(0, link.client_deaths);
  EXPECT_EQ(0, tap.close_count(4));
  // A pool that still had the old socket closes it once the reuse succeeded.
  EXPECT_EQ(s.tell_pool ? 0 : 1, tap.close_count(3));
  EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
  EXPECT_TRUE(same_stream(link.client_got, link.server_sent));

  // The resumed session goes on.
  link.client_send(300);
  link.server_send(700);
  link.pump();
  EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
  EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
  for (int id : tap.in_order) EXPECT_EQ(1, id);
  EXPECT_EQ(1u, tap.in.size()) << "data arrived under another session id";
}

// ------------------------------------------------------------------ the size grid

enum class Direction { kClientToServer, kServerToClient, kBoth };

struct GridParam {
  size_t n;
  Direction dir;
};

std::string grid_name(const ::testing::TestParamInfo<GridParam> &info) {
  const char *d = info.param.dir == Direction::kClientToServer   ? "C2S"
                  : info.param.dir == Direction::kServerToClient ? "S2C"
                                                                 : "Both";
  return std::string(d) + "_" + std::to_string(info.param.n);
}

// (delivered, lost) ways to split n bytes; `min_delivered` bytes at least
// arrive, at most a window is lost.
std::vector<std::pair<size_t, size_t>> splits_of(size_t n, size_t min_delivered, size_t window) {
  std::vector<std::pair<size_t, size_t>> out;
  auto add = [&](size_t lost) {
    if (lost > n || n - lost < min_delivered || lost > window) return;
    for (const auto &p : out)
      if (p.second == lost) return;
    out.emplace_back(n - lost, lost);
  };
  add(0);
  add(1);
  add(n / 2);
  add(n >= min_delivered ? std::min(n - min_delivered, window) : 0);
  return out;
}

class ReuseGrid : public ::testing::TestWithParam<GridParam> {};

TEST_P(ReuseGrid, StreamsSurviveTheReconnect) {
  const size_t n = GetParam().n;
  const Direction dir = GetParam().dir;
  int variant = 0;
  const size_t min_s2c = 1;  // the client must have received something
  std::vector<std::pair<size_t, size_t>> c2s, s2c;
  switch (dir) {
    case Direction::kClientToServer:
      c2s = splits_of(n, 0, kW);
      s2c = {{1, 0}};
      break;
    case Direction::kServerToClient:
      c2s = {{0, 0}};
      s2c = splits_of(n, min_s2c, kW);
      break;
    case Direction::kBoth:
      c2s = splits_of(n, min_s2c, kW);
      s2c = c2s;
      break;
  }
  ASSERT_FALSE(c2s.empty());
  ASSERT_FALSE(s2c.empty());
  const size_t ways = std::max(c2s.size(), s2c.size());
  for (size_t k = 0; k < ways; ++k) {
    for (bool tell : {true, false}) {
      for (bool poll_lost : {true, false}) {
        Scenario s;
        s.c2s_delivered = c2s[k % c2s.size()].first;
        s.c2s_lost = c2s[k % c2s.size()].second;
        s.s2c_delivered = s2c[k % s2c.size()].first;
        s.s2c_lost = s2c[k % s2c.size()].second;
        s.tell_pool = tell;
        s.poll_lost = poll_lost;
        s.split = variant % 3 == 0 ? Split::kRandom : variant % 3 == 1 ? Split::kWhole : Split::kSingle;
        s.seed = n * 31 + static_cast<uint64_t>(variant);
        ++variant;
        run_reuse(s);
        if (HasFatalFailure()) return;
      }
    }
  }
}

std::vector<GridParam> grid() {
  std::vector<GridParam> out;
  const size_t sizes[] = {0, 1, 255, 256, 257, 511, 512, 513, kW - 1, kW, kW + 1};
  for (Direction d : {Direction::kClientToServer, Direction::kServerToClient, Direction::kBoth}) {
    for (size_t n : sizes) {
      if (n == 0 && d != Direction::kClientToServer) continue;  // see NothingReceived* below
      out.push_back(GridParam{n, d});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Sizes, ReuseGrid, ::testing::ValuesIn(grid()), grid_name);

TEST(Reuse, DefaultWindowLosingAWholeWindowBothWays) {
  const size_t w = SC_DEFAULT_WINDOW;
  Scenario s;
  s.window = w;
  s.c2s_delivered = w + 1000;
  s.c2s_lost = w;
  s.s2c_delivered = 2 * w + 77;
  s.s2c_lost = w;
  s.tell_pool = false;
  run_reuse(s);
}

TEST(Reuse, DefaultWindowWithoutSetters) {
  // Neither side's window is set: both use 65536.
  FixedRandom random(5);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link link(tap, capi_client(), 3, 1, 5);
  link.pump();
  link.client_send(70000);
  link.server_send(70001);
  link.pump();
  link.client_send(65536);
  link.server_send(65535);
  link.lose_in_flight();
  link.reconnect(4);
  EXPECT_EQ(0, link.client_deaths);
  EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
  EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
}

TEST(Reuse, OddSmallWindows) {
  for (size_t w : {size_t{1}, size_t{255}, size_t{1000}}) {
    for (size_t lost : {size_t{0}, size_t{1}, w}) {
      Scenario s;
      s.window = w;
      s.c2s_delivered = 3 * w + 5;
      s.c2s_lost = lost;
      s.s2c_delivered = 2 * w + 300;
      s.s2c_lost = lost;
      s.split = w == 1000 ? Split::kRandom : Split::kSingle;
      s.seed = w + lost;
      run_reuse(s);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// ------------------------------------------------------------------ ring wrap

class ReuseRingWrap : public ::testing::TestWithParam<size_t> {};

TEST_P(ReuseRingWrap, LossStraddlingTheEndOfTheRing) {
  const size_t w = GetParam();
  // Positions 3w and 5w are multiples of both rings' capacity: the lost bytes
  // lie on both sides of them.
  for (size_t lost : {size_t{300}, w - 1, w}) {
    SCOPED_TRACE("lost " + std::to_string(lost));
    FixedRandom random(lost);
    PoolPtr pool(cp_new());
    ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), w));
    PoolTap tap(pool.get());
    Link link(tap, capi_client(w), 3, 1, lost);
    link.set_split(Split::kRandom);
    link.pump();
    // Several windows of traffic in uneven pieces.
    size_t total = 0;
    for (size_t piece = 1; total + piece < 3 * w + 100 - lost; piece = piece * 3 % 1009 + 1) {
      link.client_send(piece);
      link.server_send(piece);
      total += piece;
      if (total % 2) link.pump();
    }
    link.client_send(3 * w + 100 - lost - total);
    link.server_send(3 * w + 100 - lost - total);
    link.pump();
    ASSERT_EQ(3 * w + 100 - lost, link.client_sent.size());
    link.client_send(lost);
    link.server_send(lost);
    link.lose_in_flight();
    link.reconnect(4);
    EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
    EXPECT_TRUE(same_stream(link.client_got, link.server_sent));

    // Again around 5w, this time without telling the pool.
    link.client_send(5 * w - 50 - link.client_sent.size());
    link.server_send(5 * w - 50 - link.server_sent.size());
    link.pump();
    link.client_send(std::min<size_t>(lost, 200));
    link.server_send(std::min<size_t>(lost, 200));
    link.lose_in_flight();
    link.reconnect(5, false);
    EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
    EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
    EXPECT_EQ(1, tap.close_count(4));
    EXPECT_EQ(0, link.client_deaths);
  }
}

INSTANTIATE_TEST_SUITE_P(Windows, ReuseRingWrap, ::testing::Values(size_t{1000}, kW));

// ------------------------------------------------------------------ repeated reuse

class ReuseFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(SC_OK, sc_pool_set_window(pool_.get(), kW));
    link_.pump();
    link_.client_send(600);
    link_.server_send(700);
    link_.pump();
    ASSERT_TRUE(same_stream(link_.server_got(), link_.client_sent));
    ASSERT_TRUE(same_stream(link_.client_got, link_.server_sent));
  }
  void expect_streams_equal() {
    EXPECT_TRUE(same_stream(link_.server_got(), link_.client_sent));
    EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
    EXPECT_EQ(0, link_.client_deaths);
  }
  uint64_t secret() const { return session_secret(random_.client_draws().at(0), link_.s2c_log.at(3)); }

  FixedRandom random_{42};
  PoolPtr pool_{cp_new()};
  PoolTap tap_{pool_.get()};
  Link link_{tap_, capi_client(kW), 3, 1, 42};
};

TEST_F(ReuseFixture, TwiceInARow) {
  link_.client_send(100);
  link_.server_send(1000);
  link_.lose_in_flight();
  link_.reconnect(4);
  expect_streams_equal();
  link_.client_send(2000);
  link_.server_send(30);
  link_.lose_in_flight();
  link_.reconnect(5);
  expect_streams_equal();
  // And once more with nothing in between.
  link_.reconnect(6);
  expect_streams_equal();
  link_.reconnect(7, false);
  expect_streams_equal();
  EXPECT_EQ(1, tap_.close_count(6));
  link_.client_send(10);
  link_.server_send(10);
  link_.pump();
  expect_streams_equal();
}

TEST_F(ReuseFixture, RequestLostThenReconnectAgain) {
  link_.client_send(100);
  link_.server_send(100);
  link_.lose_in_flight();
  link_.switch_socket(4, true);
  link_.collect();
  link_.lose_c2s();  // the reuse request never arrives
  link_.reconnect(5);
  expect_streams_equal();
  EXPECT_TRUE(tap_.closes.empty());
}

TEST_F(ReuseFixture, ReplyLostThenReconnectAgain) {
  for (bool tell : {true, false}) {
    SCOPED_TRACE(tell ? "pool told" : "pool not told");
    const int fd = link_.fd();
    link_.client_send(100);
    link_.server_send(100);
    link_.lose_in_flight();
    link_.switch_socket(fd + 1, true);
    link_.deliver_c2s();  // the request
    ASSERT_EQ(16u, link_.s2c_pending()) << "no reply to the reuse request";
    link_.lose_s2c();
    // The client sends nothing more: cc_handshake again on a third socket.
    link_.client_send(50);  // queued until the reuse completes
    link_.reconnect(fd + 2, tell);
    expect_streams_equal();
    // The abandoned handshake socket was never a session's socket.
    EXPECT_FALSE(tap_.was_closed(fd + 1));
  }
}

TEST_F(ReuseFixture, ResendLostAfterTheAuthThenReconnectAgain) {
  for (bool tell : {true, false}) {
    SCOPED_TRACE(tell ? "pool told" : "pool not told");
    const int fd = link_.fd();
    link_.client_send(900);
    link_.server_send(800);
    link_.lose_in_flight();
    link_.switch_socket(fd + 1, true);
    link_.deliver_c2s();  // request
    link_.deliver_s2c();  // reply: the client answers with auth + resend
    ASSERT_GT(link_.c2s_pending(), 8u);
    link_.deliver_c2s(8 + 100);  // the auth and part of the resend arrive
    EXPECT_GT(link_.s2c_pending(), 0u) << "the server resends what the client missed";
    link_.lose_in_flight();  // the rest dies with the new socket
    link_.reconnect(fd + 2, tell);
    expect_streams_equal();
    EXPECT_EQ(tell ? 0 : 1, tap_.close_count(fd + 1));
  }
}

TEST_F(ReuseFixture, OldSocketClosedOnlyAfterTheAuthCode) {
  link_.client_send(100);
  link_.server_send(100);
  link_.lose_in_flight();
  link_.switch_socket(4, false);
  link_.deliver_c2s();
  ASSERT_EQ(16u, link_.s2c_pending());
  EXPECT_FALSE(tap_.was_closed(3)) << "closed before the client proved the session is its own";
  link_.deliver_s2c();
  ASSERT_GE(link_.c2s_pending(), 8u + 100u);  // auth, then the 100 lost bytes
  for (int k = 0; k < 7; ++k) {
    ASSERT_EQ(1u, link_.deliver_c2s(1));
    EXPECT_FALSE(tap_.was_closed(3)) << "after " << k + 1 << " bytes of the auth code";
  }
  ASSERT_EQ(1u, link_.deliver_c2s(1));
  EXPECT_EQ(1, tap_.close_count(3));
  EXPECT_FALSE(tap_.was_closed(4));
  link_.pump();
  expect_streams_equal();
  // From now on the session writes to the new socket only.
  const size_t before = tap_.written[3].size();
  link_.server_send(50);
  link_.pump();
  EXPECT_EQ(before, tap_.written[3].size());
  expect_streams_equal();
}

TEST_F(ReuseFixture, LateBytesOnTheOldSocketAreNotDuplicated) {
  for (size_t late_part : {size_t{1000}, size_t{333}}) {
    SCOPED_TRACE("late bytes " + std::to_string(late_part));
    const int fd = link_.fd();
    link_.client_send(1000);
    const std::string in_flight = link_.take_c2s();  // still on the old socket
    ASSERT_EQ(1000u, in_flight.size());
    link_.switch_socket(fd + 1, false);
    link_.deliver_c2s();  // the reuse request: the pool answers with its count
    ASSERT_EQ(16u, link_.s2c_pending());
    // Now the old socket delivers (part of) what it had.
    tap_.recv(fd, in_flight.substr(0, late_part));
    // The client resends from the count in the reply; the pool must skip
    // what it got late.
    link_.pump();
    expect_streams_equal();
    EXPECT_EQ(1, tap_.close_count(fd));
  }
}

TEST_F(ReuseFixture, DataSentWhileDetachedArrivesAfterTheReuse) {
  link_.lose_in_flight();
  tap_.closed(3);
  link_.server_send(100);
  link_.server_send(1);
  link_.server_send(2000);
  link_.server_send(1995);  // 4096 in all: exactly the window
  EXPECT_TRUE(tap_.wires[3].empty());
  link_.client_send(10);
  link_.reconnect(4, false);  // already told
  expect_streams_equal();
}

TEST_F(ReuseFixture, DataSentDuringTheReuseHandshakeArrives) {
  link_.server_send(300);
  link_.lose_in_flight();
  link_.switch_socket(4, true);
  link_.deliver_c2s();  // request answered
  link_.server_send(400);  // while the handshake is in progress
  link_.deliver_s2c();
  link_.server_send(500);
  link_.pump();
  expect_streams_equal();
}

// ------------------------------------------------------------------ refusals

TEST(ReuseBacklog, OneByteMoreThanTheWindowWhileDetachedIsRefused) {
  for (bool one_piece : {true, false}) {
    SCOPED_TRACE(one_piece ? "one cp_send" : "several cp_send");
    FixedRandom random(9);
    PoolPtr pool(cp_new());
    ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), kW));
    PoolTap tap(pool.get());
    Link link(tap, capi_client(kW), 3, 1, 9);
    link.pump();
    link.client_send(10);
    link.server_send(10);
    link.pump();
    tap.closed(3);
    if (one_piece) {
      link.server_send(kW + 1);
    } else {
      link.server_send(kW);
      link.server_send(1);
    }
    tap.drain();
    EXPECT_TRUE(tap.wires[3].empty());
    // The session is gone: cp_send to it does nothing.
    cp_send(pool.get(), 1, "x", 1);
    EXPECT_FALSE(tap.drain());

    link.reconnect(4, false);
    EXPECT_EQ(1, tap.close_count(4)) << "the pool must close a socket whose request names no session";
    // The client is left waiting for a reply that never comes: no data, no
    // death, nothing to send.
    EXPECT_EQ(0, link.client_deaths);
    EXPECT_EQ(20u, link.client_got.size() + link.server_got().size());
    connection_message m;
    EXPECT_EQ(MESSAGE_EMPTY, link.client().poll(&m));
    // Trying again on another socket is refused the same way.
    link.reconnect(5, false);
    EXPECT_EQ(1, tap.close_count(5));
    EXPECT_EQ(0, link.client_deaths);
    // The application gives up: one MESSAGE_IN of size 0.
    link.client().recv(nullptr, 0);
    link.collect();
    EXPECT_EQ(1, link.client_deaths);
  }
}

// The same through the core objects, where the pool's table can be seen: the
// session is freed as soon as the backlog passes the window, not when its
// client comes back.
TEST(ReuseBacklog, CoreFreesTheSessionAsSoonAsTheBacklogPassesTheWindow) {
  FixedRandom random(15);
  for (size_t extra : {size_t{0}, size_t{1}}) {
    SCOPED_TRACE(extra);
    sc::Server server;
    server.set_window(kW);
    sc::Client client(kW);
    auto pump = [&] {
      for (bool moved = true; moved;) {
        moved = false;
        for (auto m = client.poll(); m.kind != sc::Client::Kind::kEmpty; m = client.poll()) {
          moved = true;
          if (m.kind == sc::Client::Kind::kOut) server.receive(3, m.data, m.size);
        }
        for (auto m = server.poll(); m.kind != sc::Server::Kind::kEmpty; m = server.poll()) {
          moved = true;
          if (m.kind == sc::Server::Kind::kOut && m.size > 0) client.receive(m.data, m.size);
        }
      }
    };
    pump();
    ASSERT_TRUE(server.session_exists(1));
    const std::string data = make_bytes(kW + 1, extra);
    const auto *bytes = reinterpret_cast<const uint8_t *>(data.data());
    server.send(1, bytes, 10);
    pump();
    ASSERT_EQ(10u, client.received());
    server.socket_closed(3);
    EXPECT_EQ(-1, server.session_fd(1));
    server.send(1, bytes, kW - 1);
    EXPECT_TRUE(server.session_exists(1));
    server.send(1, bytes, 1);
    EXPECT_TRUE(server.session_exists(1)) << "exactly the window: the client can still get it all";
    if (extra) {
      server.send(1, bytes, 1);
      EXPECT_FALSE(server.session_exists(1));
      EXPECT_EQ(0u, server.session_count());
    }
  }
}

TEST(ReuseBacklog, ExactlyTheWindowWhileDetachedResumes) {
  FixedRandom random(10);
  PoolPtr pool(cp_new());
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), kW));
  PoolTap tap(pool.get());
  Link link(tap, capi_client(kW), 3, 1, 10);
  link.pump();
  link.server_send(10);
  link.pump();
  tap.closed(3);
  link.server_send(kW - 1);
  link.server_send(1);
  link.reconnect(4, false);
  EXPECT_EQ(0, tap.close_count(4));
  EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
}

TEST(ReuseBacklog, LostBytesPlusDetachedBacklogBeyondTheWindowIsRefused) {
  // 100 bytes died in flight, then the window minus 99 more were sent while
  // detached: the client's position has left the window.
  FixedRandom random(11);
  PoolPtr pool(cp_new());
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), kW));
  PoolTap tap(pool.get());
  Link link(tap, capi_client(kW), 3, 1, 11);
  link.pump();
  link.server_send(10);
  link.pump();
  link.server_send(100);
  link.lose_in_flight();
  tap.closed(3);
  link.server_send(kW - 99);
  link.reconnect(4, false);
  EXPECT_EQ(1, tap.close_count(4));
  EXPECT_EQ(0, link.client_deaths);
  EXPECT_EQ(10u, link.client_got.size());
}

TEST(ReuseBacklog, LostBeyondTheWindowWithTheOldSocketAttachedIsRefused) {
  FixedRandom random(12);
  PoolPtr pool(cp_new());
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), kW));
  PoolTap tap(pool.get());
  Link link(tap, capi_client(kW), 3, 1, 12);
  link.pump();
  link.server_send(300);
  link.pump();
  link.server_send(kW + 1);
  link.lose_in_flight();
  link.reconnect(4, false);
  EXPECT_EQ(1, tap.close_count(4));
  EXPECT_EQ(0, tap.close_count(3)) << "a refused reuse must leave the old socket alone";
  // The old socket still belongs to the session.
  cp_send(pool.get(), 1, "abc", 3);
  tap.drain();
  EXPECT_EQ(3u, tap.wires[3].size());
}

TEST(ReuseBacklog, ServerDefaultWindowRefusesOneByteMore) {
  FixedRandom random(13);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link link(tap, capi_client(), 3, 1, 13);
  link.pump();
  link.server_send(1000);
  link.pump();
  link.server_send(SC_DEFAULT_WINDOW + 1);
  link.lose_in_flight();
  link.reconnect(4);
  EXPECT_EQ(1, tap.close_count(4));
}

TEST(ReuseBacklog, ClientLostMoreThanItsWindowDies) {
  FixedRandom random(14);
  PoolPtr pool(cp_new());
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), 2 * kW));  // the server could resend
  PoolTap tap(pool.get());
  Link link(tap, capi_client(kW), 3, 1, 14);
  link.pump();
  link.client_send(500);
  link.server_send(500);
  link.pump();
  link.client_send(kW + 1);  // the client keeps only kW of it
  link.lose_in_flight();
  link.switch_socket(4, true);
  link.deliver_c2s();
  ASSERT_EQ(16u, link.s2c_pending()) << "the server accepts the request";
  link.deliver_s2c();
  EXPECT_EQ(1, link.client_deaths) << "the server misses bytes the client no longer has";
  EXPECT_EQ(0u, link.c2s_pending()) << "a dead client sends nothing";
  link.client_send(5);
  link.client().handshake();
  link.collect();
  EXPECT_EQ(0u, link.c2s_pending());
  EXPECT_EQ(1, link.client_deaths);
}

// ------------------------------------------------------------------ fingerprints

// The 12-byte request the client sends after receiving `received` bytes, and
// the two forms of the fingerprint, computed here from the session's secret.
struct RequestCheck {
  std::string request;
  std::string cipher_form;
  std::string plain_form;
};

RequestCheck reuse_request_after(size_t received, bool reference_client, uint64_t seed) {
  FixedRandom random(seed);
  std::unique_ptr<ClientEnd> client = reference_client ? old_client() : capi_client();
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link link(tap, std::move(client), 3, 1, seed);
  link.set_split(Split::kRandom);
  link.pump();
  link.server_send(received);
  link.client_send(10);
  link.pump();
  EXPECT_EQ(received, link.client_got.size());
  const uint64_t secret = session_secret(random.client_draws().at(0), link.s2c_log[3]);
  const std::string cipher = link.s2c_log[3].substr(16);
  EXPECT_EQ(received, cipher.size());
  const size_t boundary = received - received % 256;
  const uint32_t initial = sc::StreamCipher(secret).initial_fingerprint();
  RequestCheck r;
  r.cipher_form = le64(received) + le32(fold_fingerprint(initial, cipher.substr(0, boundary)));
  r.plain_form = le64(received) + le32(fold_fingerprint(initial, link.client_got.substr(0, boundary)));
  link.switch_socket(4, true);
  link.collect();
  r.request = link.c2s_log[4];
  // The request really resumes the session.
  link.server_send(20);
  link.pump();
  EXPECT_EQ(0, tap.close_count(4));
  EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
  EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
  return r;
}

TEST(ReuseFingerprint, ThisClientSendsTheCiphertextForm) {
  for (size_t received : {size_t{1}, size_t{255}, size_t{256}, size_t{257}, size_t{1000}, size_t{4096},
                          size_t{70000}}) {
    SCOPED_TRACE(received);
    const RequestCheck r = reuse_request_after(received, false, received);
    EXPECT_EQ(r.cipher_form, r.request);
    if (received >= 256) {
      EXPECT_NE(r.plain_form, r.request);
    } else {
      EXPECT_EQ(r.plain_form, r.cipher_form) << "below 256 both forms are the initial fingerprint";
    }
  }
}

TEST(ReuseFingerprint, ReferenceClientSendsThePlaintextFormAndResumes) {
  for (size_t received : {size_t{1}, size_t{256}, size_t{257}, size_t{511}, size_t{512}, size_t{1000},
                          size_t{65536}, size_t{70000}}) {
    SCOPED_TRACE(received);
    const RequestCheck r = reuse_request_after(received, true, received + 1);
    EXPECT_EQ(r.plain_form, r.request);
    if (received >= 256) {
      EXPECT_NE(r.cipher_form, r.request);
    }
  }
}

TEST(ReuseFingerprint, ReferenceClientResumesWithLossBothWays) {
  for (size_t lost : {size_t{0}, size_t{1}, size_t{300}, kW}) {
    SCOPED_TRACE(lost);
    FixedRandom random(lost + 100);
    PoolPtr pool(cp_new());
    ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), kW));
    PoolTap tap(pool.get());
    Link link(tap, old_client(kW), 3, 1, lost);
    link.set_split(Split::kRandom);
    link.pump();
    link.client_send(3000);
    link.server_send(2999);
    link.pump();
    link.client_send(lost);
    link.server_send(lost);
    link.lose_in_flight();
    link.reconnect(4, lost % 2 == 0);
    EXPECT_EQ(0, tap.close_count(4));
    EXPECT_EQ(0, link.client_deaths);
    EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
    EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
    // Twice, at another boundary.
    link.server_send(513);
    link.pump();
    link.server_send(10);
    link.lose_in_flight();
    link.reconnect(5);
    EXPECT_EQ(0, tap.close_count(5));
    EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
  }
}

TEST_F(ReuseFixture, HandmadeRequestsInBothFormsAreAccepted) {
  // The session has sent 700 bytes: the request names boundary 512.
  const uint64_t key = secret();
  const std::string cipher = link_.s2c_log.at(3).substr(16);
  ASSERT_EQ(700u, cipher.size());
  const uint32_t initial = sc::StreamCipher(key).initial_fingerprint();
  const uint32_t fp_cipher = fold_fingerprint(initial, cipher.substr(0, 512));
  const uint32_t fp_plain = fold_fingerprint(initial, link_.client_got.substr(0, 512));
  ASSERT_NE(fp_cipher, fp_plain);
  int fd = 20;
  const std::pair<uint64_t, uint32_t> good[] = {
      {512, fp_cipher}, {600, fp_cipher}, {700, fp_cipher}, {512, fp_plain},
      {600, fp_plain},  {700, fp_plain},  {1, initial},     {255, initial},
  };
  for (const auto &g : good) {
    {
      const uint64_t received = g.first;
      tap_.recv(fd, le64(received) + le32(g.second));
      const std::string reply = tap_.take(fd);
      ASSERT_EQ(16u, reply.size()) << "received " << received;
      EXPECT_EQ(link_.server_got().size(), get_le64(reply, 0));
      EXPECT_EQ(random_.server_draws().back(), get_le64(reply, 8)) << "the challenge is a fresh draw";
      EXPECT_FALSE(tap_.was_closed(fd));
      tap_.closed(fd);  // abandoned
      ++fd;
    }
  }
  // Wrong boundary, wrong fingerprint, position beyond what was sent, the
  // fingerprint of the previous boundary: all name no session.
  const uint32_t fp_256 = fold_fingerprint(initial, cipher.substr(0, 256));
  const std::string bad[] = {
      le64(511) + le32(fp_cipher), le64(768) + le32(fp_cipher), le64(701) + le32(fp_cipher),
      le64(600) + le32(fp_cipher ^ 1), le64(600) + le32(fp_plain ^ 0x80000000u), le64(600) + le32(fp_256),
      le64(300) + le32(fp_cipher), le64(255) + le32(initial ^ 2),
  };
  for (const std::string &req : bad) {
    tap_.recv(fd, req);
    EXPECT_TRUE(tap_.written[fd].empty()) << "fd " << fd;
    EXPECT_EQ(1, tap_.close_count(fd)) << "fd " << fd;
    ++fd;
  }
  // The fingerprint of boundary 256 does name position 300.
  tap_.recv(fd, le64(300) + le32(fp_256));
  EXPECT_EQ(16u, tap_.take(fd).size());
  EXPECT_FALSE(tap_.was_closed(fd));
  tap_.closed(fd);
  // None of this disturbed the session.
  EXPECT_FALSE(tap_.was_closed(3));
  link_.client_send(10);
  link_.server_send(10);
  link_.pump();
  expect_streams_equal();
}

TEST_F(ReuseFixture, AbandonedReuseAttemptsLeaveTheOldSocketWorking) {
  sc_clock_fn clock = [](void *p) { return *static_cast<uint64_t *>(p); };
  uint64_t now = 1000;
  ASSERT_EQ(SC_OK, sc_pool_set_clock(pool_.get(), clock, &now));
  const uint64_t key = secret();
  const uint32_t initial = sc::StreamCipher(key).initial_fingerprint();
  auto request = [&] {
    const size_t received = link_.client_got.size();
    const std::string cipher = link_.s2c_log.at(3).substr(16);
    return le64(received) + le32(fold_fingerprint(initial, cipher.substr(0, received - received % 256)));
  };
  auto old_socket_works = [&] {
    EXPECT_FALSE(tap_.was_closed(3));
    link_.client_send(33);
    link_.server_send(44);
    link_.pump();
    expect_streams_equal();
  };

  // A wrong auth code.
  tap_.recv(10, request());
  std::string reply = tap_.take(10);
  ASSERT_EQ(16u, reply.size());
  tap_.recv(10, le64(sc::hash64(get_le64(reply, 8), key) + 1));
  EXPECT_EQ(1, tap_.close_count(10));
  old_socket_works();

  // The new socket closes before the auth code.
  tap_.recv(11, request());
  ASSERT_EQ(16u, tap_.take(11).size());
  tap_.closed(11);
  EXPECT_TRUE(tap_.written[11].size() == 16 && !tap_.was_closed(11));
  old_socket_works();

  // Seven of the eight bytes of a right auth code, then silence until the
  // handshake timeout; the session keeps running meanwhile.
  tap_.recv(12, request());
  reply = tap_.take(12);
  ASSERT_EQ(16u, reply.size());
  const std::string auth12 = le64(sc::hash64(get_le64(reply, 8), key));
  tap_.recv_bytes(12, auth12.substr(0, 7));
  old_socket_works();
  now += SC_DEFAULT_HANDSHAKE_TIMEOUT_MS + 1;
  cp_timeout(pool_.get());
  tap_.drain();
  EXPECT_EQ(1, tap_.close_count(12));
  old_socket_works();

  // A request naming no session.
  tap_.recv(13, le64(link_.client_got.size() + 1) + le32(initial));
  EXPECT_EQ(1, tap_.close_count(13));
  old_socket_works();

  // A complete reuse: only now is the old socket closed, and the session's
  // output goes to the new one.
  tap_.recv(14, request());
  reply = tap_.take(14);
  ASSERT_EQ(16u, reply.size());
  EXPECT_EQ(link_.server_got().size(), get_le64(reply, 0));
  const std::string auth = le64(sc::hash64(get_le64(reply, 8), key));
  tap_.recv_bytes(14, auth.substr(0, 7));
  EXPECT_FALSE(tap_.was_closed(3));
  tap_.recv(14, auth.substr(7));
  EXPECT_EQ(1, tap_.close_count(3));
  EXPECT_TRUE(tap_.take(14).empty()) << "the client missed nothing";
  const size_t on_old = tap_.written[3].size();
  cp_send(pool_.get(), 1, "hello", 5);
  tap_.drain();
  EXPECT_EQ(5u, tap_.take(14).size());
  EXPECT_EQ(on_old, tap_.written[3].size());
  EXPECT_EQ(std::vector<int>({10, 12, 13, 3}), tap_.closes);
}

// ------------------------------------------------------------------ the client refuses

// The client has sent `sent` bytes (window kW) and received some; it reconnects
// and a hand-made server answers with `server_count`.
struct HandmadeReply {
  bool dead = false;
  std::string out;  // what the client sent after the reply
};

HandmadeReply answer_client_with(uint64_t server_count, size_t sent) {
  FixedRandom random(sent + server_count % 1000);
  PoolPtr pool(cp_new());
  EXPECT_EQ(SC_OK, sc_pool_set_window(pool.get(), 4 * kW));
  PoolTap tap(pool.get());
  Link link(tap, capi_client(kW), 3, 1, 7);
  link.pump();
  link.server_send(300);
  link.client_send(sent);
  link.pump();
  const uint64_t secret = session_secret(random.client_draws().at(0), link.s2c_log[3]);
  link.switch_socket(4, true);
  link.collect();
  EXPECT_EQ(12u, link.c2s_log[4].size());
  link.lose_c2s();
  const uint64_t challenge = 0x0123456789abcdefull;
  const std::string reply = le64(server_count) + le64(challenge);
  link.client().recv(reply.data(), reply.size());
  HandmadeReply r;
  connection_message m;
  int kind;
  while ((kind = link.client().poll(&m)) != MESSAGE_EMPTY) {
    if (kind == MESSAGE_OUT) {
      EXPECT_FALSE(r.dead) << "output after the end";
      r.out.append(m.buffer, static_cast<size_t>(m.sz));
    } else {
      EXPECT_EQ(0, m.sz);
      EXPECT_FALSE(r.dead) << "two final messages";
      r.dead = true;
    }
  }
  if (!r.dead) {
    EXPECT_EQ(le64(sc::hash64(challenge, secret)), r.out.substr(0, 8));
  }
  return r;
}

TEST(ReuseClientRefuses, ServerCountOutOfRange) {
  const size_t sent = 5000;  // holds positions 904..5000
  for (uint64_t bad : {uint64_t{5001}, uint64_t{903}, uint64_t{0}, uint64_t{1}, uint64_t{100000},
                       ~uint64_t{0}}) {
    SCOPED_TRACE(bad);
    const HandmadeReply r = answer_client_with(bad, sent);
    EXPECT_TRUE(r.dead);
    EXPECT_TRUE(r.out.empty());
  }
  for (uint64_t good : {uint64_t{904}, uint64_t{905}, uint64_t{4999}, uint64_t{5000}}) {
    SCOPED_TRACE(good);
    const HandmadeReply r = answer_client_with(good, sent);
    EXPECT_FALSE(r.dead);
    EXPECT_EQ(8 + sent - good, r.out.size()) << "auth code, then exactly the missed bytes";
  }
}

TEST(ReuseClientRefuses, DeadClientIgnoresEverythingAfterwards) {
  FixedRandom random(77);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link link(tap, capi_client(kW), 3, 1, 77);
  link.pump();
  link.server_send(10);
  link.client_send(10);
  link.pump();
  link.switch_socket(4, true);
  link.collect();
  link.lose_c2s();
  const std::string reply = le64(11) + le64(5);  // more than the client sent
  link.client().recv(reply.data(), reply.size());
  link.collect();
  EXPECT_EQ(1, link.client_deaths);
  link.client().recv("abcdefgh", 8);
  link.client().send("x", 1);
  link.client().handshake();
  link.client().recv(nullptr, 0);
  connection_message m;
  EXPECT_EQ(MESSAGE_EMPTY, link.client().poll(&m));
}

// ------------------------------------------------------------------ nothing received

TEST(ReuseNothingReceived, StartsANewSession) {
  for (bool tell : {true, false}) {
    SCOPED_TRACE(tell ? "pool told" : "old fd still attached");
    FixedRandom random(tell ? 1 : 2);
    PoolPtr pool(cp_new());
    PoolTap tap(pool.get());
    Link link(tap, capi_client(), 3, 1, 3);
    link.pump();
    link.client_send(100);
    link.pump();
    EXPECT_TRUE(same_stream(tap.in[1], link.client_sent));
    link.server_send(50);  // lost: the client still received nothing
    link.client_send(20);  // lost too
    link.lose_in_flight();
    link.switch_socket(4, tell);
    link.collect();
    const std::string request = link.c2s_log[4];
    ASSERT_EQ(16u, request.size()) << "a new-connection handshake, not a reuse request";
    EXPECT_EQ(le64(0), request.substr(0, 8));
    EXPECT_EQ(2u, random.client_draws().size()) << "a new private key";
    link.set_id(2);
    link.client_send(30);  // goes to the new session
    const std::string after = link.client_sent.substr(120);
    link.pump();
    EXPECT_EQ(0, link.client_deaths);
    EXPECT_TRUE(same_stream(tap.in[2], after)) << "the new session starts with nothing of the old one";
    EXPECT_EQ(100u, tap.in[1].size());
    // The old session is still in the pool (it may yet be closed or time
    // out); the new one works both ways.
    link.server_sent.clear();
    link.server_send(40);
    link.pump();
    EXPECT_TRUE(same_stream(link.client_got, link.server_sent));
    EXPECT_FALSE(tap.was_closed(4));
  }
}

TEST(ReuseNothingReceived, HandshakeBeforeTheFirstReplyStartsOver) {
  FixedRandom random(4);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link link(tap, capi_client(), 3, 1, 4);
  link.client_send(25);  // queued before any handshake completed
  link.deliver_c2s();
  ASSERT_EQ(16u, link.s2c_pending());
  link.lose_s2c();
  link.switch_socket(4, true);
  link.pump();
  EXPECT_EQ(2u, random.client_draws().size());
  EXPECT_TRUE(same_stream(tap.in[1], link.client_sent)) << "queued data goes to the first session made";
}

// ------------------------------------------------------------------ many clients, many reconnects

TEST(ReuseSoak, RandomTrafficLossAndReconnects) {
  FixedRandom random(2024);
  PoolPtr pool(cp_new());
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), kW));
  PoolTap tap(pool.get());
  std::vector<std::unique_ptr<Link>> links;
  for (int k = 0; k < 3; ++k) {
    links.push_back(std::make_unique<Link>(tap, capi_client(kW), 100 * (k + 1), k + 1, 500 + k));
    links.back()->pump();
  }
  std::mt19937 gen(7);
  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Link &link = *links[gen() % links.size()];
    const int mode = static_cast<int>(gen() % 3);
    link.set_split(mode == 0 ? Split::kWhole : mode == 1 ? Split::kRandom : Split::kSingle);
    link.client_send(gen() % 3000);
    link.server_send(1 + gen() % 3000);
    link.pump();
    // Lost: up to a window in each direction, sometimes partly delivered.
    size_t c2s_lost = gen() % (kW + 1), s2c_lost = gen() % (kW + 1);
    link.client_send(c2s_lost);
    link.server_send(s2c_lost);
    if (gen() % 2) {
      link.collect();
      link.deliver_c2s(gen() % 200);
      link.deliver_s2c(gen() % 200);
      link.lose_in_flight();
    }
    const bool tell = gen() % 2 == 0;
    const int old_fd = link.fd();
    link.reconnect(old_fd + 1, tell);
    ASSERT_EQ(0, link.client_deaths);
    ASSERT_FALSE(tap.was_closed(link.fd()));
    EXPECT_EQ(tell ? 0 : 1, tap.close_count(old_fd));
    for (auto &l : links) {
      ASSERT_TRUE(same_stream(l->server_got(), l->client_sent)) << "session " << l->id();
      ASSERT_TRUE(same_stream(l->client_got, l->server_sent)) << "session " << l->id();
    }
  }
  for (auto &l : links) {
    l->client_send(100);
    l->server_send(100);
    l->pump();
    EXPECT_TRUE(same_stream(l->server_got(), l->client_sent));
    EXPECT_TRUE(same_stream(l->client_got, l->server_sent));
  }
}

}  // namespace
