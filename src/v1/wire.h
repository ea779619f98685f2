// Protocol version 1 on the wire: the size and layout of every handshake
// message, each with its one encoder and one decoder, used by the pool's and
// the client's handshakes alike. docs/PROTOCOL.md sections 3 to 5 describe
// the messages byte by byte; no size written here appears anywhere else.
//
//   new connection   client NewRequest -> server NewReply -> client AuthCode
//   reuse            client ReuseRequest -> server ReuseReply -> client AuthCode
//
// After the auth code each side's bytes are stream data (docs/PROTOCOL.md 2.3).
#ifndef SC_V1_WIRE_H
#define SC_V1_WIRE_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"

namespace sc {
namespace v1 {

// The first bytes of every connection, which tell what it asks for: zero
// opens a new session, anything else is a reuse request's received count.
constexpr size_t kKindSize = 8;

enum class RequestKind : uint8_t { kNew, kReuse };

// Room for a whole message of `n` bytes at the end of `out`, grown once.
inline uint8_t *append_message(std::vector<uint8_t> &out, size_t n) {
  const size_t at = out.size();
  out.resize(at + n);
  return out.data() + at;
}

// `first` holds kKindSize bytes.
inline RequestKind request_kind(const uint8_t *first) {
  return load_le64(first) == 0 ? RequestKind::kNew : RequestKind::kReuse;
}

// Client -> server: LE64(0), LE64(client public key).
struct NewRequest {
  static constexpr size_t kSize = 16;
  uint64_t client_public = 0;

  void encode(std::vector<uint8_t> &out) const {
    uint8_t *p = append_message(out, kSize);
    store_le64(p, 0);
    store_le64(p + 8, client_public);
  }
  // `p` holds kSize bytes, starting with the kind.
  static NewRequest decode(const uint8_t *p) { return NewRequest{load_le64(p + 8)}; }
};

// Client -> server: LE64(bytes received), LE32(fingerprint at the last
// 256-byte boundary not above that count).
struct ReuseRequest {
  static constexpr size_t kSize = 12;
  uint64_t received = 0;
  uint32_t fingerprint = 0;

  void encode(std::vector<uint8_t> &out) const {
    uint8_t *p = append_message(out, kSize);
    store_le64(p, received);
    store_le32(p + 8, fingerprint);
  }
  static ReuseRequest decode(const uint8_t *p) { return ReuseRequest{load_le64(p), load_le32(p + 8)}; }
};

// Server -> client, answering a NewRequest: LE64(server public key), LE64(challenge).
struct NewReply {
  static constexpr size_t kSize = 16;
  uint64_t server_public = 0;
  uint64_t challenge = 0;

  void encode(std::vector<uint8_t> &out) const {
    uint8_t *p = append_message(out, kSize);
    store_le64(p, server_public);
    store_le64(p + 8, challenge);
  }
  static NewReply decode(const uint8_t *p) { return NewReply{load_le64(p), load_le64(p + 8)}; }
};

// Server -> client, answering a ReuseRequest: LE64(bytes the server received
// from the client), LE64(challenge).
struct ReuseReply {
  static constexpr size_t kSize = 16;
  uint64_t received = 0;
  uint64_t challenge = 0;

  void encode(std::vector<uint8_t> &out) const {
    uint8_t *p = append_message(out, kSize);
    store_le64(p, received);
    store_le64(p + 8, challenge);
  }
  static ReuseReply decode(const uint8_t *p) { return ReuseReply{load_le64(p), load_le64(p + 8)}; }
};

// Client -> server, after either reply: LE64(hash64(challenge, secret)).
struct AuthCode {
  static constexpr size_t kSize = 8;
  uint64_t code = 0;

  void encode(std::vector<uint8_t> &out) const { store_le64(append_message(out, kSize), code); }
  static AuthCode decode(const uint8_t *p) { return AuthCode{load_le64(p)}; }
};

// The request a connection opens with, by kind.
constexpr size_t request_size(RequestKind kind) {
  return kind == RequestKind::kNew ? NewRequest::kSize : ReuseRequest::kSize;
}

// Both replies have one size, so a client reads the same number of bytes
// whichever it asked for.
static_assert(NewReply::kSize == ReuseReply::kSize, "the client reads one reply size");
constexpr size_t kReplySize = NewReply::kSize;

// Room for the largest message a handshake has to collect.
constexpr size_t kMaxMessageSize = 16;
static_assert(NewRequest::kSize <= kMaxMessageSize && ReuseRequest::kSize <= kMaxMessageSize &&
                  kReplySize <= kMaxMessageSize && AuthCode::kSize <= kMaxMessageSize,
              "every handshake message fits kMaxMessageSize");
static_assert(kKindSize <= NewRequest::kSize && kKindSize <= ReuseRequest::kSize,
              "the kind is a prefix of every request");

}  // namespace v1
}  // namespace sc

#endif
