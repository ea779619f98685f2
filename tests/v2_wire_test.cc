// The version 2 wire codec, over the Noise layer, against the recorded
// exchanges of tests/data/v2_sessions.json (made by an independent
// implementation of the contract): every request and answer rebuilt byte for
// byte from the injected values, every handshake hash matched, every record
// opened with the keys the handshakes derived and its frames read back as
// recorded. Then the codec's own rules: telling versions apart, the status
// byte, and every malformed frame.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "json.h"
#include "noise/noise.h"
#include "v2/wire.h"

namespace {

using Bytes = std::vector<uint8_t>;
using sc::noise::CipherState;
using sc::noise::HandshakeState;
using sc::noise::Pattern;
using testjson::hex_bytes;
namespace v2 = sc::v2;

const testjson::Value &exchanges() {
  static const testjson::Value v =
      testjson::load_file(std::string(SC_TEST_DATA_DIR) + "/v2_sessions.json")["exchanges"];
  return v;
}

std::string hex(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
std::string hex(const Bytes &b) { return hex(b.data(), b.size()); }

uint64_t num(const testjson::Value &v) { return static_cast<uint64_t>(v.number); }

// One connection as both ends see it during the replay.
struct Conn {
  std::string client;
  Pattern pattern = Pattern::kNK;
  HandshakeState client_hs, server_hs;
  bool server_read_ok = false;
  CipherState c2s, s2c;  // the receiving end's state of each direction
  bool keyed = false;
  v2::SessionId resumed_id;
};

struct Replay {
  const testjson::Value &ex;
  std::map<std::string, Bytes> injected;
  std::map<std::string, int> draws;  // how many of each kind of draw were used
  std::map<int, std::unique_ptr<Conn>> conns;
  // Sessions as the clients know them, and as the server does.
  std::map<std::string, std::pair<v2::SessionId, Bytes>> client_session;
  std::map<std::string, Bytes> server_secret;  // by hex of the session id
  Bytes server_static;
  int records = 0, handshakes = 0;

  explicit Replay(const testjson::Value &e) : ex(e) {
    for (size_t k = 0; k < e["injected"].size(); ++k) {
      std::string name = e["injected"][k]["name"].str();
      name = name.substr(0, name.find(' '));
      injected[name] = hex_bytes(e["injected"][k]["hex"].str());
    }
    server_static = injected.at("server_static_private");
    Bytes pub(32);
    EXPECT_TRUE(sc::crypto::x25519_public(server_static.data(), pub.data()));
    EXPECT_EQ(hex(pub), e["server_static_public"].str());
    for (const auto &kv : injected) {
      const std::string &n = kv.first;
      const size_t at = n.find("_adopted_session_id");
      if (at == std::string::npos) continue;
      const std::string who = n.substr(0, at);
      v2::SessionId id;
      std::copy(kv.second.begin(), kv.second.end(), id.bytes.begin());
      client_session[who] = {id, injected.at(who + "_adopted_resume_secret")};
    }
  }

  Bytes draw(const std::string &kind) {
    const int k = ++draws[kind];
    const auto it = injected.find(kind + "_" + std::to_string(k));
    if (it == injected.end()) {
      ADD_FAILURE() << "no injected " << kind << "_" << k;
      return Bytes(32, 0);
    }
    return it->second;
  }

  uint32_t window_of(const std::string &who) { return static_cast<uint32_t>(num(ex[who + "_window"])); }

  void run() {
    const auto &steps = ex["steps"];
    for (size_t s = 0; s < steps.size(); ++s) {
      const auto &step = steps[s];
      SCOPED_TRACE("step " + std::to_string(s));
      const std::string op = step["op"].str();
      if (op == "connect") {
        auto c = std::make_unique<Conn>();
        c->client = step["client"].str();
        conns[static_cast<int>(num(step["conn"]))] = std::move(c);
      } else if (op == "wire") {
        wire(step);
      }
    }
  }

  void wire(const testjson::Value &step) {
    Conn &c = *conns.at(static_cast<int>(num(step["conn"])));
    const std::string unit = step["unit"].str();
    const Bytes bytes = hex_bytes(step["hex"].str());
    if (unit == "new request") {
      new_request(c, bytes);
    } else if (unit == "resume request") {
      resume_request(c, bytes, step["decoded"]);
    } else if (unit == "answer") {
      answer(c, bytes, step["decoded"]);
    } else if (unit == "status") {
      ASSERT_EQ(bytes.size(), v2::kStatusSize);
      EXPECT_NE(v2::status_from_byte(bytes[0]), v2::Status::kAccepted);
      // A request answered with a failure either did not verify at the server
      // (rejected) or never reached the Noise layer (unknown session, version).
      if (v2::status_from_byte(bytes[0]) == v2::Status::kRejected) EXPECT_FALSE(c.server_read_ok);
    } else if (unit == "request (raw bytes)") {
      ASSERT_GE(bytes.size(), v2::kPreambleSize);
      EXPECT_EQ(v2::classify(bytes.data()), v2::FirstBytes::kOtherVersion);
    } else if (unit == "record") {
      record(c, step, bytes);
    } else {
      ADD_FAILURE() << "unexpected unit " << unit;
    }
  }

  void new_request(Conn &c, const Bytes &bytes) {
    ASSERT_EQ(bytes.size(), v2::kNewRequestSize);
    EXPECT_EQ(v2::classify(bytes.data()), v2::FirstBytes::kV2);
    EXPECT_EQ(bytes[v2::kKindOffset], static_cast<uint8_t>(v2::Kind::kNew));
    c.pattern = Pattern::kNK;
    // The key the client pins: the server's, unless this exchange gives another.
    Bytes pinned(32);
    const auto wrong = injected.find("client_pinned_key_private");
    ASSERT_TRUE(sc::crypto::x25519_public(wrong != injected.end() ? wrong->second.data() : server_static.data(),
                                          pinned.data()));
    uint8_t out[v2::kNewRequestSize];
    const size_t pro = v2::write_prologue(out, v2::Kind::kNew, nullptr);
    ASSERT_EQ(pro, v2::kNewPrologueSize);
    ASSERT_TRUE(c.client_hs.initialize(Pattern::kNK, true, out, pro, nullptr, pinned.data(), nullptr));
    v2::NewRequestPayload payload{window_of(c.client), 0};
    uint8_t plain[v2::NewRequestPayload::kSize];
    payload.encode(plain);
    const Bytes e = draw(c.client + "_ephemeral");
    ASSERT_TRUE(c.client_hs.write_message(e.data(), plain, sizeof plain, out + pro));
    EXPECT_EQ(hex(out, sizeof out), hex(bytes));
    ++handshakes;
    // The server reads it.
    ASSERT_TRUE(c.server_hs.initialize(Pattern::kNK, false, bytes.data(), v2::kNewPrologueSize, server_static.data(),
                                       nullptr, nullptr));
    uint8_t got[v2::NewRequestPayload::kSize];
    c.server_read_ok = c.server_hs.read_message(bytes.data() + pro, bytes.size() - pro, got);
    if (c.server_read_ok) EXPECT_EQ(v2::NewRequestPayload::decode(got).window, payload.window);
  }

  void resume_request(Conn &c, const Bytes &bytes, const testjson::Value &decoded) {
    ASSERT_EQ(bytes.size(), v2::kResumeRequestSize);
    EXPECT_EQ(v2::classify(bytes.data()), v2::FirstBytes::kV2);
    EXPECT_EQ(bytes[v2::kKindOffset], static_cast<uint8_t>(v2::Kind::kResume));
    c.pattern = Pattern::kNNpsk0;
    const auto &known = client_session.at(c.client);
    c.resumed_id = known.first;
    uint8_t out[v2::kResumeRequestSize];
    const size_t pro = v2::write_prologue(out, v2::Kind::kResume, &known.first);
    ASSERT_EQ(pro, v2::kResumePrologueSize);
    // The server id sits at a fixed offset, in clear, for load balancers.
    EXPECT_EQ(sc::load_le16(bytes.data() + v2::kSessionIdOffset), num(decoded["server_id"]));
    ASSERT_TRUE(c.client_hs.initialize(Pattern::kNNpsk0, true, out, pro, nullptr, nullptr, known.second.data()));
    v2::ResumePayload payload{num(decoded["payload"]["received"])};
    uint8_t plain[v2::ResumePayload::kSize];
    payload.encode(plain);
    const Bytes e = draw(c.client + "_ephemeral");
    ASSERT_TRUE(c.client_hs.write_message(e.data(), plain, sizeof plain, out + pro));
    EXPECT_EQ(hex(out, sizeof out), hex(bytes));
    ++handshakes;
    // The server finds the session by the id in clear and reads with its secret.
    v2::SessionId id;
    std::copy(bytes.begin() + v2::kSessionIdOffset, bytes.begin() + v2::kSessionIdOffset + v2::kSessionIdSize,
              id.bytes.begin());
    const auto it = server_secret.find(hex(id.bytes.data(), id.bytes.size()));
    c.server_read_ok = false;
    if (it == server_secret.end()) return;  // unknown session
    ASSERT_TRUE(
        c.server_hs.initialize(Pattern::kNNpsk0, false, bytes.data(), pro, nullptr, nullptr, it->second.data()));
    uint8_t got[v2::ResumePayload::kSize];
    c.server_read_ok = c.server_hs.read_message(bytes.data() + pro, bytes.size() - pro, got);
    if (c.server_read_ok) EXPECT_EQ(v2::ResumePayload::decode(got).received, payload.received);
  }

  void answer(Conn &c, const Bytes &bytes, const testjson::Value &decoded) {
    ASSERT_TRUE(c.server_read_ok) << "an answer to a request the server could not read";
    ASSERT_EQ(v2::status_from_byte(bytes[0]), v2::Status::kAccepted);
    uint8_t out[v2::kNewAnswerSize];
    out[0] = static_cast<uint8_t>(v2::Status::kAccepted);
    size_t plain_len;
    uint8_t plain[v2::NewAnswerPayload::kSize];
    if (c.pattern == Pattern::kNK) {
      ASSERT_EQ(bytes.size(), v2::kNewAnswerSize);
      // The server's draws, in their documented order: the session id's
      // random bytes, the resume secret, then the ephemeral key.
      v2::NewAnswerPayload a;
      const Bytes rnd = draw("server_session_id_random");
      a.id = v2::SessionId::make(static_cast<uint16_t>(num(ex["server_id"])), rnd.data());
      const Bytes secret = draw("server_resume_secret");
      std::copy(secret.begin(), secret.end(), a.resume_secret);
      a.window = window_of("server");
      a.encode(plain);
      plain_len = sizeof plain;
      EXPECT_EQ(hex(a.id.bytes.data(), a.id.bytes.size()), decoded["payload"]["session_id"].str());
      EXPECT_EQ(a.id.server_id(), num(decoded["payload"]["server_id"]));
      server_secret[hex(a.id.bytes.data(), a.id.bytes.size())] = secret;
    } else {
      ASSERT_EQ(bytes.size(), v2::kResumeAnswerSize);
      v2::ResumePayload r{num(decoded["payload"]["received"])};
      r.encode(plain);
      plain_len = v2::ResumePayload::kSize;
    }
    const Bytes e = draw("server_ephemeral");
    ASSERT_TRUE(c.server_hs.write_message(e.data(), plain, plain_len, out + v2::kStatusSize));
    const size_t size = v2::kStatusSize + HandshakeState::message_size(plain_len);
    EXPECT_EQ(hex(out, size), hex(bytes));
    // The client reads it.
    uint8_t got[v2::NewAnswerPayload::kSize];
    ASSERT_TRUE(c.client_hs.read_message(bytes.data() + v2::kStatusSize, bytes.size() - v2::kStatusSize, got));
    if (c.pattern == Pattern::kNK) {
      const v2::NewAnswerPayload a = v2::NewAnswerPayload::decode(got);
      EXPECT_EQ(a.window, window_of("server"));
      EXPECT_EQ(hex(a.resume_secret, v2::kResumeSecretSize), decoded["payload"]["resume_secret"].str());
      client_session[c.client] = {a.id, Bytes(a.resume_secret, a.resume_secret + v2::kResumeSecretSize)};
    } else {
      EXPECT_EQ(v2::ResumePayload::decode(got).received, num(decoded["payload"]["received"]));
    }
    ASSERT_TRUE(c.client_hs.finished() && c.server_hs.finished());
    EXPECT_EQ(hex(c.client_hs.handshake_hash(), 32), decoded["handshake_hash"].str());
    EXPECT_EQ(hex(c.server_hs.handshake_hash(), 32), decoded["handshake_hash"].str());
    // The receiving ends' states: the server's c2s, the client's s2c.
    CipherState unused_c2s, unused_s2c;
    ASSERT_TRUE(c.server_hs.split(c.c2s, unused_s2c));
    ASSERT_TRUE(c.client_hs.split(unused_c2s, c.s2c));
    c.keyed = true;
  }

  void record(Conn &c, const testjson::Value &step, const Bytes &bytes) {
    ASSERT_TRUE(c.keyed);
    ASSERT_GE(bytes.size(), v2::kRecordHeaderSize + v2::kMinRecordLen);
    const size_t len = sc::load_le16(bytes.data());
    EXPECT_EQ(len, num(step["len"]));
    ASSERT_EQ(bytes.size(), v2::kRecordHeaderSize + len);
    CipherState &cs = step["dir"].str() == "c2s" ? c.c2s : c.s2c;
    EXPECT_EQ(cs.nonce(), num(step["nonce"]));
    Bytes plain(len);
    ASSERT_TRUE(cs.decrypt_with_ad(bytes.data(), v2::kRecordHeaderSize, bytes.data() + v2::kRecordHeaderSize, len,
                                   plain.data()));
    plain.resize(len - sc::noise::kTagSize);
    // Its frames, as recorded; and the same frames written by our encoders
    // give the same plaintext.
    const auto &frames = step["frames"];
    v2::FrameReader reader(plain.data(), plain.size());
    Bytes rebuilt;
    size_t k = 0;
    v2::Frame f;
    for (v2::FrameReader::Result r; (r = reader.next(f)) != v2::FrameReader::Result::kEnd; ++k) {
      ASSERT_EQ(r, v2::FrameReader::Result::kFrame) << "frame " << k;
      ASSERT_LT(k, frames.size());
      const std::string type = frames[k]["type"].str();
      uint8_t buf[v2::kDataHeaderSize + 65536];
      size_t n = 0;
      if (type == "DATA") {
        ASSERT_EQ(f.type, v2::FrameType::kData);
        EXPECT_EQ(hex(f.data, f.n), frames[k]["hex"].str());
        n = v2::write_data_header(buf, f.n);
        std::copy(f.data, f.data + f.n, buf + n);
        n += f.n;
      } else if (type == "ACK") {
        ASSERT_EQ(f.type, v2::FrameType::kAck);
        EXPECT_EQ(f.value, num(frames[k]["received"]));
        n = v2::write_ack(buf, num(frames[k]["received"]));
      } else if (type == "PING") {
        ASSERT_EQ(f.type, v2::FrameType::kPing);
        EXPECT_EQ(f.value, num(frames[k]["token"]));
        n = v2::write_ping(buf, num(frames[k]["token"]));
      } else if (type == "PONG") {
        ASSERT_EQ(f.type, v2::FrameType::kPong);
        EXPECT_EQ(f.value, num(frames[k]["token"]));
        n = v2::write_pong(buf, num(frames[k]["token"]));
      } else if (type == "CLOSE") {
        ASSERT_EQ(f.type, v2::FrameType::kClose);
        EXPECT_EQ(f.value, num(frames[k]["reason"]));
        n = v2::write_close(buf, static_cast<uint16_t>(num(frames[k]["reason"])));
      } else {
        ADD_FAILURE() << "frame type " << type;
      }
      rebuilt.insert(rebuilt.end(), buf, buf + n);
    }
    EXPECT_EQ(k, frames.size());
    EXPECT_EQ(hex(rebuilt), hex(plain));
    ++records;
  }
};

TEST(V2Wire, RecordedExchangesRebuildByteForByte) {
  ASSERT_EQ(exchanges().size(), 6u);
  int handshakes = 0, records = 0;
  for (size_t k = 0; k < exchanges().size(); ++k) {
    SCOPED_TRACE(exchanges()[k]["name"].str());
    Replay r(exchanges()[k]);
    r.run();
    handshakes += r.handshakes;
    records += r.records;
  }
  // Every exchange's handshakes and records were seen (a replay that skipped
  // them would prove nothing).
  EXPECT_EQ(handshakes, 9);  // a 2, b 2, c1 1, c2 3, d 0 (raw bytes), e 1
  EXPECT_GE(records, 30);
}

TEST(V2Wire, FirstBytesTellTheVersionsApart) {
  uint8_t b[8] = {};
  EXPECT_EQ(v2::classify(b), v2::FirstBytes::kV1New);
  std::copy(v2::kPreamble, v2::kPreamble + 8, b);
  EXPECT_EQ(v2::classify(b), v2::FirstBytes::kV2);
  // Read as a version 1 reuse count, the preamble is beyond 2^63.
  EXPECT_GT(sc::load_le64(b), uint64_t{1} << 63);
  for (uint8_t version : {0, 1, 3, 255}) {
    b[v2::kVersionOffset] = version;
    EXPECT_EQ(v2::classify(b), v2::FirstBytes::kOtherVersion) << int{version};
  }
  b[v2::kVersionOffset] = v2::kVersion;
  for (size_t i = 0; i < 8; ++i) {
    if (i == v2::kVersionOffset) continue;
    uint8_t c[8];
    std::copy(b, b + 8, c);
    c[i] ^= 0x20;
    EXPECT_EQ(v2::classify(c), v2::FirstBytes::kV1Reuse) << "byte " << i;
  }
}

TEST(V2Wire, SizesFollowTheContract) {
  EXPECT_EQ(v2::kNewRequestSize, 65u);
  EXPECT_EQ(v2::kResumeRequestSize, 81u);
  EXPECT_EQ(v2::kNewAnswerSize, 1u + 104u);
  EXPECT_EQ(v2::kResumeAnswerSize, 1u + 56u);
  EXPECT_EQ(v2::kSessionIdOffset, 9u);
  EXPECT_EQ(v2::kMinRecordLen, 17u);
  EXPECT_EQ(v2::kMaxRecordPlaintext, 65519u);
  EXPECT_EQ(v2::kMaxDataPerFrame, 65516u);
}

TEST(V2Wire, UnknownStatusValuesReadAsRejected) {
  EXPECT_EQ(v2::status_from_byte(0), v2::Status::kAccepted);
  EXPECT_EQ(v2::status_from_byte(2), v2::Status::kBusy);
  EXPECT_EQ(v2::status_from_byte(3), v2::Status::kUnknownSession);
  for (int b = 5; b < 256; ++b) EXPECT_EQ(v2::status_from_byte(static_cast<uint8_t>(b)), v2::Status::kRejected);
}

v2::FrameReader::Result read_all(const Bytes &p, size_t *frames) {
  v2::FrameReader r(p.data(), p.size());
  v2::Frame f;
  *frames = 0;
  for (;;) {
    const auto res = r.next(f);
    if (res != v2::FrameReader::Result::kFrame) return res;
    ++*frames;
  }
}

TEST(V2Wire, MalformedFramesAreErrors) {
  using R = v2::FrameReader::Result;
  size_t n;
  EXPECT_EQ(read_all({0x06}, &n), R::kError) << "unknown type";
  EXPECT_EQ(read_all({0x00}, &n), R::kError) << "type 0";
  EXPECT_EQ(read_all({0x01, 0x00, 0x00}, &n), R::kError) << "DATA of 0 bytes";
  EXPECT_EQ(read_all({0x01, 0x02, 0x00, 0x41}, &n), R::kError) << "DATA past the end";
  EXPECT_EQ(read_all({0x01, 0x02}, &n), R::kError) << "DATA header cut";
  EXPECT_EQ(read_all({0x02, 1, 2, 3, 4, 5, 6, 7}, &n), R::kError) << "ACK cut";
  EXPECT_EQ(read_all({0x03, 1}, &n), R::kError) << "PING cut";
  EXPECT_EQ(read_all({0x05, 0x00}, &n), R::kError) << "CLOSE cut";
  EXPECT_EQ(read_all({0x05, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}, &n), R::kError) << "a frame after CLOSE";
  // Well formed: several frames, CLOSE last.
  EXPECT_EQ(
      read_all({0x02, 5, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x00, 0x41, 0x04, 9, 0, 0, 0, 0, 0, 0, 0, 0x05, 1, 0}, &n),
      R::kEnd);
  EXPECT_EQ(n, 4u);
}

}  // namespace
