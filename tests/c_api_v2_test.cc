// The version 2 part of the extension API, through the C functions alone:
// keys, the pool's settings, version 2 clients next to version 1 ones, CLOSE,
// PING and PONG, and what events and counters say about versions. A build
// without version 2 checks that every one of these calls says so.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h"

namespace {

struct Keys {
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
};

#ifdef SC_WITH_V2

Keys make_keys() {
  Keys k;
  EXPECT_EQ(sc_keypair_generate(k.priv, k.pub), SC_OK);
  return k;
}

// A pool and its clients, each on its own fd, with every byte delivered
// whole as soon as it is polled. Events of both sides are collected.
struct Net {
  connection_pool *cp = cp_new();
  std::vector<sc_pool_event> pool_events;
  std::string from_pool[64];  // by session id: what the pool delivered
  std::string closed_fds;     // fds the pool asked to close, as "fd,"

  struct Peer {
    connection *c = nullptr;
    int fd = -1;
    std::string got;  // data delivered to the client
    bool ended = false;
    std::vector<sc_client_event> events;
  };
  std::vector<Peer> peers;

  Net() {
    sc_pool_enable_events(cp, 1);
    peers.reserve(16);  // add() hands out references
  }
  ~Net() {
    for (Peer &p : peers) cc_close(p.c);
    cp_delete(cp);
  }

  Peer &add(connection *c, int fd) {
    sc_client_enable_events(c, 1);
    peers.push_back(Peer{c, fd, {}, false, {}});
    return peers.back();
  }

  // Moves bytes both ways until nothing is left to move.
  void run() {
    for (int round = 0; round < 100; ++round) {
      bool moved = false;
      for (Peer &p : peers) {
        connection_message m;
        sc_client_event ev;
        for (int r; (r = sc_client_poll_sized(p.c, &m, &ev, sizeof ev)) != MESSAGE_EMPTY;) {
          if (r == MESSAGE_OUT) {
            if (p.fd >= 0) cp_recv(cp, p.fd, m.buffer, static_cast<size_t>(m.sz));
            moved = true;
          } else if (r == MESSAGE_IN) {
            if (m.sz == 0) p.ended = true;
            p.got.append(m.buffer, static_cast<size_t>(m.sz));
          } else if (r == SC_MESSAGE_EVENT) {
            p.events.push_back(ev);
          }
        }
      }
      pool_message m;
      sc_pool_event ev;
      for (int r; (r = sc_pool_poll_sized(cp, &m, &ev, sizeof ev)) != POOL_EMPTY;) {
        if (r == POOL_OUT) {
          moved = true;
          if (m.sz == 0) {
            closed_fds += std::to_string(m.id) + ",";
            for (Peer &p : peers)
              if (p.fd == m.id) p.fd = -1;
            continue;
          }
          for (Peer &p : peers)
            if (p.fd == m.id) cc_recv(p.c, m.buffer, static_cast<size_t>(m.sz));
        } else if (r == POOL_IN) {
          from_pool[m.id % 64].append(m.buffer, static_cast<size_t>(m.sz));
        } else if (r == SC_POOL_EVENT) {
          pool_events.push_back(ev);
        }
      }
      if (!moved) return;
    }
    ADD_FAILURE() << "the exchange did not settle";
  }

  int count(int type) const {
    int n = 0;
    for (const sc_pool_event &e : pool_events) n += e.type == type;
    return n;
  }
  const sc_pool_event *last(int type) const {
    const sc_pool_event *found = nullptr;
    for (const sc_pool_event &e : pool_events)
      if (e.type == type) found = &e;
    return found;
  }
};

const sc_client_event *last_client_event(const Net::Peer &p, int type) {
  const sc_client_event *found = nullptr;
  for (const sc_client_event &e : p.events)
    if (e.type == type) found = &e;
  return found;
}

connection *open_v2(const uint8_t *pub) {
  connection *c = nullptr;
  EXPECT_EQ(sc_client_open_v2(pub, &c), SC_OK);
  return c;
}

sc_client_stats client_stats(connection *c) {
  sc_client_stats st;
  std::memset(&st, 0, sizeof st);
  EXPECT_EQ(sc_client_get_stats(c, &st, sizeof st), SC_OK);
  return st;
}

sc_pool_stats pool_stats(connection_pool *cp) {
  sc_pool_stats st;
  std::memset(&st, 0, sizeof st);
  EXPECT_EQ(sc_pool_get_stats(cp, &st, sizeof st), SC_OK);
  return st;
}

TEST(CApiV2Keys, GeneratedPairsAreDistinctAndConsistent) {
  const Keys a = make_keys(), b = make_keys();
  EXPECT_NE(std::memcmp(a.priv, b.priv, SC_KEY_SIZE), 0);
  EXPECT_NE(std::memcmp(a.pub, b.pub, SC_KEY_SIZE), 0);
  uint8_t again[SC_KEY_SIZE];
  ASSERT_EQ(sc_public_key(a.priv, again), SC_OK);
  EXPECT_EQ(std::memcmp(again, a.pub, SC_KEY_SIZE), 0);
}

TEST(CApiV2Keys, PublicKeyOfRfc7748Vector) {
  // RFC 7748 section 6.1: Alice's private and public keys.
  const char *priv_hex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
  const char *pub_hex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
  for (int k = 0; k < SC_KEY_SIZE; ++k)
    priv[k] = static_cast<uint8_t>(std::stoi(std::string(priv_hex + 2 * k, 2), nullptr, 16));
  ASSERT_EQ(sc_public_key(priv, pub), SC_OK);
  std::string got;
  char two[3];
  for (uint8_t b : pub) {
    std::snprintf(two, sizeof two, "%02x", b);
    got += two;
  }
  EXPECT_EQ(got, pub_hex);
}

TEST(CApiV2Keys, ArgumentErrors) {
  uint8_t k[SC_KEY_SIZE] = {};
  EXPECT_EQ(sc_keypair_generate(nullptr, k), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_keypair_generate(k, nullptr), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_public_key(nullptr, k), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_public_key(k, nullptr), SC_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(sc_strerror(SC_ERR_NOT_SUPPORTED),
               "not supported (built without protocol version 2, or not in version 1)");
  EXPECT_STREQ(sc_strerror(SC_ERR_CRYPTO), "the crypto library failed");
}

TEST(CApiV2Pool, SettingsAndTheirErrors) {
  const Keys k = make_keys();
  connection_pool *cp = cp_new();
  EXPECT_EQ(sc_pool_set_static_key(nullptr, k.priv), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_pool_set_static_key(cp, nullptr), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_pool_set_server_id(nullptr, 1), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_pool_set_versions(nullptr, SC_PROTOCOL_1), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_pool_set_versions(cp, 0), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_pool_set_versions(cp, 4), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_1 | 8), SC_ERR_INVALID_ARGUMENT);
  // Version 2 needs the key first.
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_2), SC_ERR_INVALID_STATE);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_1 | SC_PROTOCOL_2), SC_ERR_INVALID_STATE);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_1), SC_OK);
  EXPECT_EQ(sc_pool_set_static_key(cp, k.priv), SC_OK);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_2), SC_OK);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_1 | SC_PROTOCOL_2), SC_OK);
  EXPECT_EQ(sc_pool_set_server_id(cp, 0xbeef), SC_OK);
  cp_delete(cp);

  connection *c = nullptr;
  EXPECT_EQ(sc_client_open_v2(nullptr, &c), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_client_open_v2(k.pub, nullptr), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(sc_client_close_session(nullptr), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_client_ping(nullptr), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_client_set_clock(nullptr, nullptr, nullptr), SC_ERR_INVALID_ARGUMENT);
}

TEST(CApiV2Client, VersionOneClientsHaveNoCloseOrPing) {
  connection *c = cc_open();
  EXPECT_EQ(sc_client_close_session(c), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_client_ping(c), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_client_set_clock(c, nullptr, nullptr), SC_OK);
  EXPECT_EQ(client_stats(c).version, SC_PROTOCOL_1);
  cc_close(c);
}

TEST(CApiV2Client, PingBeforeTheSessionIsAnInvalidState) {
  const Keys k = make_keys();
  connection *c = open_v2(k.pub);
  EXPECT_EQ(sc_client_set_window(c, SC_MIN_WINDOW_V2 - 1), SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sc_client_set_window(c, SC_MIN_WINDOW_V2), SC_OK);
  EXPECT_EQ(sc_client_ping(c), SC_ERR_INVALID_STATE);
  EXPECT_EQ(client_stats(c).state, SC_CLIENT_OPENING);
  EXPECT_EQ(client_stats(c).version, SC_PROTOCOL_2);
  cc_close(c);
}

// Both versions on one keyed pool: each client gets its own session, the
// events and counters tell the versions apart, and data flows both ways.
TEST(CApiV2Net, BothVersionsSideBySide) {
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  ASSERT_EQ(sc_pool_set_server_id(net.cp, 0x1234), SC_OK);
  Net::Peer &a = net.add(open_v2(k.pub), 5);
  Net::Peer &b = net.add(cc_open(), 6);
  net.run();
  ASSERT_EQ(net.count(SC_EVENT_POOL_SESSION_OPENED), 2);
  int v2_id = 0, v1_id = 0;
  for (const sc_pool_event &e : net.pool_events) {
    if (e.type != SC_EVENT_POOL_SESSION_OPENED) continue;
    if (e.fd == 5) {
      EXPECT_EQ(e.version, SC_PROTOCOL_2);
      v2_id = e.id;
    } else {
      EXPECT_EQ(e.version, SC_PROTOCOL_1);
      v1_id = e.id;
    }
  }
  ASSERT_GT(v2_id, 0);
  ASSERT_GT(v1_id, 0);
  ASSERT_NE(last_client_event(a, SC_EVENT_CLIENT_CONNECTED), nullptr);
  EXPECT_EQ(last_client_event(a, SC_EVENT_CLIENT_CONNECTED)->version, SC_PROTOCOL_2);
  ASSERT_NE(last_client_event(b, SC_EVENT_CLIENT_CONNECTED), nullptr);
  EXPECT_EQ(last_client_event(b, SC_EVENT_CLIENT_CONNECTED)->version, SC_PROTOCOL_1);

  // The client's first record (an ACK) went out with the answer's reply.
  sc_pool_stats st = pool_stats(net.cp);
  EXPECT_EQ(st.sessions_open, 2u);
  EXPECT_EQ(st.sessions_v2, 1u);
  EXPECT_EQ(st.sessions_unconfirmed, 0u);
  EXPECT_EQ(st.sessions_opened_v2, 1u);
  EXPECT_EQ(st.sessions_opened, 2u);
  sc_session_info info;
  ASSERT_EQ(sc_pool_session_info(net.cp, v2_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.version, SC_PROTOCOL_2);
  EXPECT_EQ(info.unconfirmed, 0);
  EXPECT_EQ(info.session_id[0], 0x34);  // the server id, little-endian
  EXPECT_EQ(info.session_id[1], 0x12);

  const std::string up = std::string(5000, 'u') + "end", down(70000, 'd');
  cc_send(a.c, up.data(), up.size());
  cc_send(b.c, up.data(), up.size());
  net.run();
  cp_send(net.cp, v2_id, down.data(), down.size());
  cp_send(net.cp, v1_id, down.data(), down.size());
  net.run();
  EXPECT_EQ(net.from_pool[v2_id], up);
  EXPECT_EQ(net.from_pool[v1_id], up);
  EXPECT_EQ(a.got, down);
  EXPECT_EQ(b.got, down);

  ASSERT_EQ(sc_pool_session_info(net.cp, v2_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.bytes_sent, down.size());
  EXPECT_EQ(info.bytes_acked, down.size());  // the client acknowledged all of it
  EXPECT_EQ(info.bytes_held, 0u);
  ASSERT_EQ(sc_pool_session_info(net.cp, v1_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.version, SC_PROTOCOL_1);
  EXPECT_EQ(info.bytes_acked, 0u);
  EXPECT_EQ(info.session_id[0], 0);
}

// A version 2 client on fd 5 and a version 1 client on fd 6, both
// connected; their session ids.
struct TwoSessions {
  int v2_id = 0, v1_id = 0;
};
TwoSessions connect_both_versions(Net &net, const Keys &k) {
  net.add(open_v2(k.pub), 5);
  net.add(cc_open(), 6);
  net.run();
  TwoSessions ids;
  for (const sc_pool_event &e : net.pool_events)
    if (e.type == SC_EVENT_POOL_SESSION_OPENED) (e.fd == 5 ? ids.v2_id : ids.v1_id) = e.id;
  EXPECT_GT(ids.v2_id, 0);
  EXPECT_GT(ids.v1_id, 0);
  return ids;
}

// Polls the pool until it is empty, delivering nothing.
void drop_pool_output(connection_pool *cp) {
  pool_message pm;
  while (cp_poll(cp, &pm) != POOL_EMPTY) {
  }
}

// Without a window set, version 1 sessions keep the 2014 module's window and
// version 2 sessions have SC_DEFAULT_WINDOW_V2 unacknowledged at most, on
// both sides: with nothing ever acknowledged, the rest waits as backlog.
TEST(CApiV2Net, EachVersionHasItsOwnDefaultWindow) {
  static_assert(SC_DEFAULT_WINDOW_V2 > SC_DEFAULT_WINDOW, "the test needs the version 2 window larger");
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  const TwoSessions ids = connect_both_versions(net, k);
  const int v2_id = ids.v2_id, v1_id = ids.v1_id;
  ASSERT_TRUE(v2_id > 0 && v1_id > 0);
  Net::Peer &a = net.peers[0];

  // Sent, and handed to sockets that never deliver: no acknowledgement comes.
  const size_t total = 4 * SC_DEFAULT_WINDOW_V2;
  const std::string big(total, 'w');
  cp_send(net.cp, v2_id, big.data(), big.size());
  cp_send(net.cp, v1_id, big.data(), big.size());
  cc_send(a.c, big.data(), big.size());
  drop_pool_output(net.cp);
  connection_message cm;
  while (cc_poll(a.c, &cm) != MESSAGE_EMPTY) {
  }

  sc_session_info info;
  ASSERT_EQ(sc_pool_session_info(net.cp, v2_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.bytes_sent, uint64_t{SC_DEFAULT_WINDOW_V2});
  EXPECT_EQ(info.backlog, total - SC_DEFAULT_WINDOW_V2);
  uint64_t backlog = 0;
  ASSERT_EQ(sc_client_backlog(a.c, &backlog), SC_OK);
  EXPECT_EQ(backlog, total - SC_DEFAULT_WINDOW_V2);
  // Version 1 sends everything and keeps the last window of it.
  ASSERT_EQ(sc_pool_session_info(net.cp, v1_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.bytes_sent, total);
  EXPECT_EQ(info.bytes_held, uint64_t{SC_DEFAULT_WINDOW});
}

// A window set on the pool applies to the sessions of both versions.
TEST(CApiV2Net, ASetWindowAppliesToBothVersions) {
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  const size_t window = 3 * SC_MIN_WINDOW_V2;
  ASSERT_EQ(sc_pool_set_window(net.cp, window), SC_OK);
  const TwoSessions ids = connect_both_versions(net, k);
  const int v2_id = ids.v2_id, v1_id = ids.v1_id;
  ASSERT_TRUE(v2_id > 0 && v1_id > 0);
  const std::string big(4 * window, 'w');
  cp_send(net.cp, v2_id, big.data(), big.size());
  cp_send(net.cp, v1_id, big.data(), big.size());
  drop_pool_output(net.cp);
  sc_session_info info;
  ASSERT_EQ(sc_pool_session_info(net.cp, v2_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.bytes_sent, window);
  ASSERT_EQ(sc_pool_session_info(net.cp, v1_id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.bytes_held, window);
}

// The legacy polls fill the event structs as they were before version 2.
TEST(CApiV2Net, LegacyPollsLeaveTheNewFieldsAlone) {
  const Keys k = make_keys();
  connection_pool *cp = cp_new();
  ASSERT_EQ(sc_pool_set_static_key(cp, k.priv), SC_OK);
  sc_pool_enable_events(cp, 1);
  connection *c = open_v2(k.pub);
  sc_client_enable_events(c, 1);
  connection_message cm;
  sc_client_event cev;
  std::string request;
  for (int r; (r = sc_client_poll(c, &cm, &cev)) != MESSAGE_EMPTY;)
    if (r == MESSAGE_OUT) request.append(cm.buffer, static_cast<size_t>(cm.sz));
  cp_recv(cp, 3, request.data(), request.size());
  pool_message pm;
  sc_pool_event pev;
  pev.version = 77;
  bool opened = false;
  for (int r; (r = sc_pool_poll(cp, &pm, &pev)) != POOL_EMPTY;) {
    if (r == POOL_OUT) cc_recv(c, pm.buffer, static_cast<size_t>(pm.sz));
    if (r == SC_POOL_EVENT && pev.type == SC_EVENT_POOL_SESSION_OPENED) opened = true;
  }
  ASSERT_TRUE(opened);
  EXPECT_EQ(pev.version, 77);
  cev.version = 77;
  cev.rtt_ms = 77;
  bool connected = false;
  for (int r; (r = sc_client_poll(c, &cm, &cev)) != MESSAGE_EMPTY;)
    if (r == SC_MESSAGE_EVENT && cev.type == SC_EVENT_CLIENT_CONNECTED) connected = true;
  ASSERT_TRUE(connected);
  EXPECT_EQ(cev.version, 77);
  EXPECT_EQ(cev.rtt_ms, 77u);
  // A size that stops before `version` leaves it alone too.
  cc_send(c, "x", 1);
  for (int r; (r = sc_client_poll(c, &cm, &cev)) != MESSAGE_EMPTY;)
    if (r == MESSAGE_OUT) cp_recv(cp, 3, cm.buffer, static_cast<size_t>(cm.sz));
  cp_send(cp, 1, nullptr, 0);
  pev.version = 77;
  bool closed = false;
  for (int r; (r = sc_pool_poll_sized(cp, &pm, &pev, offsetof(sc_pool_event, version))) != POOL_EMPTY;)
    if (r == SC_POOL_EVENT && pev.type == SC_EVENT_POOL_SESSION_CLOSED) closed = true;
  EXPECT_TRUE(closed);
  EXPECT_EQ(pev.version, 77);
  cc_close(c);
  cp_delete(cp);
}

// Answered, but the client's first record never arrives: the session counts
// as unconfirmed, and the handshake timeout ends it.
TEST(CApiV2Net, UnconfirmedSessionsAreCountedApartAndExpire) {
  const Keys k = make_keys();
  connection_pool *cp = cp_new();
  ASSERT_EQ(sc_pool_set_static_key(cp, k.priv), SC_OK);
  ASSERT_EQ(sc_pool_set_handshake_timeout(cp, 1000), SC_OK);
  static uint64_t now = 0;
  now = 5000;
  ASSERT_EQ(sc_pool_set_clock(
                cp, [](void *) { return now; }, nullptr),
            SC_OK);
  sc_pool_enable_events(cp, 1);
  connection *c = open_v2(k.pub);
  connection_message cm;
  std::string request;
  for (int r; (r = cc_poll(c, &cm)) != MESSAGE_EMPTY;)
    if (r == MESSAGE_OUT) request.append(cm.buffer, static_cast<size_t>(cm.sz));
  cp_recv(cp, 3, request.data(), request.size());
  pool_message pm;
  int id = 0;
  sc_pool_event ev;
  for (int r; (r = sc_pool_poll_sized(cp, &pm, &ev, sizeof ev)) != POOL_EMPTY;)
    if (r == SC_POOL_EVENT && ev.type == SC_EVENT_POOL_SESSION_OPENED) id = ev.id;
  ASSERT_GT(id, 0);
  sc_pool_stats st = pool_stats(cp);
  EXPECT_EQ(st.sessions_unconfirmed, 1u);
  EXPECT_EQ(st.sessions_v2, 1u);
  EXPECT_EQ(st.handshakes_pending, 1u);
  sc_session_info info;
  ASSERT_EQ(sc_pool_session_info(cp, id, &info, sizeof info), SC_OK);
  EXPECT_EQ(info.unconfirmed, 1);
  now += 1001;
  cp_timeout(cp);
  bool closed = false;
  for (int r; (r = sc_pool_poll_sized(cp, &pm, &ev, sizeof ev)) != POOL_EMPTY;)
    if (r == SC_POOL_EVENT && ev.type == SC_EVENT_POOL_SESSION_CLOSED) {
      closed = true;
      EXPECT_EQ(ev.id, id);
      EXPECT_EQ(ev.reason, SC_REASON_TIMED_OUT);
      EXPECT_EQ(ev.version, SC_PROTOCOL_2);
    }
  EXPECT_TRUE(closed);
  st = pool_stats(cp);
  EXPECT_EQ(st.sessions_unconfirmed, 0u);
  EXPECT_EQ(st.sessions_open, 0u);
  EXPECT_EQ(st.closed_unconfirmed, 1u);
  cc_close(c);
  cp_delete(cp);
}

uint64_t fake_ms = 1000;
uint64_t fake_clock(void *) { return fake_ms; }

TEST(CApiV2Net, PingGivesAPongEventWithTheRoundTrip) {
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  Net::Peer &a = net.add(open_v2(k.pub), 9);
  ASSERT_EQ(sc_client_set_clock(a.c, fake_clock, nullptr), SC_OK);
  net.run();
  ASSERT_EQ(client_stats(a.c).state, SC_CLIENT_ESTABLISHED);
  fake_ms = 1000;
  ASSERT_EQ(sc_client_ping(a.c), SC_OK);
  // The PING's record is queued now; the answer comes 37 ms later.
  connection_message m;
  sc_client_event ev;
  std::string out;
  for (int r; (r = sc_client_poll_sized(a.c, &m, &ev, sizeof ev)) != MESSAGE_EMPTY;)
    if (r == MESSAGE_OUT) out.append(m.buffer, static_cast<size_t>(m.sz));
  ASSERT_FALSE(out.empty());
  fake_ms = 1037;
  cp_recv(net.cp, 9, out.data(), out.size());
  net.run();
  const sc_client_event *pong = last_client_event(a, SC_EVENT_CLIENT_PONG);
  ASSERT_NE(pong, nullptr);
  EXPECT_EQ(pong->rtt_ms, 37u);
  EXPECT_EQ(pong->version, SC_PROTOCOL_2);
  const sc_client_stats st = client_stats(a.c);
  EXPECT_EQ(st.pongs, 1u);
  EXPECT_EQ(st.last_rtt_ms, 37u);
}

TEST(CApiV2Net, CloseSessionEndsItOnBothSides) {
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  Net::Peer &a = net.add(open_v2(k.pub), 4);
  net.run();
  cc_send(a.c, "last words", 10);
  ASSERT_EQ(sc_client_close_session(a.c), SC_OK);
  net.run();
  EXPECT_TRUE(a.ended);
  EXPECT_EQ(client_stats(a.c).state, SC_CLIENT_DEAD);
  ASSERT_EQ(net.count(SC_EVENT_POOL_SESSION_CLOSED), 1);
  const sc_pool_event *closed = net.last(SC_EVENT_POOL_SESSION_CLOSED);
  EXPECT_EQ(closed->reason, SC_REASON_BY_APPLICATION);
  EXPECT_EQ(closed->version, SC_PROTOCOL_2);
  EXPECT_EQ(net.from_pool[closed->id], "last words");  // the data came first
  EXPECT_EQ(pool_stats(net.cp).sessions_open, 0u);
  // Closing again, or closing a dead client, changes nothing.
  EXPECT_EQ(sc_client_close_session(a.c), SC_OK);
}

TEST(CApiV2Net, PoolWithoutAKeyAnswersNotSupported) {
  const Keys k = make_keys();
  Net net;
  Net::Peer &a = net.add(open_v2(k.pub), 7);
  net.run();
  const sc_client_event *refused = last_client_event(a, SC_EVENT_CLIENT_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, SC_REASON_NOT_SUPPORTED);
  EXPECT_TRUE(a.ended);
  const sc_client_stats st = client_stats(a.c);
  EXPECT_EQ(st.state, SC_CLIENT_DEAD);
  EXPECT_EQ(st.last_failure, SC_REASON_NOT_SUPPORTED);
  const sc_pool_event *pe = net.last(SC_EVENT_POOL_HANDSHAKE_REFUSED);
  ASSERT_NE(pe, nullptr);
  EXPECT_EQ(pe->reason, SC_REASON_NOT_SUPPORTED);
  EXPECT_EQ(pe->version, SC_PROTOCOL_2);
  EXPECT_EQ(pool_stats(net.cp).refused_not_supported, 1u);
  EXPECT_EQ(net.closed_fds, "7,");
}

TEST(CApiV2Net, VersionTwoOnlyPoolRefusesVersionOne) {
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  ASSERT_EQ(sc_pool_set_versions(net.cp, SC_PROTOCOL_2), SC_OK);
  net.add(cc_open(), 8);
  net.run();
  const sc_pool_event *pe = net.last(SC_EVENT_POOL_HANDSHAKE_REFUSED);
  ASSERT_NE(pe, nullptr);
  EXPECT_EQ(pe->reason, SC_REASON_NOT_SUPPORTED);
  EXPECT_EQ(pe->version, SC_PROTOCOL_1);
  EXPECT_EQ(net.closed_fds, "8,");
  EXPECT_EQ(pool_stats(net.cp).refused_not_supported, 1u);
}

TEST(CApiV2Net, WrongServerKeyFailsTheHandshake) {
  const Keys k = make_keys(), other = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  Net::Peer &a = net.add(open_v2(other.pub), 3);
  net.run();
  EXPECT_EQ(net.count(SC_EVENT_POOL_SESSION_OPENED), 0);
  const sc_pool_event *pe = net.last(SC_EVENT_POOL_HANDSHAKE_REFUSED);
  ASSERT_NE(pe, nullptr);
  EXPECT_EQ(pe->reason, SC_REASON_REJECTED);
  EXPECT_EQ(pool_stats(net.cp).refused_rejected, 1u);
  const sc_client_event *refused = last_client_event(a, SC_EVENT_CLIENT_REFUSED);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, SC_REASON_REJECTED);
  EXPECT_EQ(a.got, "");
}

// A lost socket: the client resumes on a new one through cc_handshake, and
// nothing sent either way is lost.
TEST(CApiV2Net, ResumeThroughTheLegacyCalls) {
  const Keys k = make_keys();
  Net net;
  ASSERT_EQ(sc_pool_set_static_key(net.cp, k.priv), SC_OK);
  Net::Peer &a = net.add(open_v2(k.pub), 10);
  net.run();
  const int id = net.last(SC_EVENT_POOL_SESSION_OPENED)->id;
  std::string up, down;
  for (int round = 0; round < 5; ++round) {
    const std::string u(1000 + round * 333, static_cast<char>('a' + round));
    const std::string d(2000 + round * 777, static_cast<char>('A' + round));
    up += u;
    down += d;
    cc_send(a.c, u.data(), u.size());
    cp_send(net.cp, id, d.data(), d.size());
    // The socket dies with the client's output in flight; in odd rounds
    // the pool's output reached the client first (so only its ACK is lost,
    // and the resume request is what acknowledges it).
    pool_message pm;
    for (int r; (r = cp_poll(net.cp, &pm)) != POOL_EMPTY;)
      if (r == POOL_OUT && pm.sz > 0 && round % 2 == 1) cc_recv(a.c, pm.buffer, pm.sz);
    connection_message m;
    for (int r; (r = cc_poll(a.c, &m)) != MESSAGE_EMPTY;)
      if (r == MESSAGE_IN) a.got.append(m.buffer, static_cast<size_t>(m.sz));
    cp_recv(net.cp, a.fd, "", 0);
    a.fd = 20 + round;
    cc_handshake(a.c);
    net.run();
  }
  EXPECT_EQ(net.from_pool[id], up);
  EXPECT_EQ(a.got, down);
  EXPECT_EQ(net.count(SC_EVENT_POOL_SESSION_RESUMED), 5);
  EXPECT_EQ(net.last(SC_EVENT_POOL_SESSION_RESUMED)->version, SC_PROTOCOL_2);
  const sc_pool_stats st = pool_stats(net.cp);
  // What the pool counts as held is what its one session holds.
  sc_session_info info;
  ASSERT_EQ(sc_pool_session_info(net.cp, id, &info, sizeof info), SC_OK);
  EXPECT_EQ(st.bytes_held, info.bytes_held);
  EXPECT_EQ(info.bytes_held, 0u);  // everything was acknowledged
  EXPECT_EQ(st.reuses_v2, 5u);
  EXPECT_EQ(st.reuses, 5u);
  EXPECT_EQ(client_stats(a.c).reuses, 5u);
}

#else  // a build without version 2

TEST(CApiV2Absent, EveryVersionTwoCallSaysNotSupported) {
  Keys k = {};
  connection_pool *cp = cp_new();
  EXPECT_EQ(sc_keypair_generate(k.priv, k.pub), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_public_key(k.priv, k.pub), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_pool_set_static_key(cp, k.priv), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_pool_set_server_id(cp, 1), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_2), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_1 | SC_PROTOCOL_2), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_pool_set_versions(cp, SC_PROTOCOL_1), SC_OK);
  connection *c = nullptr;
  EXPECT_EQ(sc_client_open_v2(k.pub, &c), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(c, nullptr);
  c = cc_open();
  EXPECT_EQ(sc_client_close_session(c), SC_ERR_NOT_SUPPORTED);
  EXPECT_EQ(sc_client_ping(c), SC_ERR_NOT_SUPPORTED);
  cc_close(c);
  cp_delete(cp);
}

#endif

}  // namespace
