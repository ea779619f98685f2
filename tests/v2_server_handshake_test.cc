// The pool's side of a version 2 handshake (src/v2/server_handshake.*)
// against the recorded exchanges of tests/data/v2_sessions.json: with the
// recorded random values injected, every answer and every status byte
// matches the recording, whatever the split of the request. Then its rules:
// bytes beyond the request, unknown kinds, the cap, the budget, a window out
// of range.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/random.h"
#include "crypto/primitives.h"
#include "json.h"
#include "noise/noise.h"
#include "v2/server_handshake.h"

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

// Injected bytes, 8 at a time as the library draws them.
struct Injected {
  Bytes bytes;
  size_t at = 0;
  static uint64_t next(void *self) {
    auto *in = static_cast<Injected *>(self);
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k, ++in->at)
      v |= static_cast<uint64_t>(in->at < in->bytes.size() ? in->bytes[in->at] : 0) << (8 * k);
    return v;
  }
};

struct Guard {
  ~Guard() { sc::set_random_source(sc::RandomSide::kServer, nullptr, nullptr); }
};

struct Host : v2::ServerHandshakeHost {
  Bytes out, key;
  uint16_t id = 0;
  uint32_t win = 65536;
  bool is_busy = false;
  sc::Reason full = sc::Reason::kNone;
  struct Known {
    Bytes secret;
    uint64_t sent = 0, received = 0;
  };
  std::map<std::string, Known> sessions;  // by hex of the id
  std::vector<uint8_t> &answer_buffer() override { return out; }
  sc::crypto::DhKey dh;
  const sc::crypto::DhKey &static_key() override {
    dh.set(key.data());  // the test may change `key` between handshakes
    return dh;
  }
  uint16_t server_id() override { return id; }
  uint32_t window() override { return win; }
  bool busy() override { return is_busy; }
  sc::Reason admit_new_session() override { return full; }
  bool session_id_taken(const v2::SessionId &sid) override {
    return sessions.count(hex(Bytes(sid.bytes.begin(), sid.bytes.end()))) != 0;
  }
  Target find_session(const v2::SessionId &sid) override {
    auto it = sessions.find(hex(Bytes(sid.bytes.begin(), sid.bytes.end())));
    if (it == sessions.end()) return Target{};
    return Target{1, it->second.secret.data(), 0, it->second.sent, it->second.received};
  }
};

enum class Split { kWhole, kBytes, kRandom };

sc::HandshakeStep feed(v2::ServerHandshake &hs, Host &host, const Bytes &b, Split split, std::mt19937 &rng) {
  sc::HandshakeStep step;
  size_t at = 0;
  while (at < b.size()) {
    size_t n = b.size() - at;
    if (split == Split::kBytes) n = 1;
    if (split == Split::kRandom) n = std::min<size_t>(n, 1 + rng() % 30);
    step = hs.feed(host, b.data() + at, n);
    at += n;
    if (step.kind != sc::HandshakeStep::Kind::kMore) break;
  }
  return step;
}

TEST(V2ServerHandshake, AnswersAsRecordedInAnySplit) {
  Guard guard;
  int answers = 0;
  for (Split split : {Split::kWhole, Split::kBytes, Split::kRandom}) {
    for (size_t k = 0; k < exchanges().size(); ++k) {
      const auto &ex = exchanges()[k];
      SCOPED_TRACE(ex["name"].str());
      std::mt19937 rng(5);
      Injected draws;
      Host host;
      for (size_t i = 0; i < ex["injected"].size(); ++i) {
        const std::string name = ex["injected"][i]["name"].str();
        Bytes b = hex_bytes(ex["injected"][i]["hex"].str());
        if (name == "server_static_private") {
          host.key = b;
        } else if (name.rfind("server_", 0) == 0) {
          // A draw of n bytes takes whole 8-byte values: the 14 bytes of a
          // session id take two, the last two bytes unused.
          b.resize((b.size() + 7) / 8 * 8);
          draws.bytes.insert(draws.bytes.end(), b.begin(), b.end());
        }
      }
      host.id = static_cast<uint16_t>(num(ex["server_id"]));
      host.win = static_cast<uint32_t>(num(ex["server_window"]));
      sc::set_random_source(sc::RandomSide::kServer, &Injected::next, &draws);
      const auto &steps = ex["steps"];
      for (size_t i = 0; i < steps.size(); ++i) {
        const auto &st = steps[i];
        if (st["op"].str() != "wire" || st["dir"].str() != "c2s") continue;
        const std::string unit = st["unit"].str();
        if (unit == "record") continue;
        SCOPED_TRACE("step " + std::to_string(i));
        // The recorded answer is the next s2c handshake unit on this connection.
        const testjson::Value *answer = nullptr;
        for (size_t j = i + 1; j < steps.size() && !answer; ++j)
          if (steps[j]["op"].str() == "wire" && steps[j]["dir"].str() == "s2c" &&
              num(steps[j]["conn"]) == num(st["conn"]) && steps[j]["unit"].str() != "record")
            answer = &steps[j];
        ASSERT_NE(answer, nullptr);
        if (unit == "resume request") {
          // What the pool's session has when the request arrives.
          const std::string sid = st["decoded"]["session_id"].str();
          if (host.sessions.count(sid)) {
            host.sessions[sid].sent = num(st["decoded"]["payload"]["received"]);
            if ((*answer)["unit"].str() == "answer")
              host.sessions[sid].received = num((*answer)["decoded"]["payload"]["received"]);
          }
        }
        host.out.clear();
        v2::ServerHandshake hs;
        const sc::HandshakeStep step = feed(hs, host, hex_bytes(st["hex"].str()), split, rng);
        EXPECT_EQ(hex(host.out), (*answer)["hex"].str());
        ++answers;
        if ((*answer)["unit"].str() == "answer") {
          if (unit == "new request") {
            ASSERT_EQ(step.kind, sc::HandshakeStep::Kind::kNewSession);
            Host::Known known;
            known.secret.assign(hs.resume_secret(), hs.resume_secret() + v2::kResumeSecretSize);
            host.sessions[hex(Bytes(hs.session_id().bytes.begin(), hs.session_id().bytes.end()))] = known;
            EXPECT_EQ(hs.client_window(), num(ex["client_window"]));
          } else {
            ASSERT_EQ(step.kind, sc::HandshakeStep::Kind::kResume);
          }
        } else {
          EXPECT_EQ(step.kind, sc::HandshakeStep::Kind::kRefused);
        }
      }
      EXPECT_EQ(draws.at, draws.bytes.size()) << "every injected value was used";
    }
  }
  EXPECT_EQ(answers, 3 * 10);  // nine requests and one unknown version, in each split
}

// A valid new-session request with the given window, from fresh keys.
Bytes new_request(const Bytes &server_private, uint32_t window) {
  Bytes pub(32), out(v2::kNewRequestSize);
  EXPECT_TRUE(sc::crypto::x25519_public(server_private.data(), pub.data()));
  const size_t pro = v2::write_prologue(out.data(), v2::Kind::kNew, nullptr);
  sc::noise::HandshakeState hs;
  EXPECT_TRUE(hs.initialize(sc::noise::Pattern::kNK, true, out.data(), pro, nullptr, pub.data(), nullptr));
  uint8_t plain[v2::NewRequestPayload::kSize], e[32];
  v2::NewRequestPayload{window, 0}.encode(plain);
  for (int i = 0; i < 32; ++i) e[i] = static_cast<uint8_t>(i * 7 + 1);
  EXPECT_TRUE(hs.write_message(e, plain, sizeof plain, out.data() + pro));
  return out;
}

Host test_host() {
  Host h;
  h.key.assign(32, 0);
  for (int i = 0; i < 32; ++i) h.key[i] = static_cast<uint8_t>(200 - i);
  return h;
}

TEST(V2ServerHandshake, BytesBeyondTheRequestCloseWithoutAStatus) {
  Host host = test_host();
  Bytes req = new_request(host.key, 65536);
  req.push_back(0);
  v2::ServerHandshake hs;
  const sc::HandshakeStep step = hs.feed(host, req.data(), req.size());
  EXPECT_EQ(step.kind, sc::HandshakeStep::Kind::kRefused);
  EXPECT_EQ(step.reason, sc::Reason::kMalformed);
  EXPECT_TRUE(host.out.empty());
}

TEST(V2ServerHandshake, AnUnknownKindClosesWithoutAStatus) {
  Host host = test_host();
  Bytes req = new_request(host.key, 65536);
  req[v2::kKindOffset] = 7;
  v2::ServerHandshake hs;
  EXPECT_EQ(hs.feed(host, req.data(), req.size()).kind, sc::HandshakeStep::Kind::kRefused);
  EXPECT_TRUE(host.out.empty());
}

TEST(V2ServerHandshake, BusyAndFullAnswerStatusTwoAfterTheWholeRequest) {
  for (int which = 0; which < 2; ++which) {
    Host host = test_host();
    if (which == 0) host.is_busy = true;
    if (which == 1) host.full = sc::Reason::kPoolFull;
    const Bytes req = new_request(host.key, 65536);
    v2::ServerHandshake hs;
    // Nothing before the request is whole.
    EXPECT_EQ(hs.feed(host, req.data(), req.size() - 1).kind, sc::HandshakeStep::Kind::kMore);
    EXPECT_TRUE(host.out.empty());
    const sc::HandshakeStep step = hs.feed(host, req.data() + req.size() - 1, 1);
    EXPECT_EQ(step.kind, sc::HandshakeStep::Kind::kRefused);
    EXPECT_EQ(step.reason, which == 0 ? sc::Reason::kTooManyHandshakes : sc::Reason::kPoolFull);
    EXPECT_EQ(host.out, Bytes({0x02}));
  }
}

TEST(V2ServerHandshake, AWindowOutOfRangeIsRejected) {
  for (uint32_t w : {0u, 4095u, (1u << 30) + 1}) {
    Host host = test_host();
    const Bytes req = new_request(host.key, w);
    v2::ServerHandshake hs;
    const sc::HandshakeStep step = hs.feed(host, req.data(), req.size());
    EXPECT_EQ(step.kind, sc::HandshakeStep::Kind::kRefused) << w;
    EXPECT_EQ(host.out, Bytes({0x04})) << w;
  }
  Host host = test_host();
  const Bytes req = new_request(host.key, 4096);
  v2::ServerHandshake hs;
  EXPECT_EQ(hs.feed(host, req.data(), req.size()).kind, sc::HandshakeStep::Kind::kNewSession);
  EXPECT_EQ(host.out.size(), v2::kNewAnswerSize);
}

TEST(V2ServerHandshake, AnotherVersionIsAnsweredAtOnce) {
  for (uint8_t version : {1, 3, 200}) {
    Host host = test_host();
    Bytes pre(v2::kPreamble, v2::kPreamble + v2::kPreambleSize);
    pre[v2::kVersionOffset] = version;
    v2::ServerHandshake hs;
    const sc::HandshakeStep step = hs.feed(host, pre.data(), pre.size());
    EXPECT_EQ(step.kind, sc::HandshakeStep::Kind::kRefused);
    EXPECT_EQ(step.reason, sc::Reason::kNotSupported);
    EXPECT_EQ(host.out, Bytes({0x01}));
  }
}

}  // namespace
