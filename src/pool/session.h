// A session of the pool: one stable connection, attached to a socket or
// waiting for its client to come back. Version 1 protects its stream with
// the stream cipher and names positions in it by fingerprints.
#ifndef SC_POOL_SESSION_H
#define SC_POOL_SESSION_H

#include <cstddef>
#include <cstdint>

#include "core/message_queue.h"
#include "core/send_state.h"
#include "v1/stream_cipher.h"

namespace sc {

// A session being created has no socket yet but was never detached.
constexpr uint64_t kNeverDetached = ~uint64_t{0};

// Fingerprints of the server->client stream at one 256-byte boundary, over
// the ciphertext (what this library's and the reference's servers record) and
// over the plaintext (what the reference's client computes).
struct Boundary {
  uint32_t cipher;
  uint32_t plain;
};

// Boundaries oldest first; most sessions hold one or two.
using BoundaryRing = RingQueue<Boundary, 2>;

// The fields a resume and the data path read come first.
struct alignas(64) Session {
  Session(int id_, uint64_t secret_, size_t window)
      : out(window), id(id_), secret(secret_), encoder(secret_), decoder(secret_) {
    fp_cipher = fp_plain = encoder.initial_fingerprint();
  }

  uint64_t sent() const { return out.sent(); }
  bool attached() const { return fd >= 0; }

  SendState out;               // server->client: ciphertext held for resending
  int id;
  int fd = -1;                 // -1: detached
  int slot = 0;                // of its hot record in the session table
  uint64_t secret;             // the DH shared secret, which auth codes prove
  uint64_t received = 0;       // client->server bytes decrypted
  uint64_t detached_at_ms = kNeverDetached;
  // Cold from here on.
  uint64_t skip = 0;           // resent bytes on the new socket that were already received
  // Which detachment this is, in the session table's order; 0 while attached.
  uint64_t detach_serial = 0;
  // Version 1: fingerprints at positions first_boundary, +256, ...; the
  // session table keeps them and its index in step.
  uint64_t first_boundary = 0;
  uint32_t fp_cipher;          // running fingerprints of the server->client stream
  uint32_t fp_plain;
  BoundaryRing boundaries;
  StreamCipher encoder;        // server->client
  StreamCipher decoder;        // client->server
};

}  // namespace sc

#endif
