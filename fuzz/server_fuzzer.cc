// Server input surface: bytes on several sockets with closes, timeouts and
// application sends interleaved. Optionally a real client first opens a
// session on fd 3 (so reuse requests and session data are reachable).
//
// Setup bit 0x10 gives the pool the fixed version 2 key (fuzz_common.h), so
// that version 2 handshakes and records are reachable (the seeds hold whole
// version 2 exchanges recorded with the same key and draws).
//
// Input: byte 0 = setup flags, then records of one control byte
//   bits 0-1: socket (fd 3..6)
//   bit 7 set: the socket closes        bit 6 set (bit 7 clear): time passes
//   otherwise bits 2-5 + 1 = bytes that follow, fed with cp_recv
#include <cstdint>
#include <set>
#include <string>

#include "connectionclient.h"
#include "connectionserver.h"
#include "fuzz_common.h"
#include "stable_connection.h"

namespace {

struct Pool {
  connection_pool *cp;
  std::set<int> fds_seen;  // sockets the application ever fed
  bool events;

  void drain() {
    pool_message m;
    sc_pool_event ev;
    for (int t; (t = events ? sc_pool_poll(cp, &m, &ev) : cp_poll(cp, &m)) != POOL_EMPTY;) {
      if (t == POOL_OUT) {
        if (!fds_seen.count(m.id)) fuzz::violation("output for a socket never seen");
        if (m.sz > 0 && !m.buffer) fuzz::violation("OUT data without a buffer");
      } else if (t == POOL_IN) {
        if (m.id <= 0) fuzz::violation("data for a non-positive session id");
        if (m.sz == 0) fuzz::violation("empty IN message");
      } else if (t == SC_POOL_EVENT) {
        if (ev.type < SC_EVENT_SESSION_OPENED || ev.type > SC_EVENT_HANDSHAKE_REFUSED) fuzz::violation("event type");
        if (ev.reason < 0 || ev.reason > SC_REASON_MAX) fuzz::violation("reason out of range");
      } else {
        fuzz::violation("unknown message type");
      }
    }
  }
};

// A real client opens session 1 on fd 3 and both sides exchange a little.
void open_real_session(Pool &pool, fuzz::Clock &) {
  connection *c = cc_open();
  cc_send(c, "hello", 5);
  pool.fds_seen.insert(3);
  for (int round = 0; round < 8; ++round) {
    std::string up, down;
    connection_message m;
    for (int t; (t = cc_poll(c, &m)) != MESSAGE_EMPTY;)
      if (t == MESSAGE_OUT) up.append(m.buffer, m.sz);
    if (!up.empty()) cp_recv(pool.cp, 3, up.data(), up.size());
    pool_message pm;
    for (int t; (t = cp_poll(pool.cp, &pm)) != POOL_EMPTY;)
      if (t == POOL_OUT && pm.id == 3) down.append(pm.buffer, pm.sz);
    if (!down.empty()) cc_recv(c, down.data(), down.size());
    if (up.empty() && down.empty()) break;
  }
  const std::string data(300, 'x');
  cp_send(pool.cp, 1, data.data(), data.size());
  pool.drain();
  cc_close(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::FixedRandom random;
  fuzz::Clock clock;
  fuzz::Reader in(data, size);
  const uint8_t setup = in.byte();
  Pool pool{cp_new(), {}, (setup & 1) != 0};
  sc_pool_set_clock(pool.cp, fuzz::Clock::read, &clock);
  sc_pool_enable_events(pool.cp, pool.events);
  if (setup & 2) sc_pool_set_window(pool.cp, 512);
  if (setup & 4) sc_pool_set_max_handshakes(pool.cp, 2);
  if (setup & 8) open_real_session(pool, clock);
  if (setup & 0x10) sc_pool_set_static_key(pool.cp, fuzz::server_private_key());  // a no-op without version 2
  while (!in.done()) {
    const uint8_t ctrl = in.byte();
    const int fd = 3 + (ctrl & 3);
    if (ctrl & 0x80) {
      cp_recv(pool.cp, fd, nullptr, 0);
    } else if (ctrl & 0x40) {
      clock.now += static_cast<uint64_t>(ctrl & 0x3c) * 1000;
      cp_timeout(pool.cp);
      if (ctrl & 1) cp_send(pool.cp, 1, "ping", 4);
    } else {
      const uint8_t *bytes;
      const size_t n = in.take(((ctrl >> 2) & 0xf) + 1u, &bytes);
      if (n == 0) break;
      pool.fds_seen.insert(fd);
      cp_recv(pool.cp, fd, reinterpret_cast<const char *>(bytes), n);
    }
    pool.drain();
  }
  cp_delete(pool.cp);
  return 0;
}
