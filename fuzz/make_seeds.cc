// Writes seed corpora for the fuzz targets: each recorded session of
// tests/data/legacy_sessions.json is played between a real client and a real
// pool, with the fuzz targets' fixed random source, and what crossed the wire
// is written in each target's input format (so auth codes verify when the
// fuzzer replays it). The structured target gets a few pseudo-random inputs.
//
//   make_seeds <legacy_sessions.json> <output directory>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "connectionclient.h"
#include "connectionserver.h"
#include "fuzz_common.h"
#include "json.h"

namespace {

struct Recorder {
  std::string server_input{char(1)};  // setup: events on
  std::string client_input{char(2)};  // setup: events on

  Recorder() = default;
  Recorder(char server_setup, char client_setup) : server_input{server_setup}, client_input{client_setup} {}

  void to_server(int fd, const std::string &bytes) {
    for (size_t at = 0; at < bytes.size(); at += 16) {
      const size_t n = std::min<size_t>(16, bytes.size() - at);
      server_input.push_back(static_cast<char>(((n - 1) << 2) | ((fd - 3) & 3)));
      server_input.append(bytes, at, n);
    }
  }
  void server_close(int fd) { server_input.push_back(static_cast<char>(0x80 | ((fd - 3) & 3))); }
  void to_client(const std::string &bytes) {
    for (size_t at = 0; at < bytes.size(); at += 64) {
      const size_t n = std::min<size_t>(64, bytes.size() - at);
      client_input.push_back(static_cast<char>((n - 1) << 2));
      client_input.append(bytes, at, n);
    }
  }
  void client_handshake() { client_input.push_back(1); }
  // The server fuzzer's "time passes" record with bit 0: session 1 is sent
  // "ping" (no time passes).
  void server_sends_ping() { server_input.push_back(0x41); }
  void client_ping() { client_input.push_back(3 | 8); }
  void client_close_session() { client_input.push_back(3 | 16); }
  void client_send(size_t n) {
    for (; n > 0; n -= std::min<size_t>(n, 64))
      client_input.push_back(static_cast<char>(((std::min<size_t>(n, 64) - 1) << 2) | 2));
  }
};

// Fds of the vectors mapped onto the fuzzers' four sockets (3..6).
int socket_for(int fd) { return 3 + (fd & 3); }

void play(const testjson::Value &session, Recorder &rec) {
  fuzz::FixedRandom random;
  connection_pool *cp = cp_new();
  connection *c = nullptr;
  auto poll_client = [&](std::string *out) {
    connection_message m;
    for (int t; c && (t = cc_poll(c, &m)) != MESSAGE_EMPTY;)
      if (t == MESSAGE_OUT && out) out->append(m.buffer, m.sz);
  };
  auto poll_pool = [&](int fd, std::string *out) {
    pool_message m;
    for (int t; (t = cp_poll(cp, &m)) != POOL_EMPTY;)
      if (t == POOL_OUT && m.id == fd && out) out->append(m.buffer, m.sz);
  };
  const auto &steps = session["steps"];
  for (size_t k = 0; k < steps.size(); ++k) {
    const auto &step = steps[k];
    const std::string op = step["op"].str();
    if (op == "client_open") {
      c = cc_open();
    } else if (op == "client_send") {
      const auto bytes = testjson::hex_bytes(step["data"].str());
      cc_send(c, reinterpret_cast<const char *>(bytes.data()), bytes.size());
      rec.client_send(bytes.size());
    } else if (op == "server_send") {
      const auto bytes = testjson::hex_bytes(step["data"].str());
      cp_send(cp, step["id"].as_int(), reinterpret_cast<const char *>(bytes.data()), bytes.size());
    } else if (op == "exchange") {
      const int fd = socket_for(step["fd"].as_int());
      for (int round = 0; round < 20; ++round) {
        std::string up, down;
        poll_client(&up);
        if (!up.empty()) {
          cp_recv(cp, fd, up.data(), up.size());
          rec.to_server(fd, up);
        }
        poll_pool(fd, &down);
        if (!down.empty() && c) {
          cc_recv(c, down.data(), down.size());
          rec.to_client(down);
        }
        if (up.empty() && down.empty()) break;
      }
    } else if (op == "client_output_lost") {
      poll_client(nullptr);
    } else if (op == "server_output_lost") {
      poll_pool(-1, nullptr);
    } else if (op == "server_fd_closed") {
      const int fd = socket_for(step["fd"].as_int());
      cp_recv(cp, fd, nullptr, 0);
      rec.server_close(fd);
    } else if (op == "client_handshake") {
      cc_handshake(c);
      rec.client_handshake();
    } else if (op == "raw_to_server") {
      const int fd = socket_for(step["fd"].as_int());
      const auto bytes = testjson::hex_bytes(step["data"].str());
      const std::string s(bytes.begin(), bytes.end());
      cp_recv(cp, fd, s.data(), s.size());
      rec.to_server(fd, s);
      poll_pool(fd, nullptr);
    }
  }
  cc_close(c);
  cp_delete(cp);
}

// Version 2 exchanges between a real client and a real pool with the fuzz
// targets' key and draws. Each scenario is a list of steps:
//   o  open the session on fd 3      s    the client sends 200 bytes
//   S  the server sends "ping" to session 1 (the server fuzzer's own send)
//   x  exchange until quiet          b    the socket breaks, in-flight bytes
//   p  the client pings                   lost; the client reconnects (next fd)
//   c  the client closes the session
// False without version 2 in the build.
bool play_v2(const std::string &steps, Recorder &rec) {
  fuzz::FixedRandom random;
  uint8_t pub[SC_KEY_SIZE];
  if (!fuzz::server_public_key(pub)) return false;
  connection_pool *cp = cp_new();
  connection *c = nullptr;
  if (sc_pool_set_static_key(cp, fuzz::server_private_key()) != SC_OK || sc_client_open_v2(pub, &c) != SC_OK) {
    cp_delete(cp);
    return false;
  }
  int fd = 3;
  const std::string payload(200, 'v'), ping("ping");
  auto exchange = [&] {
    for (int round = 0; round < 20; ++round) {
      std::string up, down;
      connection_message m;
      for (int t; (t = cc_poll(c, &m)) != MESSAGE_EMPTY;)
        if (t == MESSAGE_OUT) up.append(m.buffer, m.sz);
      if (!up.empty()) {
        cp_recv(cp, fd, up.data(), up.size());
        rec.to_server(fd, up);
      }
      pool_message pm;
      for (int t; (t = cp_poll(cp, &pm)) != POOL_EMPTY;)
        if (t == POOL_OUT && pm.id == fd && pm.sz > 0) down.append(pm.buffer, pm.sz);
      if (!down.empty()) {
        cc_recv(c, down.data(), down.size());
        rec.to_client(down);
      }
      if (up.empty() && down.empty()) break;
    }
  };
  for (char step : steps) {
    switch (step) {
      case 'o':
      case 'x':
        exchange();
        break;
      case 's':
        cc_send(c, payload.data(), payload.size());
        rec.client_send(payload.size());
        break;
      case 'S':
        cp_send(cp, 1, ping.data(), ping.size());
        rec.server_sends_ping();
        break;
      case 'p':
        sc_client_ping(c);
        rec.client_ping();
        break;
      case 'c':
        sc_client_close_session(c);
        rec.client_close_session();
        break;
      case 'b': {
        connection_message m;
        while (cc_poll(c, &m) != MESSAGE_EMPTY) {
        }
        pool_message pm;
        while (cp_poll(cp, &pm) != POOL_EMPTY) {
        }
        cp_recv(cp, fd, nullptr, 0);
        rec.server_close(fd);
        fd = fd == 6 ? 3 : fd + 1;
        cc_handshake(c);
        rec.client_handshake();
        break;
      }
    }
  }
  cc_close(c);
  cp_delete(cp);
  return true;
}

bool write_file(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <legacy_sessions.json> <output directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[2];
  for (const char *sub : {"", "/server_fuzzer", "/client_fuzzer", "/api_fuzzer"}) mkdir((dir + sub).c_str(), 0755);
  const testjson::Value vectors = testjson::load_file(argv[1]);
  const auto &sessions = vectors["sessions"];
  int written = 0;
  for (size_t k = 0; k < sessions.size(); ++k) {
    Recorder rec;
    play(sessions[k], rec);
    const std::string name = sessions[k]["name"].str();
    written += write_file(dir + "/server_fuzzer/" + name, rec.server_input);
    written += write_file(dir + "/client_fuzzer/" + name, rec.client_input);
  }
  // Version 2: setup 0x11 (events, the key) for the server, 6 (events,
  // version 2) for the client.
  const std::pair<const char *, const char *> v2_scenarios[] = {
      {"v2_new_session_and_data", "osxSxsSxpx"},
      {"v2_resume_after_a_break", "osxSxbxsSxbbxSx"},
      {"v2_lost_in_flight", "osSbxsSSbxpx"},
      {"v2_close", "osxSxcx"},
  };
  for (const auto &sc : v2_scenarios) {
    Recorder rec(char(0x11), char(6));
    if (!play_v2(sc.second, rec)) break;
    written += write_file(dir + "/server_fuzzer/" + sc.first, rec.server_input);
    written += write_file(dir + "/client_fuzzer/" + sc.first, rec.client_input);
  }
  uint64_t x = 88172645463325252ull;
  for (int k = 0; k < 8; ++k) {
    std::string bytes(1024u << (k % 4), '\0');
    for (char &b : bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = static_cast<char>(x >> 32);
    }
    written += write_file(dir + "/api_fuzzer/random-" + std::to_string(k), bytes);
  }
  std::printf("wrote %d seed files under %s\n", written, dir.c_str());
  return 0;
}
