// The pool's budget through the C API: a cap on sessions and on the bytes it
// holds, making room by ending the sessions detached the longest first, and
// refusing new sessions only when nothing is left to end; and the
// accept-time handshake clock (sc_pool_socket_opened).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace {

using namespace harness;

uint64_t read_clock(void *p) { return *static_cast<uint64_t *>(p); }

// A pool and any number of clients, each on its own fd, with every pool
// event recorded.
class Budget : public ::testing::Test {
 protected:
  struct Peer {
    connection *c = nullptr;
    int fd = -1;
    int id = 0;  // the session the pool opened for it
    std::string got;
    bool dead = false;
  };

  void SetUp() override {
    ASSERT_EQ(SC_OK, sc_pool_set_clock(pool, &read_clock, &now));
    ASSERT_EQ(SC_OK, sc_pool_enable_events(pool, 1));
  }
  void TearDown() override {
    for (auto &kv : peers) cc_close(kv.second.c);
    cp_delete(pool);
  }

  // Polls the pool: OUT to the peers' wires, closes and events recorded.
  void drain_pool() {
    pool_message m;
    sc_pool_event ev;
    for (int t; (t = sc_pool_poll(pool, &m, &ev)) != POOL_EMPTY;) {
      if (t == SC_POOL_EVENT) {
        events.push_back(ev);
        if (ev.type == SC_EVENT_SESSION_OPENED || ev.type == SC_EVENT_SESSION_RESUMED) {
          for (auto &kv : peers)
            if (kv.second.fd == ev.fd) kv.second.id = ev.id;
        }
      } else if (t == POOL_OUT && m.sz == 0) {
        closes.push_back(m.id);
      } else if (t == POOL_OUT) {
        to_client[m.id].append(m.buffer, m.sz);
      } else {
        server_in[m.id].append(m.buffer, m.sz);
      }
    }
  }

  // Moves bytes between peer `name` and the pool until nothing moves.
  void pump(const std::string &name) {
    Peer &p = peers.at(name);
    for (int round = 0; round < 50; ++round) {
      std::string up;
      connection_message cm;
      for (int t; (t = cc_poll(p.c, &cm)) != MESSAGE_EMPTY;) {
        if (t == MESSAGE_OUT)
          up.append(cm.buffer, static_cast<size_t>(cm.sz));
        else if (cm.sz == 0)
          p.dead = true;
        else
          p.got.append(cm.buffer, static_cast<size_t>(cm.sz));
      }
      if (!up.empty()) cp_recv(pool, p.fd, up.data(), up.size());
      drain_pool();
      std::string down = to_client[p.fd];
      to_client[p.fd].clear();
      if (!down.empty()) cc_recv(p.c, down.data(), down.size());
      if (up.empty() && down.empty()) return;
    }
    FAIL() << "pump did not settle";
  }

  // A client on `fd` that opens a session and sends `hello`.
  Peer &connect(const std::string &name, int fd) {
    Peer &p = peers[name];
    p.c = cc_open();
    p.fd = fd;
    cc_send(p.c, "hello", 5);
    pump(name);
    return p;
  }
  // The peer's socket breaks and the pool is told.
  void lose(const std::string &name) {
    Peer &p = peers.at(name);
    cp_recv(pool, p.fd, nullptr, 0);
    drain_pool();
    to_client[p.fd].clear();
  }
  // The peer comes back on `fd` and resumes.
  void come_back(const std::string &name, int fd) {
    Peer &p = peers.at(name);
    p.fd = fd;
    cc_handshake(p.c);
    pump(name);
  }

  int count(int type, int reason) const {
    int n = 0;
    for (const sc_pool_event &e : events) n += e.type == type && e.reason == reason;
    return n;
  }
  std::vector<int> closed_ids(int reason) const {
    std::vector<int> ids;
    for (const sc_pool_event &e : events)
      if (e.type == SC_EVENT_SESSION_CLOSED && e.reason == reason) ids.push_back(e.id);
    return ids;
  }
  bool exists(int id) {
    sc_session_info info;
    return sc_pool_session_info(pool, id, &info, sizeof info) == SC_OK;
  }
  sc_pool_stats stats() {
    sc_pool_stats st{};
    EXPECT_EQ(SC_OK, sc_pool_get_stats(pool, &st, sizeof st));
    return st;
  }
  void tick(uint64_t ms) { now += ms; }

  uint64_t now = 1000;
  FixedRandom random{99};
  connection_pool *pool = cp_new();
  std::map<std::string, Peer> peers;
  std::map<int, std::string> to_client;
  std::map<int, std::string> server_in;
  std::vector<sc_pool_event> events;
  std::vector<int> closes;
};

// ------------------------------------------------------------------ session cap

TEST_F(Budget, SessionCapEndsTheLongestDetachedFirst) {
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 3));
  connect("a", 3);
  connect("b", 4);
  connect("c", 5);
  ASSERT_EQ(3u, stats().sessions_open);
  cp_send(pool, peers["a"].id, "to a", 4);
  cp_send(pool, peers["b"].id, "to b", 4);
  pump("a");
  pump("b");
  // b goes first, then a: b has been detached the longest.
  lose("b");
  tick(10);
  lose("a");
  connect("d", 6);
  EXPECT_EQ(std::vector<int>{peers["b"].id}, closed_ids(SC_REASON_EVICTED));
  EXPECT_TRUE(exists(peers["a"].id));
  EXPECT_NE(0, peers["d"].id);
  EXPECT_EQ("hello", server_in[peers["d"].id]);
  connect("e", 7);
  EXPECT_EQ((std::vector<int>{peers["b"].id, peers["a"].id}), closed_ids(SC_REASON_EVICTED));
  // c, d and e have sockets: nothing is left to end, so the next one is
  // refused, and at its request, before any answer.
  Peer &f = connect("f", 8);
  EXPECT_EQ(0, f.id);
  EXPECT_TRUE(to_client[8].empty()) << "no answer to a request that cannot be kept";
  EXPECT_EQ(1, count(SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_POOL_FULL));
  EXPECT_EQ(8, closes.back());
  const sc_pool_stats st = stats();
  EXPECT_EQ(3u, st.sessions_open);
  EXPECT_EQ(2u, st.closed_evicted);
  EXPECT_EQ(1u, st.refused_pool_full);
  // The evicted client learns it when it comes back: its reuse names no session.
  come_back("b", 9);
  EXPECT_EQ(1, count(SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_UNKNOWN_SESSION));
  // Sessions with sockets were never touched.
  for (const char *name : {"c", "d", "e"}) {
    const int id = peers[name].id;
    cp_send(pool, id, "still here", 10);
    pump(name);
    EXPECT_EQ("still here", peers[name].got) << name;
  }
}

TEST_F(Budget, ACapSetLaterKnowsWhoDetachedFirst) {
  connect("a", 3);
  connect("b", 4);
  connect("c", 5);
  for (const char *name : {"a", "b"}) {
    cp_send(pool, peers[name].id, "x", 1);
    pump(name);
  }
  lose("b");
  tick(3);
  lose("a");
  come_back("a", 6);  // a resumes, then loses its socket again: now b is the oldest
  tick(3);
  lose("a");
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 3));
  connect("d", 7);
  EXPECT_EQ(std::vector<int>{peers["b"].id}, closed_ids(SC_REASON_EVICTED));
  connect("e", 8);
  EXPECT_EQ((std::vector<int>{peers["b"].id, peers["a"].id}), closed_ids(SC_REASON_EVICTED));
  // Switched off and on again, the order is rebuilt from what is detached.
  lose("c");
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 0));
  tick(3);
  lose("d");
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 3));
  connect("f", 9);
  EXPECT_EQ((std::vector<int>{peers["b"].id, peers["a"].id, peers["c"].id}), closed_ids(SC_REASON_EVICTED));
}

TEST_F(Budget, AResumeNeedsNoRoom) {
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 2));
  connect("a", 3);
  connect("b", 4);
  cp_send(pool, peers["a"].id, "x", 1);
  pump("a");
  lose("a");
  come_back("a", 5);
  EXPECT_EQ(0, count(SC_EVENT_SESSION_CLOSED, SC_REASON_EVICTED));
  EXPECT_EQ(1u, stats().reuses);
  EXPECT_EQ(2u, stats().sessions_open);
}

TEST_F(Budget, ZeroMeansNoLimitAndRaisingTheCapTakesEffect) {
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 1));
  connect("a", 3);
  connect("b", 4);
  EXPECT_EQ(0, peers["b"].id);
  ASSERT_EQ(SC_OK, sc_pool_set_max_sessions(pool, 0));
  for (int k = 0; k < 20; ++k) connect("n" + std::to_string(k), 10 + k);
  EXPECT_EQ(21u, stats().sessions_open);
  EXPECT_EQ(0, count(SC_EVENT_SESSION_CLOSED, SC_REASON_EVICTED));
}

// ------------------------------------------------------------------ byte budget

TEST_F(Budget, ByteBudgetEndsDetachedSessionsToMakeRoomForData) {
  connect("a", 3);
  connect("b", 4);
  connect("c", 5);
  // Each of a and b holds 20000 bytes, then loses its socket.
  const std::string big(20000, 'z');
  cp_send(pool, peers["a"].id, big.data(), big.size());
  cp_send(pool, peers["b"].id, big.data(), big.size());
  pump("a");
  pump("b");
  lose("a");
  tick(5);
  lose("b");
  const uint64_t before = stats().bytes_budgeted;
  EXPECT_GE(before, 40000u) << "what the sessions hold counts";
  // Room for about 10000 more bytes: c's next 20000 must end a detached
  // session, the longest detached first, and that is enough.
  ASSERT_EQ(SC_OK, sc_pool_set_max_bytes(pool, before + 10000));
  cp_send(pool, peers["c"].id, big.data(), big.size());
  drain_pool();
  EXPECT_EQ(std::vector<int>{peers["a"].id}, closed_ids(SC_REASON_EVICTED));
  EXPECT_TRUE(exists(peers["b"].id));
  EXPECT_LE(stats().bytes_budgeted, before + 10000);
  pump("c");
  EXPECT_EQ(big, peers["c"].got) << "data for a session with a socket is never dropped";
}

TEST_F(Budget, ByteBudgetTakenByAttachedSessionsRefusesNewOnes) {
  connect("a", 3);
  const std::string big(30000, 'q');
  cp_send(pool, peers["a"].id, big.data(), big.size());
  pump("a");
  ASSERT_EQ(SC_OK, sc_pool_set_max_bytes(pool, stats().bytes_budgeted));
  // A new socket costs something too: there is no room for it.
  Peer &b = connect("b", 4);
  EXPECT_EQ(0, b.id);
  EXPECT_EQ(1, count(SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_POOL_FULL));
  EXPECT_EQ(4, closes.back());
  // More data for a is still accepted (the budget is then exceeded).
  cp_send(pool, peers["a"].id, "more", 4);
  pump("a");
  EXPECT_EQ(big + "more", peers["a"].got);
  // Once a ends, there is room again.
  cp_send(pool, peers["a"].id, nullptr, 0);
  drain_pool();
  Peer &c = connect("c", 5);
  EXPECT_NE(0, c.id);
  EXPECT_EQ("hello", server_in[c.id]);
}

TEST_F(Budget, NewSessionEndsDetachedOnesWhenBytesRunOut) {
  connect("a", 3);
  const std::string big(5000, 'w');
  cp_send(pool, peers["a"].id, big.data(), big.size());
  pump("a");
  lose("a");
  // Exactly the current footprint: a new socket only fits once a is gone.
  ASSERT_EQ(SC_OK, sc_pool_set_max_bytes(pool, stats().bytes_budgeted));
  Peer &b = connect("b", 4);
  EXPECT_NE(0, b.id);
  EXPECT_EQ(std::vector<int>{peers["a"].id}, closed_ids(SC_REASON_EVICTED));
  EXPECT_EQ("hello", server_in[b.id]);
}

TEST_F(Budget, FootprintFollowsWhatIsHeld) {
  const uint64_t empty = stats().bytes_budgeted;
  EXPECT_EQ(0u, empty);
  connect("a", 3);
  const uint64_t one = stats().bytes_budgeted;
  EXPECT_GT(one, 0u) << "a session has a cost of its own";
  const std::string data(3000, 'e');
  cp_send(pool, peers["a"].id, data.data(), data.size());
  pump("a");
  EXPECT_EQ(one + 3000, stats().bytes_budgeted);
  cp_send(pool, peers["a"].id, nullptr, 0);
  drain_pool();
  EXPECT_EQ(0u, stats().bytes_budgeted);
}

// ------------------------------------------------------------------ accept-time clock

TEST_F(Budget, ASocketThatNeverSendsTimesOutOnceAnnounced) {
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 7));
  drain_pool();
  EXPECT_TRUE(closes.empty());
  EXPECT_EQ(1u, stats().handshakes_pending);
  tick(SC_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  cp_timeout(pool);
  drain_pool();
  EXPECT_TRUE(closes.empty()) << "exactly the timeout is still allowed";
  tick(1);
  cp_timeout(pool);
  drain_pool();
  EXPECT_EQ(std::vector<int>{7}, closes);
  EXPECT_EQ(1, count(SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_TIMED_OUT));
  EXPECT_EQ(0u, stats().handshakes_pending);
}

TEST_F(Budget, WithoutTheNoticeASilentSocketIsUnknown) {
  tick(uint64_t{1} << 40);
  cp_timeout(pool);
  drain_pool();
  EXPECT_TRUE(closes.empty());
  EXPECT_EQ(0u, stats().handshakes_pending);
}

TEST_F(Budget, AnAnnouncedSocketHandshakesAsUsualAndItsClockStartsAtTheNotice) {
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 3));
  tick(SC_DEFAULT_HANDSHAKE_TIMEOUT_MS - 5);
  connect("a", 3);
  EXPECT_NE(0, peers["a"].id);
  EXPECT_EQ("hello", server_in[peers["a"].id]);
  // Completed: no longer subject to the handshake timeout.
  tick(10 * SC_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  cp_timeout(pool);
  drain_pool();
  EXPECT_TRUE(closes.empty());

  // A socket announced long before its first byte is timed from the notice.
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 4));
  tick(SC_DEFAULT_HANDSHAKE_TIMEOUT_MS + 1);
  Peer &b = peers["b"];
  b.c = cc_open();
  b.fd = 4;
  connection_message cm;
  ASSERT_EQ(MESSAGE_OUT, cc_poll(b.c, &cm));
  cp_recv(pool, 4, cm.buffer, 8);  // half a request
  cp_timeout(pool);
  drain_pool();
  EXPECT_EQ(std::vector<int>{4}, closes);
}

TEST_F(Budget, NoticeCountsAgainstTheHandshakeCap) {
  ASSERT_EQ(SC_OK, sc_pool_set_max_handshakes(pool, 2));
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 10));
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 11));
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 12));
  drain_pool();
  EXPECT_EQ(std::vector<int>{12}, closes) << "refused at once";
  EXPECT_EQ(1, count(SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_TOO_MANY_HANDSHAKES));
  EXPECT_EQ(2u, stats().handshakes_pending);
}

TEST_F(Budget, NoticeCountsAgainstTheByteBudget) {
  ASSERT_EQ(SC_OK, sc_pool_set_max_bytes(pool, 1));
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 10));
  drain_pool();
  EXPECT_EQ(std::vector<int>{10}, closes);
  EXPECT_EQ(1, count(SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_POOL_FULL));
  EXPECT_EQ(0u, stats().handshakes_pending);
}

TEST_F(Budget, NoticeForAnFdStillAttachedDetachesItsSession) {
  connect("a", 3);
  const int id = peers["a"].id;
  // accept() gave fd 3 again: the old socket must be gone.
  ASSERT_EQ(SC_OK, sc_pool_socket_opened(pool, 3));
  drain_pool();
  sc_session_info info{};
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool, id, &info, sizeof info));
  EXPECT_EQ(SC_SESSION_DETACHED, info.state);
  connect("b", 3);
  EXPECT_NE(0, peers["b"].id);
  EXPECT_NE(id, peers["b"].id);
  EXPECT_EQ("hello", server_in[peers["b"].id]);
}

TEST(BudgetArguments, Errors) {
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_max_sessions(nullptr, 1));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_max_bytes(nullptr, 1));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_socket_opened(nullptr, 1));
  connection_pool *cp = cp_new();
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_socket_opened(cp, -1));
  EXPECT_EQ(SC_OK, sc_pool_set_max_sessions(cp, 0));
  EXPECT_EQ(SC_OK, sc_pool_set_max_bytes(cp, 0));
  EXPECT_STRNE("unknown reason", sc_reason_string(SC_REASON_EVICTED));
  EXPECT_STRNE("unknown reason", sc_reason_string(SC_REASON_POOL_FULL));
  EXPECT_STRNE(sc_reason_string(SC_REASON_EVICTED), sc_reason_string(SC_REASON_POOL_FULL));
  cp_delete(cp);
}

}  // namespace
