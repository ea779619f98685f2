// The pool through the C API: session ids, timeouts under an injected clock,
// hostile sockets (each closes only itself), NULL handles, the extension
// setters and their error codes.
#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace {

using namespace harness;

uint64_t read_clock(void *p) { return *static_cast<uint64_t *>(p); }

std::string new_request(uint64_t client_public) { return le64(0) + le64(client_public); }

// A pool on an injected clock with one established session (id 1, fd 3)
// that every test checks still works after whatever it did to other sockets.
class Pool : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(SC_OK, sc_pool_set_clock(pool_.get(), &read_clock, &now_));
    link_.pump();
    link_.client_send(300);
    link_.server_send(600);
    link_.pump();
    ASSERT_TRUE(same_stream(link_.server_got(), link_.client_sent));
    ASSERT_TRUE(same_stream(link_.client_got, link_.server_sent));
  }

  void expect_link_works() {
    link_.client_send(17);
    link_.server_send(23);
    link_.pump();
    EXPECT_TRUE(same_stream(link_.server_got(), link_.client_sent));
    EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
    EXPECT_FALSE(tap_.was_closed(3));
    EXPECT_EQ(0, link_.client_deaths);
  }

  uint64_t secret() const { return session_secret(random_.client_draws().at(0), link_.s2c_log.at(3)); }

  // A valid reuse request for the link's session.
  std::string reuse_request() const {
    const size_t received = link_.client_got.size();
    const std::string cipher = link_.s2c_log.at(3).substr(16);
    const uint32_t initial = sc::StreamCipher(secret()).initial_fingerprint();
    return le64(received) + le32(fold_fingerprint(initial, cipher.substr(0, received - received % 256)));
  }

  // Makes a raw new-connection handshake on fd and returns the pool's reply.
  std::string raw_request(int fd, uint64_t client_public = 12345) {
    tap_.recv(fd, new_request(client_public));
    return tap_.take(fd);
  }

  void tick(uint64_t ms) { now_ += ms; }
  std::vector<int> timeout() {
    const size_t before = tap_.closes.size();
    cp_timeout(pool_.get());
    tap_.drain();
    return std::vector<int>(tap_.closes.begin() + static_cast<long>(before), tap_.closes.end());
  }

  uint64_t now_ = 1000;
  FixedRandom random_{7};
  PoolPtr pool_{cp_new()};
  PoolTap tap_{pool_.get()};
  Link link_{tap_, capi_client(), 3, 1, 7};
};

// ------------------------------------------------------------------ ids

TEST(PoolIds, StartAtOneAndIncrease) {
  FixedRandom random(1);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  std::vector<std::unique_ptr<Link>> links;
  for (int k = 0; k < 3; ++k) {
    links.push_back(std::make_unique<Link>(tap, capi_client(), 10 + k, k + 1, k));
    links.back()->pump();
    links.back()->client_send(1);
    links.back()->pump();
  }
  EXPECT_EQ((std::vector<int>{1, 2, 3}), tap.in_order);
  // Each id is its own session.
  for (auto &l : links) {
    l->server_send(5);
    l->pump();
    EXPECT_TRUE(same_stream(l->client_got, l->server_sent));
  }
  // Closing a session does not free its id for reuse, nor do failed
  // handshakes take one.
  cp_send(pool.get(), 2, nullptr, 0);
  tap.drain();
  EXPECT_EQ(std::vector<int>{11}, tap.closes);
  tap.recv(20, new_request(99));
  ASSERT_EQ(16u, tap.take(20).size());
  tap.recv(20, le64(0));  // a wrong auth code
  EXPECT_TRUE(tap.was_closed(20));
  int last = 3;
  for (int k = 0; k < 3; ++k) {
    Link l(tap, capi_client(), 30 + k, 0, 100 + k);
    l.pump();
    l.client_send(1);
    l.pump();
    ASSERT_FALSE(tap.in_order.empty());
    const int id = tap.in_order.back();
    EXPECT_GT(id, last);
    EXPECT_NE(2, id);
    last = id;
  }
  EXPECT_EQ(6, last) << "ids 4, 5, 6 for the next three sessions";
}

TEST(PoolIds, IdsAreNeverZeroAndClosedIdsStayClosed) {
  FixedRandom random(2);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link a(tap, capi_client(), 5, 1, 1);
  a.pump();
  a.client_send(3);
  a.server_send(3);
  a.pump();
  ASSERT_EQ(std::vector<int>{1}, tap.in_order);
  // Sending to 0, to negative ids and to ids never given out does nothing.
  for (int id : {0, -1, 2, 1000, INT_MAX, INT_MIN}) {
    cp_send(pool.get(), id, "data", 4);
    cp_send(pool.get(), id, nullptr, 0);
  }
  EXPECT_FALSE(tap.drain());
  // cp_send(id, buffer, 0) closes just as (NULL, 0) does.
  cp_send(pool.get(), 1, "ignored", 0);
  tap.drain();
  EXPECT_EQ(std::vector<int>{5}, tap.closes);
  cp_send(pool.get(), 1, "late", 4);
  EXPECT_FALSE(tap.drain());
  // Its client cannot come back.
  a.reconnect(6);
  EXPECT_EQ(1, tap.close_count(6));
}

TEST_F(Pool, CpSendToAnUnknownIdIsIgnored) {
  cp_send(pool_.get(), 2, "abc", 3);
  cp_send(pool_.get(), 77, "abc", 3);
  cp_send(pool_.get(), 77, nullptr, 0);
  EXPECT_FALSE(tap_.drain());
  expect_link_works();
}

TEST_F(Pool, ClosingASessionClosesItsSocketAndRefusesItsReuse) {
  link_.server_send(10);  // queued, then the session is closed
  cp_send(pool_.get(), 1, nullptr, 0);
  tap_.drain();
  EXPECT_EQ(std::vector<int>{3}, tap_.closes);
  cp_send(pool_.get(), 1, "x", 1);
  EXPECT_FALSE(tap_.drain());
  tap_.recv(4, reuse_request());
  EXPECT_EQ(1, tap_.close_count(4));
  EXPECT_TRUE(tap_.written[4].empty());
}

TEST_F(Pool, ClosingADetachedSessionHasNoSocketToClose) {
  tap_.closed(3);
  cp_send(pool_.get(), 1, nullptr, 0);
  EXPECT_FALSE(tap_.drain());
  EXPECT_TRUE(tap_.closes.empty());
  tap_.recv(4, reuse_request());
  EXPECT_EQ(1, tap_.close_count(4));
}

TEST_F(Pool, OutBeforeIn) {
  link_.client_send(40);
  const std::string c2s = link_.take_c2s();
  // Data in, not polled; then data out.
  cp_recv(pool_.get(), 3, c2s.data(), c2s.size());
  cp_send(pool_.get(), 1, "reply", 5);
  pool_message m;
  ASSERT_EQ(POOL_OUT, cp_poll(pool_.get(), &m));
  EXPECT_EQ(3, m.id);
  EXPECT_EQ(5u, m.sz);
  const std::string out(m.buffer, m.sz);
  ASSERT_EQ(POOL_IN, cp_poll(pool_.get(), &m));
  EXPECT_EQ(1, m.id);
  EXPECT_EQ(link_.client_sent.substr(link_.client_sent.size() - 40), std::string(m.buffer, m.sz));
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool_.get(), &m));
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool_.get(), &m));
  // Keep the harness in step: it did not see these messages.
  link_.client().recv(out.data(), out.size());
  link_.server_sent += "reply";
  tap_.in[1] += link_.client_sent.substr(link_.client_sent.size() - 40);
  expect_link_works();
}

TEST_F(Pool, OutForAnotherSocketStillComesBeforeIn) {
  link_.client_send(8);
  const std::string c2s = link_.take_c2s();
  cp_recv(pool_.get(), 3, c2s.data(), c2s.size());  // IN for session 1
  cp_recv(pool_.get(), 9, new_request(5).data(), 16);  // OUT (a reply) for fd 9
  pool_message m;
  ASSERT_EQ(POOL_OUT, cp_poll(pool_.get(), &m));
  EXPECT_EQ(9, m.id);
  EXPECT_EQ(16u, m.sz);
  ASSERT_EQ(POOL_IN, cp_poll(pool_.get(), &m));
  EXPECT_EQ(1, m.id);
  tap_.in[1].append(m.buffer, m.sz);
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool_.get(), &m));
  expect_link_works();
}

// ------------------------------------------------------------------ timeouts

TEST_F(Pool, HandshakeTimeoutBoundary) {
  tap_.recv(20, new_request(1).substr(0, 5));  // an incomplete request at t=1000
  raw_request(21);                              // a request answered at t=1000
  tick(4000);
  raw_request(22);  // at t=5000
  tick(26000);      // t=31000: exactly 30000 ms after the first two
  EXPECT_TRUE(timeout().empty());
  tick(1);
  const std::vector<int> first = timeout();
  EXPECT_EQ((std::set<int>{20, 21}), std::set<int>(first.begin(), first.end()));
  EXPECT_EQ(2u, first.size());
  tick(3999);  // t=35000
  EXPECT_TRUE(timeout().empty());
  tick(1);
  EXPECT_EQ(std::vector<int>{22}, timeout());
  EXPECT_TRUE(timeout().empty()) << "each socket is closed once";
  expect_link_works();
}

TEST_F(Pool, HandshakeAgeCountsFromTheFirstByte) {
  tap_.recv(20, new_request(1).substr(0, 3));
  tick(20000);
  tap_.recv(20, new_request(1).substr(3));  // completed and answered later
  ASSERT_EQ(16u, tap_.take(20).size());
  tick(10000);
  EXPECT_TRUE(timeout().empty());
  tick(1);
  EXPECT_EQ(std::vector<int>{20}, timeout());
}

TEST_F(Pool, HandshakeTimeoutSetter) {
  EXPECT_EQ(SC_OK, sc_pool_set_handshake_timeout(pool_.get(), 10));
  raw_request(20);
  tick(10);
  EXPECT_TRUE(timeout().empty());
  tick(1);
  EXPECT_EQ(std::vector<int>{20}, timeout());
  // A new value applies to sockets already waiting.
  raw_request(21);
  tick(50);
  EXPECT_EQ(SC_OK, sc_pool_set_handshake_timeout(pool_.get(), 1000));
  EXPECT_TRUE(timeout().empty());
  tick(950);
  EXPECT_TRUE(timeout().empty());
  tick(1);
  EXPECT_EQ(std::vector<int>{21}, timeout());
  // The established session never was a handshake.
  tick(1000000);
  EXPECT_TRUE(timeout().empty());
  expect_link_works();
}

TEST_F(Pool, CompletedHandshakesDoNotTimeOut) {
  Link other(tap_, capi_client(), 40, 2, 99);
  other.pump();
  other.client_send(10);
  other.pump();
  tick(SC_DEFAULT_HANDSHAKE_TIMEOUT_MS * 10);
  EXPECT_TRUE(timeout().empty());
  other.server_send(10);
  other.pump();
  EXPECT_TRUE(same_stream(other.client_got, other.server_sent));
  EXPECT_TRUE(same_stream(other.server_got(), other.client_sent));
  expect_link_works();
}

TEST_F(Pool, ReuseTimeoutBoundaryKeepsTheSession) {
  tick(5000);  // detached at t=6000
  link_.lose_in_flight();
  tap_.closed(3);
  tick(SC_DEFAULT_REUSE_TIMEOUT_MS);
  EXPECT_TRUE(timeout().empty());
  link_.server_send(10);
  link_.reconnect(4, false);
  EXPECT_EQ(0, tap_.close_count(4));
  EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
  // Attached again: the timer no longer runs.
  tick(SC_DEFAULT_REUSE_TIMEOUT_MS * 5);
  EXPECT_TRUE(timeout().empty());
  link_.client_send(5);
  link_.server_send(5);
  link_.pump();
  EXPECT_TRUE(same_stream(link_.server_got(), link_.client_sent));
  EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
}

TEST_F(Pool, ReuseTimeoutBoundaryPlusOneFreesTheSession) {
  link_.lose_in_flight();
  tap_.closed(3);
  tick(SC_DEFAULT_REUSE_TIMEOUT_MS + 1);
  EXPECT_TRUE(timeout().empty()) << "a detached session has no socket to close";
  cp_send(pool_.get(), 1, "x", 1);
  EXPECT_FALSE(tap_.drain());
  link_.reconnect(4, false);
  EXPECT_EQ(1, tap_.close_count(4));
  EXPECT_EQ(0, link_.client_deaths);
}

TEST_F(Pool, ReuseTimeoutCountsFromTheLastDetach) {
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(pool_.get(), 100));
  tap_.closed(3);
  tick(60);
  link_.reconnect(4, false);  // back after 60 ms
  tick(100);
  link_.lose_in_flight();
  tap_.closed(4);  // detached again at +160
  tick(100);
  EXPECT_TRUE(timeout().empty());
  link_.reconnect(5, false);
  EXPECT_EQ(0, tap_.close_count(5));
  tap_.closed(5);
  tick(101);
  timeout();
  link_.reconnect(6, false);
  EXPECT_EQ(1, tap_.close_count(6));
}

TEST_F(Pool, ReuseTimeoutSetterAppliesToDetachedSessions) {
  tap_.closed(3);
  tick(1000);
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(pool_.get(), 999));
  timeout();
  link_.reconnect(4, false);
  EXPECT_EQ(1, tap_.close_count(4));
}

TEST_F(Pool, ReuseTimeoutZeroKeepsDetachedSessionsForever) {
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(pool_.get(), 0));
  link_.server_send(100);
  link_.lose_in_flight();
  tap_.closed(3);
  tick(uint64_t{1} << 50);
  EXPECT_TRUE(timeout().empty());
  link_.reconnect(4, false);
  EXPECT_EQ(0, tap_.close_count(4));
  EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
}

TEST_F(Pool, AttachedSessionsNeverExpire) {
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(pool_.get(), 1));
  EXPECT_EQ(SC_OK, sc_pool_set_handshake_timeout(pool_.get(), 1));
  for (int k = 0; k < 5; ++k) {
    tick(uint64_t{1} << 40);
    EXPECT_TRUE(timeout().empty());
  }
  expect_link_works();
}

TEST_F(Pool, SessionExpiringDuringItsReuseHandshakeIsRefused) {
  link_.lose_in_flight();
  tap_.closed(3);  // detached at t=1000
  tick(SC_DEFAULT_REUSE_TIMEOUT_MS - 100);
  link_.switch_socket(4, false);
  link_.deliver_c2s();  // the request is answered
  ASSERT_EQ(16u, link_.s2c_pending());
  tick(101);
  EXPECT_TRUE(timeout().empty());  // the session is freed, the handshake is young
  link_.pump();                     // the auth code arrives: nothing to resume
  EXPECT_EQ(1, tap_.close_count(4));
}

TEST_F(Pool, RestoringTheSystemClock) {
  EXPECT_EQ(SC_OK, sc_pool_set_clock(pool_.get(), nullptr, nullptr));
  raw_request(20);
  EXPECT_TRUE(timeout().empty());
  expect_link_works();
}

// ------------------------------------------------------------------ hostile sockets

TEST_F(Pool, OversizedFirstReadsAreClosed) {
  const std::string cases[] = {
      new_request(5) + "x",                 // 17 bytes of a new request
      new_request(5) + std::string(8, 'a'),  // request and auth at once
      le64(1) + le32(2) + "y",              // 13 bytes of a reuse request
      reuse_request() + "z",                // a real reuse request, one byte too many
      std::string(100, '\x01'),
      std::string(1000, '\0'),
  };
  int fd = 20;
  for (const std::string &bytes : cases) {
    tap_.recv(fd, bytes);
    EXPECT_EQ(1, tap_.close_count(fd)) << "fd " << fd;
    EXPECT_TRUE(tap_.written[fd].empty()) << "fd " << fd << " got a reply";
    ++fd;
  }
  expect_link_works();
}

TEST_F(Pool, OversizedAcrossReadsIsClosed) {
  tap_.recv(20, new_request(5).substr(0, 10));
  EXPECT_FALSE(tap_.was_closed(20));
  tap_.recv(20, new_request(5).substr(10) + "!");
  EXPECT_EQ(1, tap_.close_count(20));
  // Reuse: 5 + 8 = 13 bytes.
  const std::string reuse = reuse_request();
  tap_.recv(21, reuse.substr(0, 5));
  EXPECT_FALSE(tap_.was_closed(21));
  tap_.recv(21, reuse.substr(5) + "!");
  EXPECT_EQ(1, tap_.close_count(21));
  EXPECT_TRUE(tap_.written[21].empty());
  expect_link_works();
}

TEST_F(Pool, ExactRequestsSplitAnyWayAreAnswered) {
  const std::string req = new_request(777);
  for (size_t cut = 1; cut < req.size(); ++cut) {
    const int fd = 100 + static_cast<int>(cut);
    tap_.recv(fd, req.substr(0, cut));
    EXPECT_TRUE(tap_.written[fd].empty());
    tap_.recv(fd, req.substr(cut));
    EXPECT_EQ(16u, tap_.written[fd].size()) << "cut " << cut;
    EXPECT_FALSE(tap_.was_closed(fd));
  }
  tap_.recv_bytes(200, req);
  EXPECT_EQ(16u, tap_.written[200].size());
  EXPECT_FALSE(tap_.was_closed(200));
  const std::string reuse = reuse_request();
  tap_.recv_bytes(201, reuse);
  EXPECT_EQ(16u, tap_.written[201].size());
  EXPECT_FALSE(tap_.was_closed(201));
  expect_link_works();
}

TEST_F(Pool, WrongAuthCodeIsClosed) {
  const std::string reply = raw_request(20, 12345);
  ASSERT_EQ(16u, reply.size());
  tap_.recv(20, le64(0x1122334455667788ull));
  EXPECT_EQ(1, tap_.close_count(20));
  // Byte by byte: closed at the eighth byte, not before.
  ASSERT_EQ(16u, raw_request(21, 54321).size());
  const std::string wrong = le64(42);
  for (size_t k = 0; k < 7; ++k) {
    tap_.recv(21, wrong.substr(k, 1));
    EXPECT_FALSE(tap_.was_closed(21)) << "after " << k + 1 << " bytes";
  }
  tap_.recv(21, wrong.substr(7));
  EXPECT_EQ(1, tap_.close_count(21));
  // A wrong code followed by data in the same read.
  ASSERT_EQ(16u, raw_request(22, 3).size());
  tap_.recv(22, le64(1) + "some data");
  EXPECT_EQ(1, tap_.close_count(22));
  // A reuse request answered, then a wrong code.
  tap_.recv(23, reuse_request());
  const std::string reuse_reply = tap_.take(23);
  ASSERT_EQ(16u, reuse_reply.size());
  tap_.recv(23, le64(sc::hash64(get_le64(reuse_reply, 8), secret()) ^ 1));
  EXPECT_EQ(1, tap_.close_count(23));
  EXPECT_TRUE(tap_.in.count(2) == 0 && tap_.in.size() == 1) << "no session was made";
  expect_link_works();
}

TEST_F(Pool, RightAuthCodeFromAHandmadeClientOpensASession) {
  // With the client's public key 0 the pool uses 1: the secret is 1.
  const std::string reply = raw_request(20, 0);
  ASSERT_EQ(16u, reply.size());
  tap_.recv(20, le64(sc::hash64(get_le64(reply, 8), 1)));
  EXPECT_FALSE(tap_.was_closed(20));
  cp_send(pool_.get(), 2, "hi", 2);
  tap_.drain();
  sc::StreamCipher cipher(1);
  std::string plain = tap_.take(20);
  ASSERT_EQ(2u, plain.size());
  cipher.apply(reinterpret_cast<const uint8_t *>(plain.data()), reinterpret_cast<uint8_t *>(&plain[0]), 2);
  EXPECT_EQ("hi", plain);
  expect_link_works();
}

TEST_F(Pool, UnknownReuseRequestsAreClosed) {
  std::mt19937_64 gen(3);
  for (int fd = 20; fd < 40; ++fd) {
    std::string req = le64(gen() | 1) + le32(static_cast<uint32_t>(gen()));
    tap_.recv(fd, req);
    EXPECT_EQ(1, tap_.close_count(fd));
    EXPECT_TRUE(tap_.written[fd].empty());
  }
  expect_link_works();
}

TEST_F(Pool, GarbageOfEveryLength) {
  std::mt19937 gen(11);
  int fd = 100;
  for (size_t len = 1; len <= 40; ++len) {
    for (bool new_kind : {false, true}) {
      std::string bytes(len, '\0');
      for (auto &c : bytes) c = static_cast<char>(gen());
      if (new_kind) {
        for (size_t k = 0; k < std::min<size_t>(8, len); ++k) bytes[k] = 0;
      } else {
        bytes[0] = '\x7f';  // nonzero: a reuse request
      }
      tap_.recv(fd, bytes);
      const size_t request = new_kind ? 16 : 12;
      if (len > request) {
        EXPECT_EQ(1, tap_.close_count(fd)) << "len " << len;
        EXPECT_TRUE(tap_.written[fd].empty());
      } else if (len < request) {
        EXPECT_FALSE(tap_.was_closed(fd)) << "len " << len << ": an incomplete request waits";
        EXPECT_TRUE(tap_.written[fd].empty());
      } else if (new_kind) {
        EXPECT_EQ(16u, tap_.written[fd].size()) << "any 16 bytes starting with zeros are a request";
      } else {
        EXPECT_EQ(1, tap_.close_count(fd)) << "a random reuse request names no session";
      }
      ++fd;
    }
  }
  expect_link_works();
  // What is still waiting goes at the handshake timeout.
  const size_t before = tap_.closes.size();
  tick(SC_DEFAULT_HANDSHAKE_TIMEOUT_MS + 1);
  cp_timeout(pool_.get());
  tap_.drain();
  EXPECT_EQ(11u + 15u + 1u, tap_.closes.size() - before);
  expect_link_works();
}

TEST_F(Pool, BytesBeforeTheReplyWasPolledAreClosed) {
  // A new request, and one more byte before the application polled the reply.
  const std::string req = new_request(8);
  cp_recv(pool_.get(), 20, req.data(), req.size());
  cp_recv(pool_.get(), 20, "x", 1);
  pool_message m;
  ASSERT_EQ(POOL_OUT, cp_poll(pool_.get(), &m));
  EXPECT_EQ(20, m.id);
  EXPECT_EQ(0u, m.sz) << "the unpolled reply must not go out";
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool_.get(), &m));
  // The same with a reuse request: the session stays where it is.
  const std::string reuse = reuse_request();
  cp_recv(pool_.get(), 21, reuse.data(), reuse.size());
  const std::string eight(8, '\0');
  cp_recv(pool_.get(), 21, eight.data(), 8);
  ASSERT_EQ(POOL_OUT, cp_poll(pool_.get(), &m));
  EXPECT_EQ(21, m.id);
  EXPECT_EQ(0u, m.sz);
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool_.get(), &m));
  expect_link_works();
}

TEST_F(Pool, DataOnASocketThePoolIsClosing) {
  tap_.recv(20, le64(5) + le32(5));  // names no session: closed
  ASSERT_EQ(1, tap_.close_count(20));
  // Again, this time more bytes come before the close was polled.
  const std::string bad = le64(6) + le32(6);
  cp_recv(pool_.get(), 21, bad.data(), bad.size());
  const std::string req = new_request(1);
  cp_recv(pool_.get(), 21, req.data(), req.size());  // ignored: the pool gave up on fd 21
  cp_recv(pool_.get(), 21, "more", 4);
  pool_message m;
  ASSERT_EQ(POOL_OUT, cp_poll(pool_.get(), &m));
  EXPECT_EQ(21, m.id);
  EXPECT_EQ(0u, m.sz);
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool_.get(), &m));
  // Once the close was handed out the number is a new socket.
  tap_.recv(21, req);
  EXPECT_EQ(16u, tap_.take(21).size());
  EXPECT_FALSE(tap_.was_closed(21));
  expect_link_works();
}

TEST_F(Pool, ClosedNoticeForAClosingSocketForgetsIt) {
  const std::string bad = le64(6) + le32(6);
  cp_recv(pool_.get(), 21, bad.data(), bad.size());
  cp_recv(pool_.get(), 21, nullptr, 0);  // the application closed it first
  tap_.drain();
  EXPECT_LE(tap_.close_count(21), 1);
  tap_.recv(21, new_request(1));
  EXPECT_EQ(16u, tap_.take(21).size()) << "fd 21 is a new socket";
  expect_link_works();
}

TEST_F(Pool, EmptyReadsAndNoticesForUnknownSocketsDoNothing) {
  cp_recv(pool_.get(), 50, "x", 0);  // zero bytes: not a new socket
  cp_recv(pool_.get(), 51, nullptr, 0);
  cp_recv(pool_.get(), 52, nullptr, 5);
  EXPECT_FALSE(tap_.drain());
  tick(uint64_t{1} << 40);
  EXPECT_TRUE(timeout().empty()) << "no handshake was started";
  expect_link_works();
}

// A legacy server passes read()'s result straight through: at end of file
// that is cp_recv(cp, fd, buf, 0) with its own, non-NULL buffer. The 2014
// module read any size 0 as "this fd is gone", and the kernel hands the same
// number to the next client.
TEST_F(Pool, SizeZeroWithABufferIsTheEndOfTheSocket) {
  const char buf[16] = {'l', 'e', 'f', 't', 'o', 'v', 'e', 'r'};
  cp_recv(pool_.get(), 3, buf, 0);
  EXPECT_FALSE(tap_.drain()) << "the application closed fd 3 itself: nothing to ask";
  sc_session_info info{};
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool_.get(), 1, &info, sizeof info));
  EXPECT_EQ(SC_SESSION_DETACHED, info.state);
  EXPECT_EQ(-1, info.fd);

  // fd 3 again, now a new client: its handshake is a handshake, not data of
  // session 1, and it gets a session of its own.
  Link next{tap_, capi_client(), 3, 2, 11};
  next.client_send(40);
  next.pump();
  next.server_send(50);
  next.pump();
  EXPECT_TRUE(same_stream(tap_.in[2], next.client_sent));
  EXPECT_TRUE(same_stream(next.client_got, next.server_sent));
  EXPECT_EQ(0, next.client_deaths);
  EXPECT_TRUE(same_stream(tap_.in[1], link_.client_sent)) << "nothing reached the old session";
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool_.get(), 2, &info, sizeof info));
  EXPECT_EQ(SC_SESSION_ATTACHED, info.state);
  EXPECT_EQ(3, info.fd);
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool_.get(), 1, &info, sizeof info));
  EXPECT_EQ(SC_SESSION_DETACHED, info.state);
  EXPECT_FALSE(tap_.was_closed(3));

  // The old session's client comes back on another socket and resumes.
  link_.server_send(30);  // kept while detached
  link_.reconnect(4, false);
  EXPECT_EQ(0, link_.client_deaths);
  EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
  link_.client_send(17);
  link_.pump();
  EXPECT_TRUE(same_stream(link_.server_got(), link_.client_sent));
  ASSERT_EQ(SC_OK, sc_pool_session_info(pool_.get(), 1, &info, sizeof info));
  EXPECT_EQ(4, info.fd);
}

// The same end of file in the handshake drops the handshake, as with NULL.
TEST_F(Pool, SizeZeroWithABufferDropsAHandshake) {
  EXPECT_EQ(16u, raw_request(20).size());
  cp_recv(pool_.get(), 20, "x", 0);
  EXPECT_FALSE(tap_.drain());
  sc_pool_stats st{};
  ASSERT_EQ(SC_OK, sc_pool_get_stats(pool_.get(), &st, sizeof st));
  EXPECT_EQ(0u, st.handshakes_pending);
  EXPECT_EQ(16u, raw_request(20).size()) << "fd 20 is a new socket";
  expect_link_works();
}

TEST_F(Pool, HostileSocketsMixedWithAReconnect) {
  // Several hostile sockets and a genuine reconnect interleaved.
  tap_.recv(20, new_request(3) + "!!");
  link_.server_send(100);
  link_.lose_in_flight();
  tap_.recv(21, std::string(12, '\xff'));
  link_.switch_socket(4, false);
  link_.deliver_c2s();
  tap_.recv(22, new_request(9));
  link_.pump();
  EXPECT_EQ((std::vector<int>{20, 21, 3}), tap_.closes);
  EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
  link_.client_send(5);
  link_.server_send(5);
  link_.pump();
  EXPECT_TRUE(same_stream(link_.server_got(), link_.client_sent));
  EXPECT_TRUE(same_stream(link_.client_got, link_.server_sent));
}

// ------------------------------------------------------------------ windows

TEST(PoolWindow, AppliesToSessionsOpenedAfterwards) {
  FixedRandom random(3);
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link a(tap, capi_client(), 10, 1, 1);  // default window
  a.pump();
  a.server_send(10);
  a.pump();
  ASSERT_EQ(SC_OK, sc_pool_set_window(pool.get(), 4096));
  Link b(tap, capi_client(), 11, 2, 2);
  b.pump();
  b.server_send(10);
  b.pump();
  for (Link *l : {&a, &b}) {
    l->server_send(5000);
    l->lose_in_flight();
    l->reconnect(l->fd() + 100);
  }
  EXPECT_EQ(0, tap.close_count(110)) << "opened with the default window: resumes";
  EXPECT_TRUE(same_stream(a.client_got, a.server_sent));
  EXPECT_EQ(1, tap.close_count(111)) << "opened with a 4096-byte window: 5000 lost bytes are too many";
}

// ------------------------------------------------------------------ NULL and errors

TEST(PoolNull, EveryFunctionAcceptsNullHandles) {
  cp_delete(nullptr);
  cp_timeout(nullptr);
  cp_recv(nullptr, 3, "abc", 3);
  cp_recv(nullptr, 3, nullptr, 0);
  cp_send(nullptr, 1, "abc", 3);
  cp_send(nullptr, 1, nullptr, 0);
  pool_message m;
  EXPECT_EQ(POOL_EMPTY, cp_poll(nullptr, &m));
  EXPECT_EQ(POOL_EMPTY, cp_poll(nullptr, nullptr));

  cc_close(nullptr);
  cc_handshake(nullptr);
  cc_send(nullptr, "abc", 3);
  cc_send(nullptr, nullptr, 0);
  cc_recv(nullptr, "abc", 3);
  cc_recv(nullptr, nullptr, 0);
  connection_message cm;
  EXPECT_EQ(MESSAGE_EMPTY, cc_poll(nullptr, &cm));
  EXPECT_EQ(MESSAGE_EMPTY, cc_poll(nullptr, nullptr));

  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_handshake_timeout(nullptr, 10));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_reuse_timeout(nullptr, 10));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_window(nullptr, 4096));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_clock(nullptr, &read_clock, nullptr));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_client_set_window(nullptr, 4096));
}

TEST(PoolNull, PollWithoutAMessageKeepsTheMessage) {
  FixedRandom random(4);
  PoolPtr pool(cp_new());
  const std::string req = new_request(2);
  cp_recv(pool.get(), 5, req.data(), req.size());
  EXPECT_EQ(POOL_EMPTY, cp_poll(pool.get(), nullptr));
  pool_message m;
  ASSERT_EQ(POOL_OUT, cp_poll(pool.get(), &m));
  EXPECT_EQ(16u, m.sz);

  connection *c = cc_open();
  ASSERT_NE(nullptr, c);
  connection_message cm;
  EXPECT_EQ(MESSAGE_EMPTY, cc_poll(c, nullptr));
  ASSERT_EQ(MESSAGE_OUT, cc_poll(c, &cm));
  EXPECT_EQ(16, cm.sz);
  cc_close(c);
}

TEST(PoolNull, DeletingAPoolWithEverythingInIt) {
  // Sessions attached and detached, handshakes, unpolled output and input:
  // cp_delete frees it all (the sanitizers check).
  FixedRandom random(5);
  connection_pool *cp = cp_new();
  ASSERT_NE(nullptr, cp);
  {
    PoolTap tap(cp);
    Link a(tap, capi_client(), 10, 1, 1);
    a.pump();
    a.client_send(5000);
    a.server_send(70000);
    a.pump();
    Link b(tap, capi_client(), 11, 2, 2);
    b.pump();
    b.server_send(100);
    b.pump();
    tap.closed(11);
    tap.recv(12, new_request(4));
    a.client_send(10);
    a.take_c2s();
    cp_send(cp, 1, "unpolled", 8);
    const std::string req = new_request(5);
    cp_recv(cp, 13, req.data(), req.size());
  }
  cp_delete(cp);
}

TEST(PoolErrors, SetterArguments) {
  PoolPtr pool(cp_new());
  connection_pool *cp = pool.get();
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_handshake_timeout(cp, 0));
  EXPECT_EQ(SC_OK, sc_pool_set_handshake_timeout(cp, 1));
  EXPECT_EQ(SC_OK, sc_pool_set_handshake_timeout(cp, UINT64_MAX));
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(cp, 0));
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(cp, 1));
  EXPECT_EQ(SC_OK, sc_pool_set_reuse_timeout(cp, UINT64_MAX));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_window(cp, 0));
  EXPECT_EQ(SC_OK, sc_pool_set_window(cp, SC_MIN_WINDOW));
  EXPECT_EQ(SC_OK, sc_pool_set_window(cp, SC_MAX_WINDOW));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_window(cp, size_t{SC_MAX_WINDOW} + 1));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_pool_set_window(cp, SIZE_MAX));
  uint64_t t = 0;
  EXPECT_EQ(SC_OK, sc_pool_set_clock(cp, &read_clock, &t));
  EXPECT_EQ(SC_OK, sc_pool_set_clock(cp, &read_clock, nullptr));
  EXPECT_EQ(SC_OK, sc_pool_set_clock(cp, nullptr, nullptr));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_testing_set_random(2, nullptr, nullptr));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_testing_set_random(-1, nullptr, nullptr));
  EXPECT_EQ(SC_OK, sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr));
  EXPECT_EQ(SC_OK, sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr));
}

TEST(PoolErrors, ClientWindowSetter) {
  FixedRandom random(6);
  connection *c = cc_open();
  ASSERT_NE(nullptr, c);
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_client_set_window(c, 0));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, sc_client_set_window(c, size_t{SC_MAX_WINDOW} + 1));
  EXPECT_EQ(SC_OK, sc_client_set_window(c, SC_MIN_WINDOW));
  EXPECT_EQ(SC_OK, sc_client_set_window(c, SC_MAX_WINDOW));
  EXPECT_EQ(SC_OK, sc_client_set_window(c, 4096));
  cc_close(c);

  // Once data has been sent the window is fixed.
  PoolPtr pool(cp_new());
  PoolTap tap(pool.get());
  Link link(tap, capi_client(4096), 3, 1, 6);
  link.pump();
  EXPECT_EQ(SC_OK, link.client().set_window(2048)) << "established, nothing sent yet";
  link.client_send(1);
  link.pump();
  EXPECT_EQ(SC_ERR_INVALID_STATE, link.client().set_window(4096));
  EXPECT_EQ(SC_ERR_INVALID_ARGUMENT, link.client().set_window(0));
  // The refused call changed nothing: the window is still 2048.
  link.server_send(1);
  link.pump();
  link.client_send(2048);
  link.lose_in_flight();
  link.reconnect(4);
  EXPECT_EQ(0, link.client_deaths);
  EXPECT_TRUE(same_stream(link.server_got(), link.client_sent));
  link.client_send(2049);
  link.lose_in_flight();
  link.reconnect(5);
  EXPECT_EQ(1, link.client_deaths) << "2049 lost bytes exceed a 2048-byte window";
}

TEST(PoolErrors, StrerrorAndVersion) {
  const int known[] = {SC_OK, SC_ERR_INVALID_ARGUMENT, SC_ERR_INVALID_STATE, SC_ERR_NO_MEMORY};
  std::set<std::string> texts;
  for (int code : known) {
    const char *s = sc_strerror(code);
    ASSERT_NE(nullptr, s);
    EXPECT_GT(std::strlen(s), 0u);
    texts.insert(s);
  }
  EXPECT_EQ(4u, texts.size()) << "each code has its own text";
  EXPECT_STREQ("success", sc_strerror(SC_OK));
  EXPECT_STREQ("invalid argument", sc_strerror(SC_ERR_INVALID_ARGUMENT));
  EXPECT_STREQ("not allowed in the current state", sc_strerror(SC_ERR_INVALID_STATE));
  EXPECT_STREQ("out of memory", sc_strerror(SC_ERR_NO_MEMORY));
  for (int code : {1, 2, -100, INT_MIN, INT_MAX}) {
    const char *s = sc_strerror(code);
    ASSERT_NE(nullptr, s) << code;
    EXPECT_GT(std::strlen(s), 0u);
    EXPECT_EQ(0u, texts.count(s)) << code << " reads like a known code";
  }
  EXPECT_EQ(0, SC_OK);
  EXPECT_EQ(-1, SC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(-2, SC_ERR_INVALID_STATE);
  EXPECT_EQ(-3, SC_ERR_NO_MEMORY);
  EXPECT_STREQ((std::to_string(SC_VERSION_MAJOR) + "." + std::to_string(SC_VERSION_MINOR) + "." +
                 std::to_string(SC_VERSION_PATCH))
                    .c_str(),
               sc_version());
}

TEST(PoolErrors, LegacyConstants) {
  EXPECT_EQ(0, POOL_EMPTY);
  EXPECT_EQ(1, POOL_IN);
  EXPECT_EQ(2, POOL_OUT);
  EXPECT_EQ(0, MESSAGE_EMPTY);
  EXPECT_EQ(1, MESSAGE_IN);
  EXPECT_EQ(2, MESSAGE_OUT);
  EXPECT_EQ(30000u, SC_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  EXPECT_EQ(300000u, SC_DEFAULT_REUSE_TIMEOUT_MS);
  EXPECT_EQ(65536u, SC_DEFAULT_WINDOW);
}

TEST(PoolHostile, NegativeFdsAreIgnored) {
  connection_pool *cp = cp_new();
  const std::string request(16, '\0');
  cp_recv(cp, -1, request.data(), request.size());
  cp_recv(cp, -5, nullptr, 0);
  pool_message m;
  EXPECT_EQ(cp_poll(cp, &m), POOL_EMPTY);
  sc_pool_stats st;
  ASSERT_EQ(SC_OK, sc_pool_get_stats(cp, &st, sizeof st));
  EXPECT_EQ(st.handshakes_pending, 0u);
  cp_delete(cp);
}

}  // namespace
