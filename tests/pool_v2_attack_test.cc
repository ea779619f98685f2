// Version 2 under attack and at the edges of the compatibility matrix, through
// the pool: records changed in flight (every byte of a record, each way),
// replayed resume requests, truncated and oversized records, frames that break
// the rules (from a hand-made client that writes any frame), and every status
// byte a client can be answered with. In each case that socket is closed or
// refused, nothing altered is delivered, and the session goes on where it may.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "noise/noise.h"
#include "v2/record.h"
#include "v2/wire.h"
#include "v2_net.h"

namespace {

using v2net::Bytes;
using v2net::fixed;
using v2net::Guard;
using v2net::Net;
namespace v2 = sc::v2;
namespace noise = sc::noise;

Bytes text(const std::string &s) { return Bytes(s.begin(), s.end()); }

Bytes cat(const Bytes &a, const Bytes &b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

int count_events(const Net &net, sc::PoolEventType type) {
  int n = 0;
  for (const sc::PoolEvent &e : net.seen.events) n += e.type == type;
  return n;
}

// Deterministic keys and draws for both sides, restored at the end.
struct Fixture {
  Guard guard;
  uint64_t server_state = 11, client_state = 12;
  Fixture() {
    sc::set_random_source(sc::RandomSide::kServer, fixed, &server_state);
    sc::set_random_source(sc::RandomSide::kClient, fixed, &client_state);
  }
};

// ---------------------------------------------------------------- records changed in flight

TEST(PoolV2Attack, EveryByteOfAClientRecordChangedInTurn) {
  Fixture fx;
  Net net;
  net.step();
  const int id = net.session();
  ASSERT_NE(id, 0);
  Bytes sent;
  size_t record_size = 0;
  int closed = 0;
  for (size_t k = 0; k == 0 || k < record_size; ++k) {
    const Bytes d = text("message " + std::to_string(k) + std::string(100, 'x'));
    sent = cat(sent, d);
    net.client->send(d.data(), d.size());
    net.pump_client();
    Bytes record = net.to_pool;
    net.to_pool.clear();
    record_size = record.size();
    ASSERT_LT(k, record.size());
    record[k] ^= 0x20;
    const Bytes before = net.seen.in[id];
    net.pool.receive(net.fd, record.data(), record.size());
    net.pump_pool();
    // Nothing of the changed record is delivered.
    EXPECT_EQ(net.seen.in[id], before) << "byte " << k;
    // A changed length may leave the pool waiting for more; anything else
    // fails at once and closes the connection.
    if (k >= v2::kRecordHeaderSize) EXPECT_TRUE(net.seen.closed[net.fd]) << "byte " << k;
    closed += net.seen.closed[net.fd] ? 1 : 0;
    // The client resumes on a new connection and resends what was lost.
    net.reconnect();
    for (int s = 0; s < 3; ++s) net.step();
    ASSERT_EQ(net.seen.in[id], sent) << "after byte " << k;
  }
  EXPECT_GE(closed, static_cast<int>(record_size - v2::kRecordHeaderSize));
  EXPECT_EQ(net.pool.counters().refused[static_cast<int>(sc::Reason::kProtocolError)], static_cast<uint64_t>(closed));
  EXPECT_EQ(count_events(net, sc::PoolEventType::kSessionOpened), 1);
  EXPECT_EQ(count_events(net, sc::PoolEventType::kSessionClosed), 0);
}

TEST(PoolV2Attack, EveryByteOfAPoolRecordChangedInTurn) {
  Fixture fx;
  Net net;
  net.step();
  const int id = net.session();
  ASSERT_NE(id, 0);
  Bytes sent;
  size_t record_size = 0;
  for (size_t k = 0; k == 0 || k < record_size; ++k) {
    const Bytes d = text("answer " + std::to_string(k) + std::string(90, 'y'));
    sent = cat(sent, d);
    net.pool.send(id, d.data(), d.size());
    net.pump_pool();
    Bytes record = net.to_client;
    net.to_client.clear();
    record_size = record.size();
    ASSERT_LT(k, record.size());
    record[k] ^= 0x04;
    const size_t got_before = net.client_got.size();
    net.client->receive(record.data(), record.size());
    net.pump_client();
    EXPECT_EQ(net.client_got.size(), got_before) << "byte " << k;
    if (k >= v2::kRecordHeaderSize) {
      EXPECT_EQ(net.client->state(), sc::ClientV2::State::kBroken) << "byte " << k;
      EXPECT_EQ(net.client->last_failure(), sc::Reason::kProtocolError) << "byte " << k;
    }
    net.reconnect();
    for (int s = 0; s < 3; ++s) net.step();
    ASSERT_EQ(net.client_got, sent) << "after byte " << k;
    ASSERT_EQ(net.client->state(), sc::ClientV2::State::kEstablished);
  }
  EXPECT_EQ(count_events(net, sc::PoolEventType::kSessionOpened), 1);
}

// ---------------------------------------------------------------- replays

TEST(PoolV2Attack, AReplayedResumeRequestNeverMovesTheSessionNorGetsData) {
  Fixture fx;
  Net net;
  net.step();
  const int id = net.session();
  // A resume, recorded on the wire: the request, then the client's first record.
  net.reconnect();
  net.pump_client();
  const Bytes request = net.to_pool;
  ASSERT_EQ(request.size(), v2::kResumeRequestSize);
  net.pool.receive(net.fd, net.to_pool.data(), net.to_pool.size());
  net.to_pool.clear();
  net.pump_pool();
  net.client->receive(net.to_client.data(), net.to_client.size());
  net.to_client.clear();
  net.pump_client();
  const Bytes first_record = net.to_pool;
  ASSERT_FALSE(first_record.empty());
  net.step();
  const int legit_fd = net.fd;
  ASSERT_EQ(net.pool.session_fd(id), legit_fd);

  for (int round = 0; round < 2; ++round) {
    // Round 0: the session is attached; round 1: it has lost its socket.
    if (round == 1) {
      net.pool.socket_closed(legit_fd);
      net.pump_pool();
    }
    const int replay_fd = 900 + round;
    net.pool.receive(replay_fd, request.data(), request.size());
    v2net::drain(net.pool, net.seen);
    // An answer may go out (the pool cannot tell a replay from the request),
    // but the session stays where it was.
    EXPECT_EQ(net.pool.session_fd(id), round == 0 ? legit_fd : -1);
    net.pool.receive(replay_fd, first_record.data(), first_record.size());
    v2net::drain(net.pool, net.seen);
    EXPECT_TRUE(net.seen.closed[replay_fd]) << "round " << round;
    EXPECT_EQ(net.pool.session_fd(id), round == 0 ? legit_fd : -1) << "round " << round;
    // Nothing but the handshake answer went to the replaying socket.
    EXPECT_LE(net.seen.out[replay_fd].size(), v2::kResumeAnswerSize) << "round " << round;
  }
  // The real client resumes and the stream goes on.
  const Bytes more = text("after the replays");
  net.client->send(more.data(), more.size());
  net.reconnect();
  for (int s = 0; s < 3; ++s) net.step();
  EXPECT_EQ(net.seen.in[id], more);
  EXPECT_EQ(net.pool.session_fd(id), net.fd);
}

// ---------------------------------------------------------------- records cut short or too long

TEST(PoolV2Attack, TruncatedOversizedAndUndersizedRecords) {
  Fixture fx;
  Net net;
  net.step();
  const int id = net.session();
  Bytes sent;

  // Cut short, then the connection breaks: nothing delivered, then all of it.
  Bytes d = text("cut short");
  sent = cat(sent, d);
  net.client->send(d.data(), d.size());
  net.pump_client();
  net.pool.receive(net.fd, net.to_pool.data(), net.to_pool.size() - 5);
  net.to_pool.clear();
  net.pump_pool();
  EXPECT_TRUE(net.seen.in[id].empty());
  EXPECT_FALSE(net.seen.closed[net.fd]);  // waiting for the rest
  net.reconnect();
  for (int s = 0; s < 3; ++s) net.step();
  EXPECT_EQ(net.seen.in[id], sent);

  // The longest record a header can announce, full of noise: read whole, then
  // refused; and a length below the tag's: refused at its header.
  for (uint16_t len : {uint16_t{65535}, uint16_t{v2::kMinRecordLen - 1}}) {
    Bytes junk(v2::kRecordHeaderSize + len);
    sc::store_le16(junk.data(), len);
    for (size_t k = 2; k < junk.size(); ++k) junk[k] = static_cast<uint8_t>(k * 7);
    net.pool.receive(net.fd, junk.data(), len == 65535 ? junk.size() - 1 : v2::kRecordHeaderSize);
    net.pump_pool();
    EXPECT_EQ(net.seen.closed[net.fd], len != 65535) << "len " << len;
    if (len == 65535) {
      net.pool.receive(net.fd, junk.data() + junk.size() - 1, 1);
      net.pump_pool();
      EXPECT_TRUE(net.seen.closed[net.fd]);
    }
    EXPECT_EQ(net.seen.in[id], sent);
    d = text("after a bad record of length " + std::to_string(len));
    sent = cat(sent, d);
    net.client->send(d.data(), d.size());
    net.reconnect();
    for (int s = 0; s < 3; ++s) net.step();
    EXPECT_EQ(net.seen.in[id], sent);
  }
}

// ---------------------------------------------------------------- a client that writes any frame

// Speaks version 2 by hand, from the codec: a new session, then records of
// whatever frames a test writes.
struct HandClient {
  noise::HandshakeState hs;
  v2::RecordWriter writer;
  v2::RecordReader reader;
  v2::NewAnswerPayload answer;

  Bytes new_request(const uint8_t *server_pub, uint32_t window = 65536) {
    Bytes msg(v2::kNewRequestSize);
    uint8_t plain[v2::NewRequestPayload::kSize], e[noise::kDhSize];
    for (size_t k = 0; k < sizeof e; ++k) e[k] = static_cast<uint8_t>(0x31 + k);
    const size_t pro = v2::write_prologue(msg.data(), v2::Kind::kNew, nullptr);
    v2::NewRequestPayload{window, 0}.encode(plain);
    EXPECT_TRUE(hs.initialize(noise::Pattern::kNK, true, msg.data(), pro, nullptr, server_pub, nullptr));
    EXPECT_TRUE(hs.write_message(e, plain, sizeof plain, msg.data() + pro));
    return msg;
  }
  // A resume of `id` with `secret`, claiming to have received `received`.
  Bytes resume_request(const v2::SessionId &id, const uint8_t *secret, uint64_t received) {
    Bytes msg(v2::kResumeRequestSize);
    uint8_t plain[v2::ResumePayload::kSize], e[noise::kDhSize];
    for (size_t k = 0; k < sizeof e; ++k) e[k] = static_cast<uint8_t>(0x51 + k);
    const size_t pro = v2::write_prologue(msg.data(), v2::Kind::kResume, &id);
    v2::ResumePayload{received}.encode(plain);
    EXPECT_TRUE(hs.initialize(noise::Pattern::kNNpsk0, true, msg.data(), pro, nullptr, nullptr, secret));
    EXPECT_TRUE(hs.write_message(e, plain, sizeof plain, msg.data() + pro));
    return msg;
  }
  bool read_new_answer(const Bytes &in) {
    if (in.size() < v2::kNewAnswerSize || in[0] != 0) return false;
    uint8_t plain[v2::NewAnswerPayload::kSize];
    if (!hs.read_message(in.data() + 1, v2::kNewAnswerSize - 1, plain)) return false;
    answer = v2::NewAnswerPayload::decode(plain);
    return hs.split(writer.cipher(), reader.cipher());
  }
  // One record holding exactly these frame bytes.
  Bytes record(const Bytes &frames) {
    std::vector<uint8_t> out;
    writer.begin(out);
    std::memcpy(writer.extend(out, frames.size()), frames.data(), frames.size());
    EXPECT_TRUE(writer.finish(out));
    return out;
  }
};

Bytes ack(uint64_t n) {
  Bytes b(v2::kAckSize);
  v2::write_ack(b.data(), n);
  return b;
}

Bytes data_frame(const std::string &s) {
  Bytes b(v2::kDataHeaderSize + s.size());
  v2::write_data_header(b.data(), s.size());
  std::copy(s.begin(), s.end(), b.begin() + static_cast<long>(v2::kDataHeaderSize));
  return b;
}

Bytes close_frame() {
  Bytes b(v2::kCloseSize);
  v2::write_close(b.data(), 0);
  return b;
}

// A pool with a key and a hand-made client through its new session, on `fd`.
struct HandNet {
  Net net;  // for its pool and key; its own client stays unused
  std::unique_ptr<HandClient> owned;
  HandClient *client = nullptr;
  int fd = 500;
  int id = 0;

  void open(int at_fd) {
    fd = at_fd;
    owned.reset(new HandClient);
    client = owned.get();
    const Bytes req = client->new_request(net.pub);
    net.pool.receive(fd, req.data(), req.size());
    v2net::drain(net.pool, net.seen);
    ASSERT_TRUE(client->read_new_answer(net.seen.out[fd]));
    net.seen.out[fd].clear();
    id = 0;
    for (const sc::PoolEvent &e : net.seen.events)
      if (e.type == sc::PoolEventType::kSessionOpened && e.fd == fd) id = e.id;
    ASSERT_NE(id, 0);
  }
  void send(const Bytes &frames) {
    const Bytes r = client->record(frames);
    net.pool.receive(fd, r.data(), r.size());
    v2net::drain(net.pool, net.seen);
  }
  bool closed() { return net.seen.closed[fd]; }
};

TEST(PoolV2Attack, FramesThatBreakTheRulesCloseTheConnection) {
  Fixture fx;
  HandNet h;

  // A good start: the first record begins with an ACK.
  h.open(500);
  h.send(cat(ack(0), data_frame("hello")));
  EXPECT_EQ(h.net.seen.in[h.id], text("hello"));
  EXPECT_FALSE(h.closed());
  // An ACK beyond anything the pool sent: closed, the session detached and
  // still there, nothing of the record delivered.
  h.send(cat(data_frame(" world"), ack(1000)));
  EXPECT_TRUE(h.closed());
  EXPECT_EQ(h.net.seen.in[h.id], text("hello"));
  EXPECT_TRUE(h.net.pool.session_exists(h.id));
  EXPECT_EQ(h.net.pool.session_fd(h.id), -1);

  // An unknown frame type after good data in the same record.
  h.open(501);
  h.send(ack(0));
  h.send(cat(data_frame("kept?"), Bytes{0x7f, 0, 0, 0}));
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.net.seen.in[h.id].empty());

  // A frame after CLOSE.
  h.open(502);
  h.send(ack(0));
  h.send(cat(close_frame(), data_frame("late")));
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.net.seen.in[h.id].empty());
  EXPECT_TRUE(h.net.pool.session_exists(h.id));  // the CLOSE took no effect

  // A first record without the ACK the client owes: refused, and the
  // session, never confirmed, goes with its socket when it times out.
  h.open(503);
  h.send(data_frame("no ack first"));
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.net.seen.in[h.id].empty());

  // A DATA frame announcing more bytes than the record holds.
  h.open(504);
  h.send(ack(0));
  Bytes lying = data_frame("abc");
  sc::store_le16(lying.data() + v2::kFrameTypeSize, 40);
  h.send(lying);
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.net.seen.in[h.id].empty());

  EXPECT_EQ(h.net.pool.counters().refused[static_cast<int>(sc::Reason::kProtocolError)], 5u);
}

// ---------------------------------------------------------------- the status bytes

TEST(PoolV2Matrix, BusyAnswersStatusTwoAndTheClientMayRetry) {
  Fixture fx;
  Net net;
  net.pool.set_max_handshakes(1);
  const uint8_t partial[3] = {0, 0, 0};
  net.pool.receive(50, partial, sizeof partial);  // a version 1 handshake holds the one place
  net.step();
  EXPECT_TRUE(net.seen.closed[net.fd]);
  EXPECT_EQ(net.client->state(), sc::ClientV2::State::kBroken);
  EXPECT_EQ(net.client->last_failure(), sc::Reason::kBusy);
  EXPECT_EQ(net.pool.counters().refused[static_cast<int>(sc::Reason::kTooManyHandshakes)], 1u);
  EXPECT_EQ(net.pool.counters().v2_busy, 1u);
  // The place comes free; a new connection succeeds.
  net.pool.socket_closed(50);
  net.reconnect();
  for (int s = 0; s < 3; ++s) net.step();
  EXPECT_EQ(net.client->state(), sc::ClientV2::State::kEstablished);
  EXPECT_NE(net.session(), 0);
}

// Unconfirmed sessions count against the cap on handshakes even after they
// lost their socket, until they are confirmed or expire.
TEST(PoolV2Matrix, TheHandshakeCapCountsUnconfirmedSessionsWithoutASocket) {
  Fixture fx;
  HandNet h;
  static uint64_t now;
  now = 1000;
  h.net.pool.set_clock([](void *) { return now; }, nullptr);
  h.net.pool.set_handshake_timeout(500);
  h.net.pool.set_max_handshakes(1);
  h.open(800);  // answered, never confirmed
  h.net.pool.socket_closed(800);
  v2net::drain(h.net.pool, h.net.seen);
  EXPECT_EQ(h.net.pool.unconfirmed_count(), 1u);
  EXPECT_EQ(h.net.pool.handshake_count(), 0u);
  h.net.step();  // the Net's own client asks for a new session: no room
  EXPECT_EQ(h.net.client->state(), sc::ClientV2::State::kBroken);
  EXPECT_EQ(h.net.client->last_failure(), sc::Reason::kBusy);
  // The unconfirmed session expires; then there is room.
  now += 501;
  h.net.pool.timeout();
  v2net::drain(h.net.pool, h.net.seen);
  EXPECT_EQ(h.net.pool.unconfirmed_count(), 0u);
  EXPECT_FALSE(h.net.pool.session_exists(h.id));
  h.net.reconnect();
  for (int k = 0; k < 3; ++k) h.net.step();
  EXPECT_EQ(h.net.client->state(), sc::ClientV2::State::kEstablished);
}

// A pool that does not accept version 2 answers once the request is whole,
// so that the status is read before the close.
TEST(PoolV2Matrix, NotSupportedIsAnsweredAfterTheWholeRequest) {
  for (int keyed = 0; keyed <= 1; ++keyed) {
    SCOPED_TRACE(keyed ? "a key, version 1 chosen" : "no key");
    Fixture fx;
    Net net;
    sc::Server keyless;
    sc::Server &pool = keyed ? net.pool : keyless;
    keyless.enable_events(true);
    if (keyed) {
      ASSERT_TRUE(net.pool.set_versions(true, false));
      ASSERT_TRUE(net.pool.set_static_key(net.key));  // a new key does not undo the choice
      EXPECT_FALSE(net.pool.accepts_v2());
    }
    net.pump_client();
    const Bytes req = net.to_pool;
    v2net::Seen seen;
    pool.receive(70, req.data(), req.size() - 1);
    v2net::drain(pool, seen);
    EXPECT_TRUE(seen.out[70].empty());
    EXPECT_FALSE(seen.closed[70]);
    pool.receive(70, req.data() + req.size() - 1, 1);
    v2net::drain(pool, seen);
    EXPECT_EQ(seen.out[70], Bytes({0x01}));
    EXPECT_TRUE(seen.closed[70]);
    ASSERT_FALSE(seen.events.empty());
    EXPECT_EQ(seen.events.back().reason, sc::Reason::kNotSupported);
    EXPECT_EQ(seen.events.back().version, 2);
  }
}

TEST(PoolV2Matrix, UnknownSessionAnswersStatusThreeAndTheClientIsDead) {
  Fixture fx;
  Net net;
  v2::SessionId id;
  id.bytes.fill(0x5a);
  const uint8_t secret[v2::kResumeSecretSize] = {1, 2, 3};
  ASSERT_TRUE(net.client->adopt_session(id, secret));
  net.step();
  EXPECT_EQ(net.client->state(), sc::ClientV2::State::kDead);
  EXPECT_EQ(net.client->last_failure(), sc::Reason::kUnknownSession);
  EXPECT_TRUE(net.client_ended);
  EXPECT_EQ(net.pool.counters().refused[static_cast<int>(sc::Reason::kUnknownSession)], 1u);
}

TEST(PoolV2Matrix, AWrongResumeSecretIsRejectedAndTheSessionIsUntouched) {
  Fixture fx;
  Net net;
  net.step();
  const int id = net.session();
  const int fd = net.fd;
  auto thief = std::make_unique<sc::ClientV2>(net.pub);
  const uint8_t wrong[v2::kResumeSecretSize] = {9, 9, 9};
  ASSERT_TRUE(thief->adopt_session(net.client->session_id(), wrong));
  Bytes req;
  for (;;) {
    const auto m = thief->poll(false);
    if (m.kind == sc::ClientV2::Message::Kind::kEmpty) break;
    req.insert(req.end(), m.data, m.data + m.size);
  }
  net.pool.receive(700, req.data(), req.size());
  net.pump_pool();
  ASSERT_EQ(net.seen.out[700], Bytes({0x04}));
  EXPECT_TRUE(net.seen.closed[700]);
  thief->receive(net.seen.out[700].data(), 1);
  EXPECT_EQ(thief->state(), sc::ClientV2::State::kDead);
  EXPECT_EQ(thief->last_failure(), sc::Reason::kRejected);
  // The real session did not notice.
  EXPECT_EQ(net.pool.session_fd(id), fd);
  const Bytes d = text("still mine");
  net.client->send(d.data(), d.size());
  net.step();
  EXPECT_EQ(net.seen.in[id], d);
}

TEST(PoolV2Matrix, AResumeCountOutsideWhatWasSentIsRejected) {
  Fixture fx;
  HandNet h;
  h.open(600);
  h.send(ack(0));
  const uint8_t out[] = {'x', 'y', 'z'};
  h.net.pool.send(h.id, out, sizeof out);  // the pool has sent 3 bytes
  v2net::drain(h.net.pool, h.net.seen);
  h.net.pool.socket_closed(600);
  v2net::drain(h.net.pool, h.net.seen);
  for (uint64_t claim : {uint64_t{4}, uint64_t{1000000}}) {
    HandClient again;
    const Bytes req = again.resume_request(h.client->answer.id, h.client->answer.resume_secret, claim);
    const int fd = 601 + static_cast<int>(claim % 7);
    h.net.pool.receive(fd, req.data(), req.size());
    v2net::drain(h.net.pool, h.net.seen);
    EXPECT_EQ(h.net.seen.out[fd], Bytes({0x04})) << "claim " << claim;
    EXPECT_TRUE(h.net.seen.closed[fd]);
  }
  // A count within what was sent is answered.
  HandClient fine;
  const Bytes req = fine.resume_request(h.client->answer.id, h.client->answer.resume_secret, 3);
  h.net.pool.receive(610, req.data(), req.size());
  v2net::drain(h.net.pool, h.net.seen);
  ASSERT_EQ(h.net.seen.out[610].size(), v2::kResumeAnswerSize);
  EXPECT_EQ(h.net.seen.out[610][0], 0x00);
}

TEST(PoolV2Matrix, AnUnknownVersionInThePreambleAnswersStatusOne) {
  Fixture fx;
  Net net;
  net.pump_client();
  Bytes req = net.to_pool;
  req[v2::kVersionOffset] = 3;
  net.pool.receive(net.fd, req.data(), v2::kPreambleSize);  // answered from the preamble alone
  net.pump_pool();
  EXPECT_EQ(net.to_client, Bytes({0x01}));
  EXPECT_TRUE(net.seen.closed[net.fd]);
  EXPECT_EQ(net.pool.session_count(), 0u);
  ASSERT_FALSE(net.seen.events.empty());
  EXPECT_EQ(net.seen.events.back().version, 3);  // the version it asked for
}

}  // namespace
