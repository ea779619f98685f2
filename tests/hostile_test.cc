// Hostile and broken peers, and allocation failure: memory per handshaking
// socket is bounded and reclaimed, a cap refuses the excess, a client that
// never reads cannot make the pool hold more than the window, and failing any
// single allocation leaves the pool usable with every stream intact.
//
// This binary replaces operator new (alloc_hook.cc) to count and fail
// allocations.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "alloc_hook.h"
#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h"
#include "stable_connection_testing.h"

namespace {

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t k = 0; k < n; ++k) s[k] = static_cast<char>((k * 2654435761u + seed * 40503u) >> 13);
  return s;
}

bool is_prefix(const std::string &part, const std::string &whole) {
  return part.size() <= whole.size() && whole.compare(0, part.size(), part) == 0;
}

struct ManualClock {
  uint64_t now = 5000;
  static uint64_t read(void *self) { return static_cast<ManualClock *>(self)->now; }
};

// Runs one library call with allocation counting (and failing) armed.
template <typename F>
auto armed(F f) {
  alloc_hook::Armed on;
  return f();
}

// One client and a pool in memory. Library calls run "armed", so that an
// allocation-failure plan only ever hits the library.
struct Link {
  connection_pool *pool;
  connection *client;
  int fd;
  std::string client_sent, server_sent, client_got, server_got;
  int server_closed_fd = 0;
  std::set<int> closed_fds;
  bool wrote_after_close = false;
  bool client_dead = false;
  // A client that reconnects before receiving anything starts a new session
  // (a limit of the wire format): each session's stream is checked on its own.
  std::map<int, std::string> server_got_by_id;
  std::vector<size_t> epoch_start{0};  // offset in client_sent of each client session
  std::map<int, size_t> epoch_of_id;

  void enable_events() {
    sc_pool_enable_events(pool, 1);
    sc_client_enable_events(client, 1);
  }
  // True if what each session received is a prefix of what its client sent in it.
  bool sessions_consistent() const {
    for (const auto &kv : server_got_by_id) {
      auto e = epoch_of_id.find(kv.first);
      if (e == epoch_of_id.end()) return false;
      if (!is_prefix(kv.second, client_sent.substr(epoch_start[e->second]))) return false;
    }
    return true;
  }

  void client_send(const std::string &s) {
    client_sent += s;
    alloc_hook::Armed armed;
    cc_send(client, s.data(), s.size());
  }
  void server_send(int id, const std::string &s) {
    server_sent += s;
    alloc_hook::Armed armed;
    cp_send(pool, id, s.data(), s.size());
  }
  // Delivers both ways until quiet; `lose` drops what is polled instead.
  void pump(bool lose = false) {
    for (int round = 0; round < 30; ++round) {
      std::string up, down;
      connection_message m;
      sc_client_event cev;
      for (int t; (t = armed([&] { return sc_client_poll(client, &m, &cev); })) != MESSAGE_EMPTY;) {
        if (t == SC_MESSAGE_EVENT) {
          if (cev.type == SC_EVENT_SESSION_RESET) epoch_start.push_back(epoch_start.back() + cev.lost_bytes);
        } else if (t == MESSAGE_OUT) {
          up.append(m.buffer, m.sz);
        } else if (m.sz == 0) {
          client_dead = true;
        } else {
          client_got.append(m.buffer, m.sz);
        }
      }
      if (!lose && !up.empty()) armed([&] { cp_recv(pool, fd, up.data(), up.size()); });
      pool_message pm;
      sc_pool_event pev;
      for (int t; (t = armed([&] { return sc_pool_poll(pool, &pm, &pev); })) != POOL_EMPTY;) {
        if (t == SC_POOL_EVENT) {
          if (pev.type == SC_EVENT_SESSION_OPENED) epoch_of_id[pev.id] = epoch_start.size() - 1;
        } else if (t == POOL_IN) {
          server_got.append(pm.buffer, pm.sz);
          server_got_by_id[pm.id].append(pm.buffer, pm.sz);
        } else if (pm.sz == 0) {
          server_closed_fd = pm.id;
          closed_fds.insert(pm.id);
        } else {
          // The tests never reuse an fd number: after its close, nothing more.
          if (closed_fds.count(pm.id)) wrote_after_close = true;
          if (pm.id == fd) down.append(pm.buffer, pm.sz);
        }
      }
      if (!lose && !down.empty()) armed([&] { cc_recv(client, down.data(), down.size()); });
      if (up.empty() && down.empty()) return;
    }
  }
  void reconnect(int new_fd) {
    alloc_hook::Armed armed;
    cp_recv(pool, fd, nullptr, 0);
    cc_handshake(client);
    fd = new_fd;
  }
};

// ------------------------------------------------------------------ memory bounds

TEST(Hostile, NewPoolIsSmall) {
  const int64_t before = alloc_hook::live_bytes();
  connection_pool *cp = cp_new();
  const int64_t cost = alloc_hook::live_bytes() - before;
  std::printf("cp_new: %lld bytes of heap\n", static_cast<long long>(cost));
  EXPECT_LT(cost, 64 * 1024);
  cp_delete(cp);
  EXPECT_EQ(alloc_hook::live_bytes(), before);
}

TEST(Hostile, HalfOpenFloodCostsBoundedMemoryAndIsReclaimed) {
  ManualClock clock;
  connection_pool *cp = cp_new();
  sc_pool_set_clock(cp, &ManualClock::read, &clock);
  const int64_t before = alloc_hook::live_bytes();
  const int sockets = 100000;
  const std::string partial = std::string(8, '\0') + "1234567";  // 15 of the 16 bytes
  for (int fd = 0; fd < sockets; ++fd) cp_recv(cp, 1000 + fd, partial.data(), 1 + fd % partial.size());
  const int64_t per_socket = (alloc_hook::live_bytes() - before) / sockets;
  std::printf("half-open handshake: %lld bytes per socket\n", static_cast<long long>(per_socket));
  EXPECT_LE(per_socket, 192);  // the documented bound
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(cp, &st, sizeof st));
  EXPECT_EQ(st.handshakes_pending, static_cast<uint64_t>(sockets));

  clock.now += SC_DEFAULT_HANDSHAKE_TIMEOUT_MS + 1;
  cp_timeout(cp);
  int closes = 0;
  pool_message m;
  for (int t; (t = cp_poll(cp, &m)) != POOL_EMPTY;) {
    ASSERT_EQ(t, POOL_OUT);
    ASSERT_EQ(m.sz, 0u);
    ++closes;
  }
  EXPECT_EQ(closes, sockets);
  ASSERT_EQ(SC_OK, sc_pool_get_stats(cp, &st, sizeof st));
  EXPECT_EQ(st.handshakes_pending, 0u);
  EXPECT_EQ(st.refused_timed_out, static_cast<uint64_t>(sockets));
  // What is left is the tables' empty capacity, not per-socket state.
  const int64_t left = alloc_hook::live_bytes() - before;
  std::printf("after cp_timeout: %lld bytes left (hash table buckets)\n", static_cast<long long>(left));
  EXPECT_LE(left, static_cast<int64_t>(sockets) * 16);
  cp_delete(cp);
}

TEST(Hostile, HandshakeCapRefusesTheExcess) {
  connection_pool *cp = cp_new();
  ASSERT_EQ(SC_OK, sc_pool_set_max_handshakes(cp, 1000));
  ASSERT_EQ(SC_OK, sc_pool_enable_events(cp, 1));
  for (int fd = 0; fd < 1500; ++fd) cp_recv(cp, 10 + fd, "\0\0", 2);
  int closes = 0, refused_events = 0;
  pool_message m;
  sc_pool_event ev;
  for (int t; (t = sc_pool_poll(cp, &m, &ev)) != POOL_EMPTY;) {
    if (t == POOL_OUT) {
      EXPECT_EQ(m.sz, 0u);
      EXPECT_GE(m.id, 10 + 1000);  // the first thousand stay
      ++closes;
    } else if (t == SC_POOL_EVENT) {
      EXPECT_EQ(ev.type, SC_EVENT_HANDSHAKE_REFUSED);
      EXPECT_EQ(ev.reason, SC_REASON_TOO_MANY_HANDSHAKES);
      ++refused_events;
    }
  }
  EXPECT_EQ(closes, 500);
  EXPECT_EQ(refused_events, 500);
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(cp, &st, sizeof st));
  EXPECT_EQ(st.handshakes_pending, 1000u);
  EXPECT_EQ(st.refused_too_many_handshakes, 500u);
  // A slot that frees up can be taken again.
  cp_recv(cp, 10, nullptr, 0);
  cp_recv(cp, 9999, "\0", 1);
  EXPECT_EQ(cp_poll(cp, &m), POOL_EMPTY);
  cp_delete(cp);
}

TEST(Hostile, ClientThatNeverReadsCannotMakeThePoolHoldMoreThanTheWindow) {
  Link link{cp_new(), cc_open(), 5};
  link.client_send("hi");
  link.pump();
  const int64_t before = alloc_hook::live_bytes();
  const std::string chunk = pattern(16 * 1024, 1);
  pool_message m;
  for (int k = 0; k < 640; ++k) {  // 10 MiB the client never reads
    cp_send(link.pool, 1, chunk.data(), chunk.size());
    while (cp_poll(link.pool, &m) != POOL_EMPTY) {
    }  // the application writes it to a socket nobody reads
  }
  sc_session_info info;
  ASSERT_EQ(SC_OK, sc_pool_session_info(link.pool, 1, &info, sizeof info));
  EXPECT_EQ(info.bytes_held, SC_DEFAULT_WINDOW);
  const int64_t growth = alloc_hook::live_bytes() - before;
  std::printf("pool growth after 10 MiB unread: %lld bytes\n", static_cast<long long>(growth));
  EXPECT_LE(growth, static_cast<int64_t>(SC_DEFAULT_WINDOW) * 2);  // the window, its fingerprints, one message
  cc_close(link.client);
  cp_delete(link.pool);
}

TEST(Hostile, IdleDetachedSessionIsSmall) {
  // Many sessions, so that what the pool keeps for itself is spread thin.
  connection_pool *pool = cp_new();
  const int sessions = 200;
  const int64_t before = alloc_hook::live_bytes();
  for (int k = 0; k < sessions; ++k) {
    Link link{pool, cc_open(), 5 + k};
    link.client_send("hello");
    link.pump();
    link.server_send(k + 1, "hi");
    link.pump();
    cc_close(link.client);
    cp_recv(pool, link.fd, nullptr, 0);
  }
  pool_message m;
  while (cp_poll(pool, &m) != POOL_EMPTY) {
  }
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(pool, &st, sizeof st));
  ASSERT_EQ(st.sessions_detached, static_cast<uint64_t>(sessions));
  const int64_t per_session = (alloc_hook::live_bytes() - before) / sessions;
  std::printf("idle detached session: %lld bytes\n", static_cast<long long>(per_session));
  EXPECT_LT(per_session, 1024);
  cp_delete(pool);
}

// ------------------------------------------------------------------ allocation failure

int64_t g_lifecycle_allocations = 0;  // made by the last lifecycle() before its final check

// A whole session life: open with data queued, traffic both ways, a loss and
// a reuse, more traffic, a second reuse with the old fd still attached. Then,
// with allocations working again, checks every stream is a prefix of what
// was sent and that the pool still serves a fresh client end to end.
void lifecycle(int64_t fail_at, bool *failure_happened, uint64_t *server_state, uint64_t *client_state) {
  *server_state = 0;
  *client_state = 1u << 20;
  alloc_hook::reset_count();
  alloc_hook::fail_at(fail_at);
  connection_pool *pool;
  connection *client;
  {
    alloc_hook::Armed armed;
    pool = cp_new();
    client = pool ? cc_open() : nullptr;
  }
  if (!pool || !client) {
    // Creation failed cleanly: NULL, nothing leaked.
    *failure_happened = alloc_hook::failed();
    alloc_hook::fail_at(0);
    cc_close(client);
    cp_delete(pool);
    EXPECT_TRUE(*failure_happened);
    return;
  }
  Link link{pool, client, 5};
  link.enable_events();
  link.client_send(pattern(100, 1));
  link.pump();
  link.server_send(1, pattern(300, 2));
  link.client_send(pattern(200, 3));
  link.pump();
  link.server_send(1, pattern(500, 4));
  link.client_send(pattern(50, 5));
  link.pump(/*lose=*/true);
  link.reconnect(6);
  link.server_send(1, pattern(70, 6));
  link.pump();
  {
    alloc_hook::Armed armed;
    cc_handshake(client);  // the old fd 6 stays attached until the reuse verifies
  }
  link.fd = 7;
  link.client_send(pattern(40, 7));
  link.pump();
  *failure_happened = alloc_hook::failed();
  alloc_hook::fail_at(0);
  g_lifecycle_allocations = alloc_hook::armed_allocations();

  EXPECT_TRUE(link.sessions_consistent()) << "fail_at " << fail_at;
  EXPECT_FALSE(link.wrote_after_close) << "fail_at " << fail_at;
  if (!*failure_happened) EXPECT_EQ(link.closed_fds, std::set<int>{6});
  EXPECT_TRUE(is_prefix(link.client_got, link.server_sent)) << "fail_at " << fail_at;
  if (!*failure_happened) {
    EXPECT_EQ(link.server_got, link.client_sent);
    EXPECT_EQ(link.client_got, link.server_sent);
  }

  // The pool still works for a new client.
  connection *fresh = cc_open();
  Link second{pool, fresh, 100};
  second.client_send("again");
  second.pump();
  EXPECT_EQ(second.server_got, "again") << "pool unusable after failing allocation " << fail_at;
  cc_close(fresh);
  cc_close(client);
  cp_delete(pool);
}

// A library built with -fno-exceptions has no way to report allocation
// failure: it ends the process instead, which is what the test below checks in
// that build. The recovery tests apply to the default build only.
#if defined(SC_CORE_WITHOUT_EXCEPTIONS)
#define SC_SKIP_WITHOUT_EXCEPTIONS() GTEST_SKIP() << "the library is built without exceptions"
#else
#define SC_SKIP_WITHOUT_EXCEPTIONS() (void)0
#endif

#if defined(SC_CORE_WITHOUT_EXCEPTIONS)
void send_with_failing_allocation() {
  Link link{cp_new(), cc_open(), 5};
  link.client_send("hello");
  link.pump();
  alloc_hook::reset_count();
  alloc_hook::fail_at(1);
  link.server_send(1, pattern(40000, 9));
}

TEST(FailMallocDeathTest, WithoutExceptionsAllocationFailureEndsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(send_with_failing_allocation(), "bad_alloc");
}
#endif

TEST(FailMalloc, SendThatCannotBeKeptEndsTheSessionWithItsReason) {
  SC_SKIP_WITHOUT_EXCEPTIONS();
  Link link{cp_new(), cc_open(), 5};
  link.enable_events();
  link.client_send("hello");
  link.pump();
  ASSERT_EQ(link.server_got, "hello");
  // The first allocation of a large send (its output buffer or the resend
  // buffer's growth) fails.
  alloc_hook::reset_count();
  alloc_hook::fail_at(1);
  link.server_send(1, pattern(40000, 9));
  ASSERT_TRUE(alloc_hook::failed());
  alloc_hook::fail_at(0);
  sc_pool_event closed{};
  int closes = 0;
  pool_message m;
  sc_pool_event ev;
  for (int t; (t = sc_pool_poll(link.pool, &m, &ev)) != POOL_EMPTY;) {
    if (t == POOL_OUT && m.sz == 0 && m.id == 5) ++closes;
    if (t == SC_POOL_EVENT && ev.type == SC_EVENT_SESSION_CLOSED) closed = ev;
  }
  EXPECT_EQ(closes, 1);
  EXPECT_EQ(closed.id, 1);
  EXPECT_EQ(closed.reason, SC_REASON_NO_RESOURCES);
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(link.pool, &st, sizeof st));
  EXPECT_EQ(st.closed_no_resources, 1u);
  EXPECT_EQ(st.sessions_open, 0u);
  cc_close(link.client);
  cp_delete(link.pool);
}

uint64_t fixed_random(void *state) { return ++*static_cast<uint64_t *>(state) * 0x9e3779b97f4a7c15ull; }

using Lifecycle = void (*)(int64_t fail_at, bool *failure_happened, uint64_t *server_state, uint64_t *client_state);

// Runs `life` once to count its allocations (left in *count), then once more
// for each of them, failing that one.
void fail_each_allocation(Lifecycle life, const int64_t *count, const char *name) {
  // Fixed keys: every run makes the same allocations in the same order.
  uint64_t server_state = 0, client_state = 0;
  sc_testing_set_random(SC_RANDOM_SERVER, fixed_random, &server_state);
  sc_testing_set_random(SC_RANDOM_CLIENT, fixed_random, &client_state);
  bool failed = true;
  life(0, &failed, &server_state, &client_state);
  ASSERT_FALSE(failed);
  const int64_t total = *count;
  ASSERT_GT(total, 10);
  std::printf("the %s makes %lld allocations; failing each in turn\n", name, static_cast<long long>(total));
  for (int64_t k = 1; k <= total; ++k) {
    life(k, &failed, &server_state, &client_state);
    ASSERT_TRUE(failed) << "allocation " << k << " was never made";
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failure when allocation " << k << " fails";
      break;
    }
  }
  sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr);
  sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr);
}

TEST(FailMalloc, EveryAllocationFailingInTurnLeavesTheLibraryConsistent) {
  SC_SKIP_WITHOUT_EXCEPTIONS();
  fail_each_allocation(lifecycle, &g_lifecycle_allocations, "lifecycle");
}

// With a budget: sockets announced when accepted, a session cap that ends the
// longest detached session to make room, and a byte budget. Failing any one
// allocation must leave every stream a prefix of what was sent, the caps
// respected and the pool able to serve a fresh client.
int64_t g_budget_allocations = 0;

void budget_lifecycle(int64_t fail_at, bool *failure_happened, uint64_t *server_state, uint64_t *client_state) {
  *server_state = 0;
  *client_state = 1u << 21;
  alloc_hook::reset_count();
  alloc_hook::fail_at(fail_at);
  connection_pool *pool;
  connection *a, *b, *c;
  {
    alloc_hook::Armed armed;
    pool = cp_new();
    a = pool ? cc_open() : nullptr;
    b = a ? cc_open() : nullptr;
    c = b ? cc_open() : nullptr;
  }
  if (!pool || !a || !b || !c) {
    *failure_happened = alloc_hook::failed();
    alloc_hook::fail_at(0);
    cc_close(a);
    cc_close(b);
    cc_close(c);
    cp_delete(pool);
    EXPECT_TRUE(*failure_happened);
    return;
  }
  sc_pool_set_max_sessions(pool, 2);
  sc_pool_set_max_bytes(pool, 64 * 1024);
  Link la{pool, a, 5}, lb{pool, b, 6}, lc{pool, c, 7};
  la.enable_events();
  armed([&] { return sc_pool_socket_opened(pool, 5); });
  la.client_send(pattern(100, 1));
  la.pump();
  la.server_send(1, pattern(3000, 2));
  la.pump();
  armed([&] { return sc_pool_socket_opened(pool, 6); });
  lb.client_send(pattern(50, 3));
  lb.pump();
  // a loses its socket; c's new session ends it to make room.
  armed([&] {
    cp_recv(pool, 5, nullptr, 0);
    return 0;
  });
  armed([&] { return sc_pool_socket_opened(pool, 7); });
  lc.client_send(pattern(70, 4));
  lc.pump();
  lb.server_send(2, pattern(40000, 5));
  lb.pump();
  *failure_happened = alloc_hook::failed();
  alloc_hook::fail_at(0);
  g_budget_allocations = alloc_hook::armed_allocations();

  for (const Link *l : {&la, &lb, &lc}) {
    EXPECT_FALSE(l->wrote_after_close) << "fail_at " << fail_at;
    EXPECT_TRUE(is_prefix(l->client_got, l->server_sent)) << "fail_at " << fail_at;
  }
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(pool, &st, sizeof st));
  EXPECT_LE(st.sessions_open, 2u) << "fail_at " << fail_at;
  if (!*failure_happened) {
    EXPECT_EQ(st.closed_evicted, 1u);
    EXPECT_EQ(lb.client_got, lb.server_sent);
    EXPECT_EQ(lc.server_got, lc.client_sent);
  }

  // The pool still works for a new client (making room if it must).
  connection *fresh = cc_open();
  Link second{pool, fresh, 100};
  cp_recv(pool, 6, nullptr, 0);
  second.client_send("again");
  second.pump();
  EXPECT_EQ(second.server_got, "again") << "pool unusable after failing allocation " << fail_at;
  cc_close(fresh);
  cc_close(a);
  cc_close(b);
  cc_close(c);
  cp_delete(pool);
}

TEST(FailMalloc, EveryAllocationFailingInTurnWithABudget) {
  SC_SKIP_WITHOUT_EXCEPTIONS();
  fail_each_allocation(budget_lifecycle, &g_budget_allocations, "budget lifecycle");
}

#if SC_HAVE_PROTOCOL_2
// The same life with version 2: a pool with a key and a version 2 client,
// data both ways, a loss and a resume, a resume while the old socket is still
// attached, a PING and the client's CLOSE. (Allocations made inside OpenSSL
// do not go through operator new and are not failed here; its failures come
// back as errors, which the library treats like a failed allocation.)
int64_t g_v2_allocations = 0;

void v2_lifecycle(int64_t fail_at, bool *failure_happened, uint64_t *server_state, uint64_t *client_state) {
  *server_state = 0;
  *client_state = 1u << 22;
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
  for (int k = 0; k < SC_KEY_SIZE; ++k) priv[k] = static_cast<uint8_t>(7 * k + 1);
  ASSERT_EQ(sc_public_key(priv, pub), SC_OK);
  alloc_hook::reset_count();
  alloc_hook::fail_at(fail_at);
  connection_pool *pool;
  connection *client = nullptr;
  int key_rc = SC_ERR_NO_MEMORY, open_rc = SC_ERR_NO_MEMORY;
  {
    alloc_hook::Armed armed;
    pool = cp_new();
    if (pool) key_rc = sc_pool_set_static_key(pool, priv);
    if (pool && key_rc == SC_OK) open_rc = sc_client_open_v2(pub, &client);
  }
  if (!pool || key_rc != SC_OK || open_rc != SC_OK) {
    *failure_happened = alloc_hook::failed();
    alloc_hook::fail_at(0);
    EXPECT_TRUE(*failure_happened);
    EXPECT_TRUE(open_rc == SC_OK || client == nullptr);  // *out left alone on failure
    cc_close(client);
    cp_delete(pool);
    return;
  }
  Link link{pool, client, 5};
  link.enable_events();
  link.client_send(pattern(100, 1));
  link.pump();
  link.server_send(1, pattern(300, 2));
  link.client_send(pattern(200, 3));
  link.pump();
  link.server_send(1, pattern(5000, 4));
  link.client_send(pattern(50, 5));
  link.pump(/*lose=*/true);
  link.reconnect(6);
  link.server_send(1, pattern(70, 6));
  link.pump();
  {
    alloc_hook::Armed armed;
    cc_handshake(client);  // fd 6 stays attached until the resume's first record
    sc_client_ping(client);
  }
  link.fd = 7;
  link.client_send(pattern(40, 7));
  link.pump();
  {
    alloc_hook::Armed armed;
    sc_client_close_session(client);
  }
  link.pump();
  *failure_happened = alloc_hook::failed();
  alloc_hook::fail_at(0);
  g_v2_allocations = alloc_hook::armed_allocations();

  EXPECT_TRUE(link.sessions_consistent()) << "fail_at " << fail_at;
  EXPECT_FALSE(link.wrote_after_close) << "fail_at " << fail_at;
  EXPECT_TRUE(is_prefix(link.client_got, link.server_sent)) << "fail_at " << fail_at;
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(pool, &st, sizeof st));
  if (!*failure_happened) {
    EXPECT_EQ(link.server_got, link.client_sent);
    EXPECT_EQ(link.client_got, link.server_sent);
    EXPECT_EQ(st.sessions_open, 0u);  // the CLOSE ended it
    EXPECT_EQ(st.reuses_v2, 2u);
  }
  // The pool's held total is what its sessions hold.
  uint64_t held = 0;
  for (int id = 1; id <= 4; ++id) {
    sc_session_info info;
    if (sc_pool_session_info(pool, id, &info, sizeof info) == SC_OK) held += info.bytes_held;
  }
  EXPECT_EQ(st.bytes_held, held) << "fail_at " << fail_at;

  // The pool still works for a new version 2 client.
  connection *fresh = nullptr;
  ASSERT_EQ(sc_client_open_v2(pub, &fresh), SC_OK);
  Link second{pool, fresh, 100};
  second.client_send("again");
  second.pump();
  EXPECT_EQ(second.server_got, "again") << "pool unusable after failing allocation " << fail_at;
  cc_close(fresh);
  cc_close(client);
  cp_delete(pool);
}

TEST(FailMalloc, EveryAllocationFailingInTurnWithVersion2) {
  SC_SKIP_WITHOUT_EXCEPTIONS();
  fail_each_allocation(v2_lifecycle, &g_v2_allocations, "version 2 lifecycle");
}
#endif

}  // namespace
