// The version 2 client against the recorded exchanges of
// tests/data/v2_sessions.json, client side: with the recorded random values
// injected, its requests match the recorded bytes exactly; fed the server's
// recorded bytes (whole, one byte at a time, and in random pieces) it
// delivers exactly the recorded data and reports the recorded outcomes; and
// its own records, opened with the recorded keys, begin with an ACK and carry
// the recorded data. Then its rules one by one.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/random.h"
#include "client/client_v2.h"
#include "crypto/primitives.h"
#include "json.h"
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

// The injected random bytes, handed out 8 at a time as the library draws them.
struct Injected {
  Bytes bytes;
  size_t at = 0;
  static uint64_t next(void *self) {
    auto *in = static_cast<Injected *>(self);
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) {
      const uint8_t b = in->at < in->bytes.size() ? in->bytes[in->at] : 0;
      if (in->at >= in->bytes.size()) ADD_FAILURE() << "the client drew more random bytes than were injected";
      ++in->at;
      v |= static_cast<uint64_t>(b) << (8 * k);
    }
    return v;
  }
};

struct Guard {
  ~Guard() { sc::set_random_source(sc::RandomSide::kClient, nullptr, nullptr); }
};

enum class Split { kWhole, kBytes, kRandom };

// One client of an exchange and what it put out and took in.
struct Side {
  std::unique_ptr<sc::ClientV2> c;
  Bytes delivered;  // data, in order
  bool ended = false;
  int connects = 0;
  std::map<int, Bytes> ours;  // its output, by connection
  int conn = 0;
};

struct ClientReplay {
  const testjson::Value &ex;
  Split split;
  std::mt19937 rng{99};
  std::map<std::string, Bytes> injected;
  std::map<std::string, Side> sides;
  std::map<int, const testjson::Value *> wire_steps;
  std::map<int, std::pair<Bytes, Bytes>> conn_keys;  // c2s, s2c
  Injected draws;

  ClientReplay(const testjson::Value &e, Split s) : ex(e), split(s) {
    for (size_t k = 0; k < e["injected"].size(); ++k) {
      std::string name = e["injected"][k]["name"].str();
      name = name.substr(0, name.find(' '));
      const Bytes b = hex_bytes(e["injected"][k]["hex"].str());
      injected[name] = b;
      // The client side draws only its ephemeral keys, in the order listed.
      if (name.rfind("client", 0) == 0 && name.find("_ephemeral_") != std::string::npos)
        draws.bytes.insert(draws.bytes.end(), b.begin(), b.end());
    }
    sc::set_random_source(sc::RandomSide::kClient, &Injected::next, &draws);
  }

  Side &side(const std::string &who) {
    Side &s = sides[who];
    if (!s.c) {
      Bytes key = hex_bytes(ex["server_static_public"].str());
      const auto wrong = injected.find("client_pinned_key_private");
      if (wrong != injected.end()) EXPECT_TRUE(sc::crypto::x25519_public(wrong->second.data(), key.data()));
      s.c = std::make_unique<sc::ClientV2>(key.data(), num(ex[who + "_window"]));
      s.c->enable_events(true);
      const auto id = injected.find(who + "_adopted_session_id");
      if (id != injected.end()) {
        v2::SessionId sid;
        std::copy(id->second.begin(), id->second.end(), sid.bytes.begin());
        EXPECT_TRUE(s.c->adopt_session(sid, injected.at(who + "_adopted_resume_secret").data()));
      }
    }
    return s;
  }

  void drain(Side &s) {
    // Before its first socket an application has nowhere to write: the
    // request waits in the queue.
    if (s.conn == 0) return;  // (-1: a broken socket, whose output is dropped)
    for (;;) {
      const sc::ClientV2::Message m = s.c->poll(false);
      if (m.kind == sc::ClientV2::Message::Kind::kEmpty) return;
      if (m.kind == sc::ClientV2::Message::Kind::kOut) {
        s.ours[s.conn].insert(s.ours[s.conn].end(), m.data, m.data + m.size);
      } else if (m.kind == sc::ClientV2::Message::Kind::kIn) {
        if (m.size == 0) s.ended = true;
        s.delivered.insert(s.delivered.end(), m.data, m.data + m.size);
      }
    }
  }

  void feed(Side &s, const Bytes &b) {
    size_t at = 0;
    while (at < b.size()) {
      size_t n = b.size() - at;
      if (split == Split::kBytes) n = 1;
      if (split == Split::kRandom) n = std::min<size_t>(n, 1 + rng() % 40);
      s.c->receive(b.data() + at, n);
      drain(s);
      at += n;
    }
  }

  std::map<int, std::string> conn_client;
  // Which client's connection each step of each direction belongs to.
  void run() {
    const auto &steps = ex["steps"];
    for (size_t i = 0; i < steps.size(); ++i) {
      const auto &st = steps[i];
      SCOPED_TRACE("step " + std::to_string(i));
      const std::string op = st["op"].str();
      if (op == "connect") {
        const std::string who = st["client"].str();
        conn_client[static_cast<int>(num(st["conn"]))] = who;
        if (who == "raw") continue;
        Side &s = side(who);
        s.conn = static_cast<int>(num(st["conn"]));
        if (s.connects++ > 0) s.c->handshake();
        drain(s);
      } else if (op == "wire") {
        wire_steps[static_cast<int>(num(st["step"]))] = &st;
        const std::string who = conn_client[static_cast<int>(num(st["conn"]))];
        if (who == "raw" || st["dir"].str() != "c2s") continue;
        Side &s = side(who);
        drain(s);
        const std::string unit = st["unit"].str();
        if (unit == "new request" || unit == "resume request") {
          // Exactly the recorded request, and nothing before its answer.
          EXPECT_EQ(hex(s.ours[s.conn]), st["hex"].str());
        }
      } else if (op == "deliver") {
        const std::string who = conn_client[static_cast<int>(num(st["conn"]))];
        if (who == "raw" || st["dir"].str() != "s2c") continue;
        Side &s = side(who);
        for (size_t k = 0; k < st["steps"].size(); ++k) {
          const testjson::Value &w = *wire_steps.at(static_cast<int>(num(st["steps"][k])));
          if (w["unit"].str() == "answer" && w["decoded"].has("key_c2s"))
            conn_keys[static_cast<int>(num(w["conn"]))] = {hex_bytes(w["decoded"]["key_c2s"].str()),
                                                           hex_bytes(w["decoded"]["key_s2c"].str())};
          feed(s, hex_bytes(w["hex"].str()));
        }
      } else if (op == "break" || op == "abandon") {
        // The application stops writing to that socket: what the client
        // puts out until its next socket goes nowhere.
        const std::string who = conn_client[static_cast<int>(num(st["conn"]))];
        if (who != "raw") {
          Side &s = side(who);
          drain(s);
          s.conn = -1;
        }
      } else if (op == "app" && st["side"].str() != "server") {
        Side &s = side(st["side"].str());
        const std::string call = st["call"].str();
        if (call == "send") {
          const Bytes d = hex_bytes(st["data"]["hex"].str());
          s.c->send(d.data(), d.size());
        } else if (call == "ping") {
          EXPECT_TRUE(s.c->ping(num(st["token"])));
        } else if (call == "close") {
          s.c->close();
        }
        drain(s);
      } else if (op == "event" && st["side"].str() != "server") {
        Side &s = side(st["side"].str());
        drain(s);
        const std::string ev = st["event"].str();
        if (ev == "established") {
          EXPECT_EQ(s.c->state(), sc::ClientV2::State::kEstablished);
        } else if (ev == "pong") {
          EXPECT_EQ(s.c->pongs(), 1u);
        } else if (ev == "session_lost") {
          EXPECT_EQ(s.c->state(), sc::ClientV2::State::kDead);
          EXPECT_TRUE(s.ended);
          const std::string why = st["reason"].str();
          const sc::Reason want = why == "unknown_session" ? sc::Reason::kUnknownSession : sc::Reason::kRejected;
          EXPECT_EQ(s.c->last_failure(), want);
        } else if (ev == "closed" || (ev == "received" && st.has("size"))) {
          EXPECT_TRUE(s.ended);
        }
      }
    }
    for (auto &kv : sides) {
      SCOPED_TRACE(kv.first);
      drain(kv.second);
      const std::string key = kv.first + "_received";
      EXPECT_EQ(hex(kv.second.delivered), ex[key]["hex"].str());
      check_own_records(kv.second);
    }
  }

  // Its own records on each keyed connection open with the recorded keys,
  // begin with an ACK, and carry the data the recording carries there.
  void check_own_records(Side &s) {
    for (const auto &kv : conn_keys) {
      const int conn = kv.first;
      if (s.ours.find(conn) == s.ours.end()) continue;
      const Bytes &out = s.ours[conn];
      const size_t skip = out.size() >= v2::kResumeRequestSize && out[v2::kKindOffset] == 2 ? v2::kResumeRequestSize
                                                                                            : v2::kNewRequestSize;
      sc::crypto::Aead aead;
      ASSERT_TRUE(aead.set_key(kv.second.first.data()));
      Bytes data, recorded;
      uint64_t nonce = 0;
      bool first = true;
      for (size_t at = skip; at + v2::kRecordHeaderSize <= out.size();) {
        const size_t len = sc::load_le16(out.data() + at);
        ASSERT_LE(at + v2::kRecordHeaderSize + len, out.size());
        Bytes plain(len);
        ASSERT_TRUE(aead.open(nonce++, out.data() + at, v2::kRecordHeaderSize, out.data() + at + 2, len, plain.data()))
            << "conn " << conn;
        plain.resize(len - sc::noise::kTagSize);
        v2::FrameReader r(plain.data(), plain.size());
        v2::Frame f;
        while (r.next(f) == v2::FrameReader::Result::kFrame) {
          if (first) EXPECT_EQ(f.type, v2::FrameType::kAck) << "conn " << conn;
          first = false;
          if (f.type == v2::FrameType::kData) data.insert(data.end(), f.data, f.data + f.n);
        }
        at += v2::kRecordHeaderSize + len;
      }
      for (const auto &w : wire_steps)
        if ((*w.second)["unit"].str() == "record" && (*w.second)["dir"].str() == "c2s" &&
            static_cast<int>(num((*w.second)["conn"])) == conn)
          for (size_t k = 0; k < (*w.second)["frames"].size(); ++k)
            if ((*w.second)["frames"][k]["type"].str() == "DATA") {
              const Bytes d = hex_bytes((*w.second)["frames"][k]["hex"].str());
              recorded.insert(recorded.end(), d.begin(), d.end());
            }
      EXPECT_EQ(hex(data), hex(recorded)) << "conn " << conn;
    }
  }
};

TEST(ClientV2, ReplaysTheRecordedExchangesInAnySplit) {
  Guard guard;
  int replayed = 0;
  for (Split split : {Split::kWhole, Split::kBytes, Split::kRandom}) {
    for (size_t k = 0; k < exchanges().size(); ++k) {
      const auto &ex = exchanges()[k];
      if (ex["name"].str() == "d_unknown_version") continue;  // no client of ours in it
      SCOPED_TRACE(ex["name"].str() + " split " + std::to_string(static_cast<int>(split)));
      ClientReplay r(ex, split);
      r.run();
      EXPECT_EQ(r.draws.at, r.draws.bytes.size()) << "every injected value was used";
      ++replayed;
    }
  }
  EXPECT_EQ(replayed, 15);
}

}  // namespace
