// Replays every session recorded from the reference implementation
// (tests/data/legacy_sessions.json) through the public C API, with the
// recorded randomness injected, and compares every byte on the wire and every
// byte delivered. Each session is replayed with input delivered whole, one
// byte per call, and in random pieces.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "connectionclient.h"
#include "connectionserver.h"
#include "json.h"
#include "stable_connection.h"
#include "stable_connection_testing.h"

namespace {

using Bytes = std::vector<uint8_t>;

const testjson::Value &sessions() {
  static const testjson::Value v = testjson::load_file(std::string(SC_TEST_DATA_DIR) + "/legacy_sessions.json");
  return v;
}

// Hands out recorded values in order; counts draws beyond the record.
struct RecordedRandom {
  std::vector<uint64_t> values;
  size_t next = 0;
  size_t overdrawn = 0;

  static uint64_t draw(void *self) {
    auto *r = static_cast<RecordedRandom *>(self);
    if (r->next < r->values.size()) return r->values[r->next++];
    ++r->overdrawn;
    return 0x0123456789abcdefull + r->overdrawn;
  }
};

enum class Split { kWhole, kSingleBytes, kRandom };

struct Observed {
  Bytes c2s, s2c, client_in, server_in;
  int server_in_id = 0;
  std::vector<int> server_closes;
  bool client_dropped = false;
};

class Replayer {
 public:
  // `keyed`: the pool also has a version 2 key, which must change nothing
  // for version 1 peers (setting it draws nothing from the random source).
  Replayer(Split split, unsigned seed, bool keyed = false) : split_(split), rng_(seed) {
    if (keyed) {
      uint8_t key[SC_KEY_SIZE];
      for (int k = 0; k < SC_KEY_SIZE; ++k) key[k] = static_cast<uint8_t>(0x40 + k);
      EXPECT_EQ(sc_pool_set_static_key(pool_, key), SC_OK);
    }
  }
  ~Replayer() {
    cc_close(client_);
    cp_delete(pool_);
  }

  void run_step(const testjson::Value &step, Observed &seen) {
    const std::string op = step["op"].str();
    if (op == "client_open") {
      client_ = cc_open();
      ASSERT_NE(client_, nullptr);
    } else if (op == "client_send") {
      const Bytes data = testjson::hex_bytes(step["data"].str());
      cc_send(client_, reinterpret_cast<const char *>(data.data()), data.size());
    } else if (op == "server_send") {
      const Bytes data = testjson::hex_bytes(step["data"].str());
      cp_send(pool_, step["id"].as_int(), reinterpret_cast<const char *>(data.data()), data.size());
    } else if (op == "exchange") {
      exchange(step["fd"].as_int(), seen);
    } else if (op == "client_output_lost") {
      drain_client(seen, nullptr);
    } else if (op == "server_output_lost") {
      drain_server(seen, -1, nullptr);
    } else if (op == "server_fd_closed") {
      cp_recv(pool_, step["fd"].as_int(), nullptr, 0);
    } else if (op == "client_handshake") {
      cc_handshake(client_);
    } else if (op == "raw_to_server") {
      const int fd = step["fd"].as_int();
      feed_server(fd, testjson::hex_bytes(step["data"].str()));
      drain_server(seen, fd, nullptr);
    } else {
      FAIL() << "unknown op " << op;
    }
  }

 private:
  // Splits `data` into the pieces one delivery mode would read.
  std::vector<std::pair<size_t, size_t>> pieces(size_t n) {
    std::vector<std::pair<size_t, size_t>> out;
    for (size_t at = 0; at < n;) {
      size_t len = n - at;
      if (split_ == Split::kSingleBytes) len = 1;
      if (split_ == Split::kRandom) len = std::min(len, std::uniform_int_distribution<size_t>(1, 40)(rng_));
      out.emplace_back(at, len);
      at += len;
    }
    return out;
  }

  void feed_server(int fd, const Bytes &data) {
    for (auto [at, len] : pieces(data.size()))
      cp_recv(pool_, fd, reinterpret_cast<const char *>(data.data() + at), len);
  }

  void feed_client(const Bytes &data) {
    for (auto [at, len] : pieces(data.size())) cc_recv(client_, reinterpret_cast<const char *>(data.data() + at), len);
  }

  // Polls the client; OUT bytes go to *to_server (or are lost). True if anything moved.
  bool drain_client(Observed &seen, Bytes *to_server) {
    bool moved = false;
    if (!client_) return false;
    connection_message m;
    for (int type; (type = cc_poll(client_, &m)) != MESSAGE_EMPTY;) {
      moved = true;
      if (type == MESSAGE_OUT) {
        seen.c2s.insert(seen.c2s.end(), m.buffer, m.buffer + m.sz);
        if (to_server) to_server->insert(to_server->end(), m.buffer, m.buffer + m.sz);
      } else if (m.sz == 0) {
        seen.client_dropped = true;
      } else {
        seen.client_in.insert(seen.client_in.end(), m.buffer, m.buffer + m.sz);
      }
    }
    return moved;
  }

  // Polls the pool; OUT bytes for `fd` go to *to_client (or are lost).
  bool drain_server(Observed &seen, int fd, Bytes *to_client) {
    bool moved = false;
    pool_message m;
    for (int type; (type = cp_poll(pool_, &m)) != POOL_EMPTY;) {
      moved = true;
      if (type == POOL_OUT) {
        if (m.sz == 0) {
          seen.server_closes.push_back(m.id);
          continue;
        }
        if (fd >= 0 && m.id != fd) continue;  // another socket: nobody reads it here
        seen.s2c.insert(seen.s2c.end(), m.buffer, m.buffer + m.sz);
        if (to_client) to_client->insert(to_client->end(), m.buffer, m.buffer + m.sz);
      } else {
        seen.server_in.insert(seen.server_in.end(), m.buffer, m.buffer + m.sz);
        seen.server_in_id = m.id;
      }
    }
    return moved;
  }

  void exchange(int fd, Observed &seen) {
    for (int round = 0; round < 100; ++round) {
      Bytes to_server, to_client;
      bool moved = drain_client(seen, &to_server);
      if (!to_server.empty()) feed_server(fd, to_server);
      moved = drain_server(seen, fd, &to_client) || moved;
      if (!to_client.empty()) feed_client(to_client);
      if (!moved) return;
    }
    FAIL() << "exchange did not settle";
  }

  Split split_;
  std::mt19937 rng_;
  connection_pool *pool_ = cp_new();
  connection *client_ = nullptr;
};

std::string hex(const Bytes &b) {
  static const char *digits = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

std::vector<uint64_t> values(const testjson::Value &list) {
  std::vector<uint64_t> out;
  for (size_t k = 0; k < list.size(); ++k) out.push_back(testjson::hex_u64(list[k].str()));
  return out;
}

void replay(const testjson::Value &session, Split split, unsigned seed, bool keyed = false) {
  RecordedRandom client_random{values(session["client_random"])};
  RecordedRandom server_random{values(session["server_random"])};
  sc_testing_set_random(SC_RANDOM_CLIENT, &RecordedRandom::draw, &client_random);
  sc_testing_set_random(SC_RANDOM_SERVER, &RecordedRandom::draw, &server_random);
  {
    Replayer replayer(split, seed, keyed);
    const auto &steps = session["steps"];
    for (size_t k = 0; k < steps.size(); ++k) {
      const auto &step = steps[k];
      const auto &want = step["expect"];
      Observed seen;
      replayer.run_step(step, seen);
      const std::string where = "step " + std::to_string(k) + " (" + step["op"].str() + ")";
      EXPECT_EQ(hex(seen.c2s), want["c2s"].str()) << where;
      EXPECT_EQ(hex(seen.s2c), want["s2c"].str()) << where;
      EXPECT_EQ(hex(seen.client_in), want["client_in"].str()) << where;
      EXPECT_EQ(hex(seen.server_in), want["server_in"].str()) << where;
      if (!seen.server_in.empty()) EXPECT_EQ(seen.server_in_id, want["server_in_id"].as_int()) << where;
      std::vector<int> closes;
      for (size_t c = 0; c < want["server_closes"].size(); ++c) closes.push_back(want["server_closes"][c].as_int());
      EXPECT_EQ(seen.server_closes, closes) << where;
      EXPECT_EQ(seen.client_dropped, want["client_dropped"].boolean) << where;
    }
  }
  sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr);
  sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr);
  // Whole reads make exactly the draws the reference made. (A hostile peer
  // whose excess arrives in later reads is answered before it is caught.)
  if (split == Split::kWhole) {
    EXPECT_EQ(client_random.next, client_random.values.size());
    EXPECT_EQ(server_random.next, server_random.values.size());
    EXPECT_EQ(client_random.overdrawn + server_random.overdrawn, 0u);
  }
}

class LegacySession : public ::testing::TestWithParam<size_t> {};

TEST_P(LegacySession, ReplaysWhole) { replay(sessions()["sessions"][GetParam()], Split::kWhole, 0); }

TEST_P(LegacySession, ReplaysOneBytePerRead) { replay(sessions()["sessions"][GetParam()], Split::kSingleBytes, 0); }

#ifdef SC_WITH_V2
// The recorded version 1 sessions against a pool that accepts version 2 too.
TEST_P(LegacySession, ReplaysWholeOnAPoolWithAVersion2Key) {
  replay(sessions()["sessions"][GetParam()], Split::kWhole, 0, true);
}

TEST_P(LegacySession, ReplaysOneBytePerReadOnAPoolWithAVersion2Key) {
  replay(sessions()["sessions"][GetParam()], Split::kSingleBytes, 0, true);
}
#endif

TEST_P(LegacySession, ReplaysRandomSplits) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    replay(sessions()["sessions"][GetParam()], Split::kRandom, seed);
  }
}

std::string session_name(const ::testing::TestParamInfo<size_t> &info) {
  return sessions()["sessions"][info.param]["name"].str();
}

INSTANTIATE_TEST_SUITE_P(Vectors, LegacySession,
                         ::testing::Range<size_t>(0, sessions()["sessions"].size()), session_name);

TEST(LegacySessions, AllPresent) { EXPECT_GE(sessions()["sessions"].size(), 9u); }

}  // namespace
