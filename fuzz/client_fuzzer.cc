// Client input surface: bytes from the server (any reply, any data), with
// reconnects, sends and drops interleaved.
//
// Input: byte 0 = setup flags, then records of one control byte
//   bits 0-1: 0 = the next (bits 2-7) + 1 bytes arrive from the socket,
//             1 = cc_handshake (a new socket), 2 = cc_send of (bits 2-7) + 1
//             bytes, 3 = the connection is dropped (bit 2 set), a PING (bit 3)
//             or a CLOSE (bit 4) is sent, or a poll only
// Setup bit 4: a version 2 client of the fixed key (fuzz_common.h); the
// seeds hold the server's side of whole version 2 exchanges recorded with
// that key and the same draws, so records verify and frames are parsed.
#include <cstdint>
#include <string>

#include "connectionclient.h"
#include "fuzz_common.h"
#include "stable_connection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::FixedRandom random;
  fuzz::Reader in(data, size);
  const uint8_t setup = in.byte();
  connection *c = nullptr;
  uint8_t server_key[SC_KEY_SIZE];
  if ((setup & 4) && fuzz::server_public_key(server_key)) sc_client_open_v2(server_key, &c);
  if (c) {
    // A version 2 client makes its request at its first poll, as an
    // application that connects and drains does.
    connection_message m;
    while (cc_poll(c, &m) != MESSAGE_EMPTY) {
    }
  } else {
    c = cc_open();
  }
  if (setup & 1) sc_client_set_window(c, 300);
  const bool events = (setup & 2) != 0;
  sc_client_enable_events(c, events);
  bool ended = false;
  while (!in.done()) {
    const uint8_t ctrl = in.byte();
    const size_t len = (ctrl >> 2) + 1u;
    switch (ctrl & 3) {
      case 0: {
        const uint8_t *bytes;
        const size_t n = in.take(len, &bytes);
        if (n) cc_recv(c, reinterpret_cast<const char *>(bytes), n);
        break;
      }
      case 1:
        cc_handshake(c);
        break;
      case 2: {
        const std::string payload(len, static_cast<char>(ctrl));
        cc_send(c, payload.data(), payload.size());
        break;
      }
      default:
        if (ctrl & 4) cc_recv(c, nullptr, 0);
        if (ctrl & 8) sc_client_ping(c);
        if (ctrl & 16) sc_client_close_session(c);
        break;
    }
    connection_message m;
    sc_client_event ev;
    for (int t; (t = events ? sc_client_poll_sized(c, &m, &ev, sizeof ev) : cc_poll(c, &m)) != MESSAGE_EMPTY;) {
      if (t == MESSAGE_IN) {
        if (ended) fuzz::violation("input after the end of the connection");
        if (m.sz < 0) fuzz::violation("negative size");
        if (m.sz == 0) ended = true;
      } else if (t == MESSAGE_OUT) {
        if (m.sz <= 0 || !m.buffer) fuzz::violation("empty OUT message");
      } else if (t == SC_MESSAGE_EVENT) {
        if (ev.type < SC_EVENT_CONNECTED || ev.type > SC_EVENT_CLIENT_PONG) fuzz::violation("event type");
        if (ev.reason < 0 || ev.reason > SC_REASON_MAX) fuzz::violation("reason out of range");
      } else {
        fuzz::violation("unknown message type");
      }
    }
  }
  cc_close(c);
  return 0;
}
