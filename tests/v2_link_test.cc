// The version 2 data path (src/v2/stream.h, record.h, link.h): two ends of a
// connection joined in memory, with fixed transport keys. Streams in any
// splits, the window and acknowledgements, resumes with bytes lost both ways,
// PING/PONG and CLOSE, and every kind of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "v2/link.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace v2 = sc::v2;

Bytes pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  std::mt19937 rng(seed);
  for (auto &x : b) x = static_cast<uint8_t>(rng());
  return b;
}

struct Collect : v2::LinkEvents {
  Bytes got;
  std::vector<uint64_t> pongs;
  void data(const uint8_t *p, size_t n) override { got.insert(got.end(), p, p + n); }
  void pong(uint64_t token) override { pongs.push_back(token); }
};

// One side: its streams, its current connection and what it received.
struct End {
  End(uint32_t window, uint32_t peer_window, bool client_) : s(window, peer_window), client(client_) {}
  v2::Streams s;
  bool client;
  std::unique_ptr<v2::Link> link;
  Collect seen;
  Bytes wire;  // written, not yet delivered
};

// Keys of connection `conn`, different for each connection and direction.
void keys(v2::Link &link, bool client, int conn) {
  uint8_t c2s[32], s2c[32];
  for (int i = 0; i < 32; ++i) {
    c2s[i] = static_cast<uint8_t>(conn * 31 + i);
    s2c[i] = static_cast<uint8_t>(conn * 17 + 100 + i);
  }
  ASSERT_TRUE(link.send_cipher().initialize_key(client ? c2s : s2c));
  ASSERT_TRUE(link.receive_cipher().initialize_key(client ? s2c : c2s));
}

struct Pair {
  End c{8192, 16384, true}, s{16384, 8192, false};
  int conn = 0;
  std::mt19937 rng{7};

  // A connection: new (everything at 0) or a resume, whose handshake gave
  // each side the other's received count.
  void connect() {
    ++conn;
    c.wire.clear();
    s.wire.clear();
    for (End *e : {&c, &s}) {
      e->link = std::make_unique<v2::Link>();
      keys(*e->link, e->client, conn);
    }
    // The counts the handshake carries acknowledge.
    ASSERT_TRUE(c.s.out.ack(s.s.in.received));
    ASSERT_TRUE(s.s.out.ack(c.s.in.received));
    c.link->start(c.s, c.s.in.received, s.s.in.received, true, false);
    s.link->start(s.s, s.s.in.received, c.s.in.received, false, true);
  }

  void write(End &e, bool force) { ASSERT_TRUE(e.link->write(e.s, e.wire, force)); }

  // Delivers what `from` wrote to the other end in random pieces.
  v2::Link::Read deliver(End &from, size_t max_piece = 4096) {
    End &to = &from == &c ? s : c;
    v2::Link::Read r = v2::Link::Read::kOk;
    size_t at = 0;
    bool any_data = false;
    while (at < from.wire.size() && r == v2::Link::Read::kOk) {
      const size_t n = std::min<size_t>(from.wire.size() - at, 1 + rng() % max_piece);
      bool got = false;
      r = to.link->read(to.s, from.wire.data() + at, n, to.seen, &got);
      any_data = any_data || got;
      at += n;
    }
    from.wire.clear();
    // This library acknowledges at the end of every input that had data.
    if (r == v2::Link::Read::kOk) write(to, any_data);
    return r;
  }
};

TEST(V2Link, StreamsBothWaysInAnySplitsWithinTheWindow) {
  Pair p;
  p.connect();
  const Bytes a = pattern(300000, 1), b = pattern(200000, 2);
  size_t ia = 0, ib = 0;
  for (int turn = 0; turn < 10000 && (p.s.seen.got.size() < a.size() || p.c.seen.got.size() < b.size()); ++turn) {
    if (ia < a.size()) {
      const size_t n = std::min<size_t>(a.size() - ia, 1 + p.rng() % 9000);
      p.c.s.out.append(a.data() + ia, n);
      ia += n;
    }
    if (ib < b.size()) {
      const size_t n = std::min<size_t>(b.size() - ib, 1 + p.rng() % 7000);
      p.s.s.out.append(b.data() + ib, n);
      ib += n;
    }
    p.write(p.c, false);
    p.write(p.s, false);
    EXPECT_LE(p.c.s.out.in_flight(), 8192u);
    EXPECT_LE(p.s.s.out.in_flight(), 16384u);
    ASSERT_EQ(p.deliver(p.c, 1 + p.rng() % 3000), v2::Link::Read::kOk);
    ASSERT_EQ(p.deliver(p.s, 1 + p.rng() % 3000), v2::Link::Read::kOk);
  }
  EXPECT_EQ(p.s.seen.got, a);
  EXPECT_EQ(p.c.seen.got, b);
  // Idle and delivered: the last ACKs go out, and nothing is held.
  for (int k = 0; k < 3; ++k) {
    p.deliver(p.c);
    p.deliver(p.s);
  }
  EXPECT_EQ(p.c.s.out.held(), 0u);
  EXPECT_EQ(p.s.s.out.held(), 0u);
  // Drained: each side keeps at most a small buffer.
  EXPECT_LE(p.c.s.out.capacity(), 512u);
  EXPECT_LE(p.s.s.out.capacity(), 512u);
}

TEST(V2Stream, DrainedStorageGoesToTheCacheAndComesBack) {
  v2::StorageCache cache;
  v2::Outbound out(65536, &cache);
  const Bytes a = pattern(20000, 5);
  out.append(a.data(), a.size());
  Bytes got(a.size());
  out.take(got.data(), got.size());
  EXPECT_EQ(got, a);
  const size_t cap = out.capacity();
  EXPECT_GE(cap, a.size());
  EXPECT_EQ(cache.bytes(), 0u);
  ASSERT_TRUE(out.ack(a.size()));  // drained: the storage goes to the cache
  EXPECT_EQ(out.capacity(), 0u);
  EXPECT_EQ(cache.bytes(), cap);
  out.append(a.data(), 100);  // a small message takes no large buffer
  EXPECT_EQ(cache.bytes(), cap);
  out.append(a.data(), a.size());  // a large one takes it back
  EXPECT_EQ(out.capacity(), cap);
  EXPECT_LT(cache.bytes(), cap);  // (the small buffer it outgrew may stay there)
  Bytes again(100 + a.size());
  out.take(again.data(), again.size());
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + 100, again.begin()));
  EXPECT_TRUE(std::equal(a.begin(), a.end(), again.begin() + 100));
  // Not drained: the storage stays with the stream.
  ASSERT_TRUE(out.ack(a.size() + 50));
  EXPECT_EQ(out.capacity(), cap);
}

TEST(V2Stream, TheCacheKeepsABoundedAmount) {
  v2::StorageCache cache;
  std::vector<std::unique_ptr<v2::Outbound>> streams;
  const Bytes a = pattern(300000, 9);
  for (int k = 0; k < 20; ++k) {
    streams.push_back(std::make_unique<v2::Outbound>(1u << 20, &cache));
    v2::Outbound &o = *streams.back();
    o.append(a.data(), a.size());
    Bytes sink(a.size());
    o.take(sink.data(), sink.size());
    ASSERT_TRUE(o.ack(a.size()));
    EXPECT_LE(cache.bytes(), v2::StorageCache::kMaxBytes);
  }
  EXPECT_GT(cache.bytes(), 0u);
}

TEST(V2Link, TheBacklogDrainsAsAcknowledgementsArrive) {
  Pair p;
  p.connect();
  const Bytes a = pattern(100000, 3);
  p.c.s.out.append(a.data(), a.size());
  p.write(p.c, false);
  EXPECT_EQ(p.c.s.out.in_flight(), 8192u);
  EXPECT_EQ(p.c.s.out.backlog(), a.size() - 8192u);
  uint64_t last_backlog = p.c.s.out.backlog();
  while (p.s.seen.got.size() < a.size()) {
    ASSERT_EQ(p.deliver(p.c), v2::Link::Read::kOk);
    ASSERT_EQ(p.deliver(p.s), v2::Link::Read::kOk);  // the ACKs
    p.write(p.c, false);
    EXPECT_LE(p.c.s.out.in_flight(), 8192u);
    EXPECT_LE(p.c.s.out.backlog(), last_backlog);
    last_backlog = p.c.s.out.backlog();
  }
  EXPECT_EQ(p.s.seen.got, a);
}

TEST(V2Link, ResumesWithBytesLostBothWaysLoseNothing) {
  Pair p;
  p.connect();
  const Bytes a = pattern(60000, 4), b = pattern(70000, 5);
  size_t ia = 0, ib = 0;
  for (int round = 0; round < 40; ++round) {
    for (int k = 0; k < 5; ++k) {
      if (ia < a.size()) {
        const size_t n = std::min<size_t>(a.size() - ia, 1 + p.rng() % 2000);
        p.c.s.out.append(a.data() + ia, n);
        ia += n;
      }
      if (ib < b.size()) {
        const size_t n = std::min<size_t>(b.size() - ib, 1 + p.rng() % 2000);
        p.s.s.out.append(b.data() + ib, n);
        ib += n;
      }
      p.write(p.c, false);
      p.write(p.s, false);
      // Now and then what is in flight is lost: the connection breaks.
      if (p.rng() % 4 == 0) break;
      ASSERT_EQ(p.deliver(p.c), v2::Link::Read::kOk);
      ASSERT_EQ(p.deliver(p.s), v2::Link::Read::kOk);
    }
    p.connect();  // bytes in p.c.wire and p.s.wire are gone; both resend
  }
  for (int k = 0; k < 30 && (p.s.seen.got.size() < a.size() || p.c.seen.got.size() < b.size()); ++k) {
    p.write(p.c, false);
    p.write(p.s, false);
    ASSERT_EQ(p.deliver(p.c), v2::Link::Read::kOk);
    ASSERT_EQ(p.deliver(p.s), v2::Link::Read::kOk);
  }
  EXPECT_EQ(p.s.seen.got, a);
  EXPECT_EQ(p.c.seen.got, b);
}

TEST(V2Link, EveryChangedByteOfARecordClosesTheConnectionAndDeliversNothing) {
  Pair probe;
  probe.connect();
  const Bytes a = pattern(100, 6);
  probe.c.s.out.append(a.data(), a.size());
  probe.write(probe.c, false);
  const Bytes record = probe.c.wire;
  for (size_t i = 0; i < record.size(); ++i) {
    Pair p;
    p.connect();
    p.c.s.out.append(a.data(), a.size());
    p.write(p.c, false);
    ASSERT_EQ(p.c.wire, record);
    p.c.wire[i] ^= 0x04;
    bool got = false;
    const v2::Link::Read r = p.s.link->read(p.s.s, p.c.wire.data(), p.c.wire.size(), p.s.seen, &got);
    // A changed length may also leave the record waiting for bytes that
    // never come; it is never delivered either way.
    if (i >= v2::kRecordHeaderSize) EXPECT_EQ(r, v2::Link::Read::kError) << "byte " << i;
    EXPECT_TRUE(p.s.seen.got.empty()) << "byte " << i;
    EXPECT_EQ(p.s.s.in.received, 0u);
  }
}

// A record made by hand: the frames given, sealed with the client's key.
Bytes handmade(int conn, const std::vector<Bytes> &frames) {
  v2::RecordWriter writer;
  uint8_t c2s[32];
  for (int i = 0; i < 32; ++i) c2s[i] = static_cast<uint8_t>(conn * 31 + i);
  EXPECT_TRUE(writer.cipher().initialize_key(c2s));
  Bytes out;
  writer.begin(out);
  for (const Bytes &f : frames) std::copy(f.begin(), f.end(), writer.extend(out, f.size()));
  EXPECT_TRUE(writer.finish(out));
  return out;
}

Bytes ack(uint64_t n) {
  Bytes f(v2::kAckSize);
  v2::write_ack(f.data(), n);
  return f;
}
Bytes data(const char *text) {
  const size_t n = std::strlen(text);
  Bytes f(v2::kDataHeaderSize + n);
  v2::write_data_header(f.data(), n);
  std::copy(text, text + n, f.begin() + v2::kDataHeaderSize);
  return f;
}

v2::Link::Read feed_server(Pair &p, const Bytes &rec) {
  bool got = false;
  return p.s.link->read(p.s.s, rec.data(), rec.size(), p.s.seen, &got);
}

TEST(V2Link, TheFirstRecordMustBeginWithAnAck) {
  Pair p;
  p.connect();
  EXPECT_EQ(feed_server(p, handmade(1, {data("hi"), ack(0)})), v2::Link::Read::kError);
  EXPECT_TRUE(p.s.seen.got.empty());
  Pair q;
  q.connect();
  EXPECT_EQ(feed_server(q, handmade(1, {ack(0), data("hi")})), v2::Link::Read::kOk);
  EXPECT_EQ(q.s.seen.got, Bytes({'h', 'i'}));
}

TEST(V2Link, AnAckBeyondWhatWasSentIsAnErrorAndTheRecordTakesNoEffect) {
  Pair p;
  p.connect();
  // DATA first, then the bad ACK: the DATA must not be delivered either.
  EXPECT_EQ(feed_server(p, handmade(1, {ack(0), data("no"), ack(1)})), v2::Link::Read::kError);
  EXPECT_TRUE(p.s.seen.got.empty());
  EXPECT_EQ(p.s.s.in.received, 0u);
}

TEST(V2Link, AnAckBelowOneAlreadyGivenIsAnError) {
  Pair p;
  p.connect();
  const Bytes b = pattern(100, 7);
  p.s.s.out.append(b.data(), b.size());
  p.write(p.s, false);
  ASSERT_EQ(p.deliver(p.s), v2::Link::Read::kOk);  // the client acknowledges 100
  ASSERT_EQ(p.deliver(p.c), v2::Link::Read::kOk);
  EXPECT_EQ(p.s.s.out.acked(), 100u);
  EXPECT_EQ(feed_server(p, handmade(1, {ack(50)})), v2::Link::Read::kError);
}

TEST(V2Link, PingIsAnsweredWithItsToken) {
  Pair p;
  p.connect();
  p.c.link->ping(0x1122334455667788ull);
  p.write(p.c, false);
  ASSERT_EQ(p.deliver(p.c), v2::Link::Read::kOk);
  p.write(p.s, false);
  ASSERT_EQ(p.deliver(p.s), v2::Link::Read::kOk);
  ASSERT_EQ(p.c.seen.pongs.size(), 1u);
  EXPECT_EQ(p.c.seen.pongs[0], 0x1122334455667788ull);
}

// Every PING is answered, however many arrive in one read: their PONGs
// take as many records as they need, in order.
TEST(V2Link, EveryPingInOneReadIsAnswered) {
  Pair p;
  p.connect();
  constexpr uint64_t kPings = 10000;  // more PONGs than one record holds
  for (uint64_t k = 1; k <= kPings; ++k) {
    p.c.link->ping(k);
    p.write(p.c, false);
  }
  bool got = false;
  ASSERT_EQ(p.s.link->read(p.s.s, p.c.wire.data(), p.c.wire.size(), p.s.seen, &got), v2::Link::Read::kOk);
  p.c.wire.clear();
  p.write(p.s, false);
  EXPECT_GT(p.s.wire.size(), v2::kMaxRecordSize);
  ASSERT_EQ(p.c.link->read(p.c.s, p.s.wire.data(), p.s.wire.size(), p.c.seen, &got), v2::Link::Read::kOk);
  ASSERT_EQ(p.c.seen.pongs.size(), kPings);
  for (uint64_t k = 0; k < kPings; ++k) ASSERT_EQ(p.c.seen.pongs[k], k + 1);
}

TEST(V2Link, CloseComesAfterTheDataAndDropsTheBacklog) {
  Pair p;
  p.connect();
  p.write(p.c, false);
  ASSERT_EQ(p.deliver(p.c), v2::Link::Read::kOk);
  const Bytes b = pattern(40000, 8);
  p.s.s.out.append(b.data(), b.size());
  p.write(p.s, false);  // 16384 in records, the rest backlog
  p.s.link->close(p.s.s, 0);
  p.write(p.s, false);
  EXPECT_TRUE(p.s.link->close_sent());
  EXPECT_EQ(p.s.s.out.backlog(), 0u);
  EXPECT_EQ(p.deliver(p.s), v2::Link::Read::kClosed);
  EXPECT_EQ(p.c.link->closed_reason(), 0);
  EXPECT_EQ(p.c.seen.got, Bytes(b.begin(), b.begin() + 16384));
}

TEST(V2Link, AFrameAfterCloseOrAnUnknownFrameIsAnError) {
  Pair p;
  p.connect();
  Bytes close(v2::kCloseSize), unknown = {0x09};
  v2::write_close(close.data(), 0);
  EXPECT_EQ(feed_server(p, handmade(1, {ack(0), close, ack(0)})), v2::Link::Read::kError);
  Pair q;
  q.connect();
  EXPECT_EQ(feed_server(q, handmade(1, {ack(0), unknown})), v2::Link::Read::kError);
}

TEST(V2Link, ARecordShorterThanATagIsAnError) {
  Pair p;
  p.connect();
  const Bytes rec = {0x10, 0x00};  // len 16 < 17
  EXPECT_EQ(feed_server(p, rec), v2::Link::Read::kError);
}

}  // namespace
