// Events, reasons, counters and backlog of the extension API, each produced
// by a real scenario through the C API.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h"
#include "stable_connection_testing.h"

namespace {

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int k = 0; k < 8; ++k) s[k] = static_cast<char>(v >> (8 * k));
  return s;
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t k = 0; k < n; ++k) s[k] = static_cast<char>((k * 131 + seed * 7 + (k >> 8)) & 0xff);
  return s;
}

struct ManualClock {
  uint64_t now = 1000;
  static uint64_t read(void *self) { return static_cast<ManualClock *>(self)->now; }
};

// One pool and one client with events on, joined by an in-memory socket.
// Everything either side polls is recorded in order.
class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(pool, nullptr);
    ASSERT_NE(client, nullptr);
    ASSERT_EQ(SC_OK, sc_pool_set_clock(pool, &ManualClock::read, &clock));
    ASSERT_EQ(SC_OK, sc_pool_enable_events(pool, 1));
    ASSERT_EQ(SC_OK, sc_client_enable_events(client, 1));
  }
  void TearDown() override {
    cc_close(client);
    cp_delete(pool);
  }

  // Polls the client; OUT bytes are returned (and not delivered).
  std::string poll_client() {
    std::string out;
    connection_message m;
    sc_client_event ev;
    for (int t; (t = sc_client_poll(client, &m, &ev)) != MESSAGE_EMPTY;) {
      if (t == MESSAGE_OUT) {
        out.append(m.buffer, m.sz);
      } else if (t == MESSAGE_IN) {
        if (m.sz == 0) client_dead = true;
        client_in.append(m.buffer, m.sz);
      } else {
        EXPECT_EQ(t, SC_MESSAGE_EVENT);
        client_events.push_back(ev);
      }
    }
    return out;
  }

  // Polls the pool; OUT bytes for `fd` are returned (and not delivered).
  std::string poll_pool(int fd) {
    std::string out;
    pool_message m;
    sc_pool_event ev;
    for (int t; (t = sc_pool_poll(pool, &m, &ev)) != POOL_EMPTY;) {
      if (t == POOL_OUT) {
        if (m.sz == 0)
          closes.push_back(m.id);
        else if (m.id == fd)
          out.append(m.buffer, m.sz);
      } else if (t == POOL_IN) {
        server_in.append(m.buffer, m.sz);
        trace.push_back("in:" + std::to_string(m.id));
      } else {
        EXPECT_EQ(t, SC_POOL_EVENT);
        pool_events.push_back(ev);
        trace.push_back("event:" + std::to_string(ev.type));
      }
    }
    return out;
  }

  // Delivers both ways on fd until nothing moves.
  void pump(int fd) {
    for (int round = 0; round < 50; ++round) {
      const std::string up = poll_client();
      if (!up.empty()) cp_recv(pool, fd, up.data(), up.size());
      const std::string down = poll_pool(fd);
      if (!down.empty()) cc_recv(client, down.data(), down.size());
      if (up.empty() && down.empty()) return;
    }
    FAIL() << "pump did not settle";
  }

  void server_send(int id, const std::string &s) { cp_send(pool, id, s.data(), s.size()); }
  void client_send(const std::string &s) { cc_send(client, s.data(), s.size()); }

  const sc_pool_event *last_pool_event(int type) const {
    for (auto it = pool_events.rbegin(); it != pool_events.rend(); ++it)
      if (it->type == type) return &*it;
    return nullptr;
  }
  const sc_client_event *last_client_event(int type) const {
    for (auto it = client_events.rbegin(); it != client_events.rend(); ++it)
      if (it->type == type) return &*it;
    return nullptr;
  }
  sc_pool_stats pool_stats() {
    sc_pool_stats st;
    EXPECT_EQ(SC_OK, sc_pool_get_stats(pool, &st, sizeof st));
    return st;
  }
  sc_client_stats client_stats() {
    sc_client_stats st;
    EXPECT_EQ(SC_OK, sc_client_get_stats(client, &st, sizeof st));
    return st;
  }

  // Opens session 1 on fd 5 and exchanges a little data each way.
  void open_session() {
    client_send("hello");
    pump(5);
    server_send(1, "welcome");
    pump(5);
    ASSERT_EQ(server_in, "hello");
    ASSERT_EQ(client_in, "welcome");
  }

  ManualClock clock;
  connection_pool *pool = cp_new();
  connection *client = cc_open();
  std::vector<sc_pool_event> pool_events;
  std::vector<sc_client_event> client_events;
  std::vector<std::string> trace;
  std::vector<int> closes;
  std::string server_in, client_in;
  bool client_dead = false;
};

TEST_F(EventsTest, OpenedComesBeforeTheSessionsFirstData) {
  open_session();
  ASSERT_GE(trace.size(), 2u);
  EXPECT_EQ(trace[0], "event:" + std::to_string(SC_EVENT_SESSION_OPENED));
  EXPECT_EQ(trace[1], "in:1");
  const sc_pool_event *opened = last_pool_event(SC_EVENT_SESSION_OPENED);
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->id, 1);
  EXPECT_EQ(opened->fd, 5);
  ASSERT_EQ(client_events.size(), 1u);
  EXPECT_EQ(client_events[0].type, SC_EVENT_CONNECTED);

  const sc_pool_stats ps = pool_stats();
  EXPECT_EQ(ps.sessions_open, 1u);
  EXPECT_EQ(ps.sessions_detached, 0u);
  EXPECT_EQ(ps.sessions_opened, 1u);
  EXPECT_EQ(ps.bytes_in, 5u);
  EXPECT_EQ(ps.bytes_out, 7u);
  EXPECT_EQ(ps.bytes_held, 7u);
  EXPECT_EQ(ps.handshakes_pending, 0u);
  const sc_client_stats cs = client_stats();
  EXPECT_EQ(cs.state, SC_CLIENT_ESTABLISHED);
  EXPECT_EQ(cs.sessions_opened, 1u);
  EXPECT_EQ(cs.bytes_in, 7u);
  EXPECT_EQ(cs.bytes_out, 5u);
  EXPECT_EQ(cs.bytes_held, 5u);
}

TEST_F(EventsTest, ResumeAfterLossesReportsWhatEachSideResent) {
  open_session();
  // Both directions lose what was in flight when the socket broke.
  const std::string down = pattern(300, 1), up = pattern(200, 2);
  server_send(1, down);
  client_send(up);
  poll_pool(5);
  poll_client();
  cp_recv(pool, 5, nullptr, 0);
  poll_pool(5);
  const sc_pool_event *detached = last_pool_event(SC_EVENT_SESSION_DETACHED);
  ASSERT_NE(detached, nullptr);
  EXPECT_EQ(detached->id, 1);
  EXPECT_EQ(detached->fd, 5);
  EXPECT_EQ(pool_stats().sessions_detached, 1u);

  clock.now += 1234;
  sc_session_info info;
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool, 1, &info, sizeof info));
  EXPECT_EQ(info.state, SC_SESSION_DETACHED);
  EXPECT_EQ(info.fd, -1);
  EXPECT_EQ(info.detached_ms, 1234u);
  EXPECT_EQ(info.bytes_held, 307u);

  cc_handshake(client);
  pump(6);
  EXPECT_EQ(server_in, "hello" + up);
  EXPECT_EQ(client_in, "welcome" + down);

  const sc_pool_event *resumed = last_pool_event(SC_EVENT_SESSION_RESUMED);
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed->id, 1);
  EXPECT_EQ(resumed->fd, 6);
  EXPECT_EQ(resumed->old_fd, -1);
  EXPECT_EQ(resumed->resent_bytes, down.size());
  EXPECT_EQ(resumed->detached_ms, 1234u);
  const sc_client_event *cresumed = last_client_event(SC_EVENT_RESUMED);
  ASSERT_NE(cresumed, nullptr);
  EXPECT_EQ(cresumed->resent_bytes, up.size());

  const sc_pool_stats ps = pool_stats();
  EXPECT_EQ(ps.reuses, 1u);
  EXPECT_EQ(ps.detaches, 1u);
  EXPECT_EQ(ps.bytes_resent, down.size());
  EXPECT_EQ(ps.sessions_detached, 0u);
  EXPECT_EQ(ps.bytes_in, 5u + up.size());
  const sc_client_stats cs = client_stats();
  EXPECT_EQ(cs.reuses, 1u);
  EXPECT_EQ(cs.bytes_resent, up.size());
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool, 1, &info, sizeof info));
  EXPECT_EQ(info.state, SC_SESSION_ATTACHED);
  EXPECT_EQ(info.fd, 6);
}

TEST_F(EventsTest, ResumeWhileTheOldSocketIsAttachedNamesIt) {
  open_session();
  cc_handshake(client);
  pump(8);
  const sc_pool_event *resumed = last_pool_event(SC_EVENT_SESSION_RESUMED);
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed->old_fd, 5);
  EXPECT_EQ(resumed->fd, 8);
  EXPECT_EQ(resumed->detached_ms, 0u);
  EXPECT_EQ(resumed->resent_bytes, 0u);
  EXPECT_EQ(closes, std::vector<int>{5});
  EXPECT_EQ(last_pool_event(SC_EVENT_SESSION_DETACHED), nullptr);  // it never waited without a socket
}

TEST_F(EventsTest, ClosedByTheApplication) {
  open_session();
  cp_send(pool, 1, nullptr, 0);
  poll_pool(5);
  const sc_pool_event *closed = last_pool_event(SC_EVENT_SESSION_CLOSED);
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->id, 1);
  EXPECT_EQ(closed->reason, SC_REASON_BY_APPLICATION);
  EXPECT_EQ(pool_stats().closed_by_application, 1u);
  EXPECT_EQ(pool_stats().sessions_open, 0u);
  EXPECT_EQ(pool_stats().bytes_held, 0u);
  EXPECT_EQ(closes, std::vector<int>{5});
}

TEST_F(EventsTest, ExpiredAfterTheReuseTimeout) {
  ASSERT_EQ(SC_OK, sc_pool_set_reuse_timeout(pool, 5000));
  open_session();
  cp_recv(pool, 5, nullptr, 0);
  clock.now += 5000;
  cp_timeout(pool);
  poll_pool(5);
  EXPECT_EQ(last_pool_event(SC_EVENT_SESSION_CLOSED), nullptr);
  clock.now += 1;
  cp_timeout(pool);
  poll_pool(5);
  const sc_pool_event *closed = last_pool_event(SC_EVENT_SESSION_CLOSED);
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->reason, SC_REASON_EXPIRED);
  EXPECT_EQ(pool_stats().closed_expired, 1u);
  sc_session_info info;
  EXPECT_EQ(SC_ERR_NOT_FOUND, sc_pool_session_info(pool, 1, &info, sizeof info));
}

TEST_F(EventsTest, BacklogBeyondTheWindowEndsTheDetachedSession) {
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool, 1000));
  open_session();
  cp_recv(pool, 5, nullptr, 0);
  server_send(1, pattern(600, 3));
  uint64_t backlog = 0;
  ASSERT_EQ(SC_OK, sc_pool_session_backlog(pool, 1, &backlog));
  EXPECT_EQ(backlog, 600u);
  server_send(1, pattern(401, 4));  // 1001 bytes the client cannot have: one more than the window
  poll_pool(5);
  const sc_pool_event *closed = last_pool_event(SC_EVENT_SESSION_CLOSED);
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->reason, SC_REASON_BACKLOG);
  EXPECT_EQ(pool_stats().closed_backlog, 1u);
  EXPECT_EQ(SC_ERR_NOT_FOUND, sc_pool_session_backlog(pool, 1, &backlog));

  // The client's reuse request now names nothing.
  cc_handshake(client);
  pump(6);
  const sc_pool_event *refused = last_pool_event(SC_EVENT_HANDSHAKE_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->fd, 6);
  EXPECT_EQ(refused->reason, SC_REASON_UNKNOWN_SESSION);
}

TEST_F(EventsTest, BacklogFollowsWhatTheApplicationHasPolled) {
  open_session();
  uint64_t backlog = 99;
  ASSERT_EQ(SC_OK, sc_pool_session_backlog(pool, 1, &backlog));
  EXPECT_EQ(backlog, 0u);
  server_send(1, pattern(500, 5));
  ASSERT_EQ(SC_OK, sc_pool_session_backlog(pool, 1, &backlog));
  EXPECT_EQ(backlog, 500u);
  poll_pool(5);  // handed to the socket
  ASSERT_EQ(SC_OK, sc_pool_session_backlog(pool, 1, &backlog));
  EXPECT_EQ(backlog, 0u);

  ASSERT_EQ(SC_OK, sc_client_backlog(client, &backlog));
  EXPECT_EQ(backlog, 0u);
  client_send(pattern(70, 6));
  ASSERT_EQ(SC_OK, sc_client_backlog(client, &backlog));
  EXPECT_EQ(backlog, 70u);
  poll_client();
  ASSERT_EQ(SC_OK, sc_client_backlog(client, &backlog));
  EXPECT_EQ(backlog, 0u);
}

TEST_F(EventsTest, ClientBacklogCountsDataQueuedBeforeTheHandshake) {
  client_send(pattern(40, 7));
  uint64_t backlog = 0;
  ASSERT_EQ(SC_OK, sc_client_backlog(client, &backlog));
  EXPECT_EQ(backlog, 40u);
  pump(5);
  ASSERT_EQ(SC_OK, sc_client_backlog(client, &backlog));
  EXPECT_EQ(backlog, 0u);
}

TEST_F(EventsTest, RefusedBadAuth) {
  cp_recv(pool, 9, (le64(0) + le64(12345)).data(), 16);
  poll_pool(9);
  const std::string wrong = le64(42);
  cp_recv(pool, 9, wrong.data(), wrong.size());
  poll_pool(9);
  const sc_pool_event *refused = last_pool_event(SC_EVENT_HANDSHAKE_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->fd, 9);
  EXPECT_EQ(refused->id, 0);
  EXPECT_EQ(refused->reason, SC_REASON_BAD_AUTH);
  EXPECT_EQ(pool_stats().refused_bad_auth, 1u);
  EXPECT_EQ(closes, std::vector<int>{9});
}

TEST_F(EventsTest, RefusedUnknownSession) {
  const std::string request = le64(10) + std::string("\xde\xad\x00\x00", 4);
  cp_recv(pool, 9, request.data(), request.size());
  poll_pool(9);
  const sc_pool_event *refused = last_pool_event(SC_EVENT_HANDSHAKE_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, SC_REASON_UNKNOWN_SESSION);
  EXPECT_EQ(pool_stats().refused_unknown_session, 1u);
}

TEST_F(EventsTest, RefusedMalformed) {
  const std::string oversized = le64(0) + le64(7) + "more";
  cp_recv(pool, 9, oversized.data(), oversized.size());
  // Bytes before the answer was polled break the protocol too.
  cp_recv(pool, 10, (le64(0) + le64(7)).data(), 16);
  cp_recv(pool, 10, "x", 1);
  poll_pool(9);
  EXPECT_EQ(pool_stats().refused_malformed, 2u);
  ASSERT_EQ(pool_events.size(), 2u);
  EXPECT_EQ(pool_events[0].fd, 9);
  EXPECT_EQ(pool_events[0].reason, SC_REASON_MALFORMED);
  EXPECT_EQ(pool_events[1].fd, 10);
  EXPECT_EQ(pool_events[1].reason, SC_REASON_MALFORMED);
}

TEST_F(EventsTest, RefusedTimedOut) {
  ASSERT_EQ(SC_OK, sc_pool_set_handshake_timeout(pool, 2000));
  cp_recv(pool, 9, "\0\0\0", 3);
  clock.now += 2001;
  cp_timeout(pool);
  poll_pool(9);
  const sc_pool_event *refused = last_pool_event(SC_EVENT_HANDSHAKE_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->fd, 9);
  EXPECT_EQ(refused->reason, SC_REASON_TIMED_OUT);
  EXPECT_EQ(pool_stats().refused_timed_out, 1u);
}

TEST_F(EventsTest, RefusedWindowExceededOnBothSides) {
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool, 1000));
  client_send("x");
  pump(5);
  server_send(1, pattern(520, 8));  // received: the client's last boundary is 512
  pump(5);
  // 1080 more bytes die in flight: the pool now holds 600..1600, so the
  // client's position 520 is gone although its boundary is still known.
  server_send(1, pattern(1080, 9));
  poll_pool(5);
  cp_recv(pool, 5, nullptr, 0);
  cc_handshake(client);
  pump(6);
  const sc_pool_event *refused = last_pool_event(SC_EVENT_HANDSHAKE_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->fd, 6);
  EXPECT_EQ(refused->reason, SC_REASON_WINDOW_EXCEEDED);
  EXPECT_EQ(pool_stats().refused_window_exceeded, 1u);

  // The client refuses a server that asks for bytes it no longer holds.
  cc_handshake(client);
  poll_client();
  const std::string reply = le64(1000000) + le64(77);
  cc_recv(client, reply.data(), reply.size());
  poll_client();
  const sc_client_event *crefused = last_client_event(SC_EVENT_REFUSED);
  ASSERT_NE(crefused, nullptr);
  EXPECT_EQ(crefused->reason, SC_REASON_WINDOW_EXCEEDED);
  EXPECT_TRUE(client_dead);
  EXPECT_EQ(client_stats().refused, 1u);
  EXPECT_EQ(client_stats().state, SC_CLIENT_DEAD);
}

TEST_F(EventsTest, SessionResetWhenNothingWasReceived) {
  client_send(pattern(33, 10));
  pump(5);
  ASSERT_EQ(server_in.size(), 33u);
  cc_handshake(client);
  const sc_client_event *reset = nullptr;
  poll_client();
  reset = last_client_event(SC_EVENT_SESSION_RESET);
  ASSERT_NE(reset, nullptr);
  EXPECT_EQ(reset->lost_bytes, 33u);
  EXPECT_EQ(client_stats().resets, 1u);
}

TEST(EventsApi, ReasonsAndErrorsHaveNames) {
  for (int r = SC_REASON_NONE; r <= SC_REASON_MAX; ++r) {
    ASSERT_NE(sc_reason_string(r), nullptr);
    EXPECT_STRNE(sc_reason_string(r), "unknown reason") << r;
  }
  EXPECT_STREQ(sc_reason_string(SC_REASON_MAX + 1), "unknown reason");
  EXPECT_STREQ(sc_strerror(SC_ERR_NOT_FOUND), "no such session");
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_enable_events(nullptr, 1));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_client_enable_events(nullptr, 1));
  connection_pool *cp = cp_new();
  pool_message m;
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_poll(cp, &m, nullptr));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_get_stats(cp, nullptr, 0));
  cp_delete(cp);
}

TEST(EventsApi, StatsCopyNoMoreThanTheCallerKnows) {
  connection_pool *cp = cp_new();
  cp_recv(cp, 3, "\0", 1);
  unsigned char buf[sizeof(sc_pool_stats) + 8];
  std::memset(buf, 0xab, sizeof buf);
  const size_t old_size = 3 * sizeof(uint64_t);  // a caller that knows three fields
  ASSERT_EQ(SC_OK, sc_pool_get_stats(cp, reinterpret_cast<sc_pool_stats *>(buf), old_size));
  uint64_t pending;
  std::memcpy(&pending, buf + 2 * sizeof(uint64_t), sizeof pending);
  EXPECT_EQ(pending, 1u);
  for (size_t k = old_size; k < sizeof buf; ++k) ASSERT_EQ(buf[k], 0xab) << k;
  cp_delete(cp);
}

// ------------------------------------------------------------------ legacy stream unchanged

uint64_t counting_random(void *state) { return ++*static_cast<uint64_t *>(state) * 0x9e3779b97f4a7c15ull; }

// Runs one scripted legacy program (reconnects and losses included) and
// returns every message cp_poll and cc_poll gave, in order.
std::vector<std::string> legacy_transcript(int events_mode) {
  uint64_t server_state = 0, client_state = 100;
  sc_testing_set_random(SC_RANDOM_SERVER, counting_random, &server_state);
  sc_testing_set_random(SC_RANDOM_CLIENT, counting_random, &client_state);
  connection_pool *cp = cp_new();
  connection *c = cc_open();
  if (events_mode >= 1) {
    sc_pool_enable_events(cp, 1);
    sc_client_enable_events(c, 1);
  }
  std::vector<std::string> log;
  auto step = [&](int fd, bool deliver) {
    for (int round = 0; round < 20; ++round) {
      std::string up, down;
      connection_message cm;
      sc_client_event cev;
      for (int t; (t = events_mode == 2 ? sc_client_poll(c, &cm, &cev) : cc_poll(c, &cm)) != MESSAGE_EMPTY;) {
        if (t == SC_MESSAGE_EVENT) continue;
        log.push_back("c" + std::to_string(t) + ":" + std::string(cm.buffer ? cm.buffer : "", cm.sz));
        if (t == MESSAGE_OUT) up.append(cm.buffer, cm.sz);
      }
      if (deliver && !up.empty()) cp_recv(cp, fd, up.data(), up.size());
      pool_message pm;
      sc_pool_event pev;
      for (int t; (t = events_mode == 2 ? sc_pool_poll(cp, &pm, &pev) : cp_poll(cp, &pm)) != POOL_EMPTY;) {
        if (t == SC_POOL_EVENT) continue;
        log.push_back("s" + std::to_string(t) + "/" + std::to_string(pm.id) + ":" +
                      std::string(pm.buffer ? pm.buffer : "", pm.sz));
        if (t == POOL_OUT && pm.id == fd) down.append(pm.buffer, pm.sz);
      }
      if (deliver && !down.empty()) cc_recv(c, down.data(), down.size());
      if (up.empty() && down.empty()) return;
    }
  };
  cc_send(c, "abc", 3);
  step(4, true);
  for (int k = 0; k < 4; ++k) {
    const std::string s = pattern(100 + 90 * k, k), u = pattern(50 + 70 * k, k + 10);
    cp_send(cp, 1, s.data(), s.size());
    cc_send(c, u.data(), u.size());
    step(4 + k, k % 2 == 0);  // every other round the data dies in flight
    cp_recv(cp, 4 + k, nullptr, 0);
    cc_handshake(c);
    step(5 + k, true);
  }
  cp_send(cp, 1, nullptr, 0);
  step(8, true);
  cc_close(c);
  cp_delete(cp);
  sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr);
  sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr);
  return log;
}

TEST(EventsLegacy, LegacyMessageStreamIsUnchangedByEvents) {
  const std::vector<std::string> plain = legacy_transcript(0);
  ASSERT_GT(plain.size(), 20u);
  // Events enabled but the program only calls cp_poll/cc_poll: they are skipped.
  EXPECT_EQ(legacy_transcript(1), plain);
  // Events enabled and polled with the extension calls: the same data besides them.
  EXPECT_EQ(legacy_transcript(2), plain);
}

}  // namespace
