// Protocol version 2 on the wire: the preamble that tells the versions apart,
// the size and layout of every handshake message and its payload, the status
// byte, records and frames. One encoder and one decoder for each, used by the
// pool's and the client's state machines alike; docs/PROTOCOL-V2.md describes
// them byte by byte, and no size written here appears anywhere else.
//
//   new session  client: preamble, kNew, Noise NK message 1 (NewRequestPayload)
//                server: status, Noise NK message 2 (NewAnswerPayload)
//   resume       client: preamble, kResume, session id, NNpsk0 message 1 (ResumePayload)
//                server: status, NNpsk0 message 2 (ResumePayload)
//   then         records both ways: LE16 len | AEAD(frames)
#ifndef SC_V2_WIRE_H
#define SC_V2_WIRE_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/bytes.h"
#include "noise/noise.h"

namespace sc {
namespace v2 {

// ---------------------------------------------------------------- the preamble

constexpr size_t kPreambleSize = 8;
constexpr uint8_t kVersion = 2;
constexpr size_t kVersionOffset = 5;
// "SCONN", version, reserved 0, 0xFF.
constexpr uint8_t kPreamble[kPreambleSize] = {0x53, 0x43, 0x4F, 0x4E, 0x4E, kVersion, 0x00, 0xFF};

// What the first 8 bytes of a connection ask for.
enum class FirstBytes {
  kV1New,         // LE64(0): a version 1 new connection
  kV1Reuse,       // anything else outside the family: a version 1 reuse request
  kV2,            // this family, version 2
  kOtherVersion,  // this family, a version this library does not speak (1 included)
};

// `first` holds kPreambleSize bytes.
inline FirstBytes classify(const uint8_t *first) {
  if (load_le64(first) == 0) return FirstBytes::kV1New;
  for (size_t k = 0; k < kPreambleSize; ++k)
    if (k != kVersionOffset && first[k] != kPreamble[k]) return FirstBytes::kV1Reuse;
  return first[kVersionOffset] == kVersion ? FirstBytes::kV2 : FirstBytes::kOtherVersion;
}

constexpr size_t kKindOffset = kPreambleSize;
constexpr size_t kKindSize = 1;
enum class Kind : uint8_t { kNew = 0x01, kResume = 0x02 };

// ---------------------------------------------------------------- sessions

constexpr size_t kSessionIdSize = 16;
constexpr size_t kServerIdSize = 2;
constexpr size_t kSessionIdRandomSize = kSessionIdSize - kServerIdSize;
constexpr size_t kResumeSecretSize = noise::kPskSize;
constexpr size_t kSessionIdOffset = kKindOffset + kKindSize;  // in a resume request

struct SessionId {
  std::array<uint8_t, kSessionIdSize> bytes{};

  uint16_t server_id() const { return load_le16(bytes.data()); }
  static SessionId make(uint16_t server_id, const uint8_t random[kSessionIdRandomSize]) {
    SessionId id;
    store_le16(id.bytes.data(), server_id);
    std::memcpy(id.bytes.data() + kServerIdSize, random, kSessionIdRandomSize);
    return id;
  }
  bool operator==(const SessionId &o) const { return bytes == o.bytes; }
  bool operator!=(const SessionId &o) const { return bytes != o.bytes; }
};

// Each side's window: the most application bytes it keeps in flight.
constexpr uint32_t kMinWindow = 4096;
constexpr uint32_t kMaxWindow = 1u << 30;
inline bool window_in_range(uint64_t w) { return w >= kMinWindow && w <= kMaxWindow; }

// ---------------------------------------------------------------- handshake payloads

// Client -> server in a new-session request: LE32 window, LE32 flags.
struct NewRequestPayload {
  static constexpr size_t kSize = 8;
  uint32_t window = 0;
  uint32_t flags = 0;

  void encode(uint8_t *p) const {
    store_le32(p, window);
    store_le32(p + 4, flags);
  }
  static NewRequestPayload decode(const uint8_t *p) { return NewRequestPayload{load_le32(p), load_le32(p + 4)}; }
};

// Server -> client in a new-session answer: session id, resume secret, LE32
// window, LE32 flags.
struct NewAnswerPayload {
  static constexpr size_t kSize = kSessionIdSize + kResumeSecretSize + 8;
  SessionId id;
  uint8_t resume_secret[kResumeSecretSize] = {};
  uint32_t window = 0;
  uint32_t flags = 0;

  void encode(uint8_t *p) const {
    std::memcpy(p, id.bytes.data(), kSessionIdSize);
    std::memcpy(p + kSessionIdSize, resume_secret, kResumeSecretSize);
    store_le32(p + kSessionIdSize + kResumeSecretSize, window);
    store_le32(p + kSessionIdSize + kResumeSecretSize + 4, flags);
  }
  static NewAnswerPayload decode(const uint8_t *p) {
    NewAnswerPayload a;
    std::memcpy(a.id.bytes.data(), p, kSessionIdSize);
    std::memcpy(a.resume_secret, p + kSessionIdSize, kResumeSecretSize);
    a.window = load_le32(p + kSessionIdSize + kResumeSecretSize);
    a.flags = load_le32(p + kSessionIdSize + kResumeSecretSize + 4);
    return a;
  }
};

// Both resume messages carry one count: LE64 received.
struct ResumePayload {
  static constexpr size_t kSize = 8;
  uint64_t received = 0;

  void encode(uint8_t *p) const { store_le64(p, received); }
  static ResumePayload decode(const uint8_t *p) { return ResumePayload{load_le64(p)}; }
};

// The prologue of each handshake is the connection's first bytes up to the
// Noise message: preamble and kind, and for a resume the session id.
constexpr size_t kNewPrologueSize = kPreambleSize + kKindSize;
constexpr size_t kResumePrologueSize = kNewPrologueSize + kSessionIdSize;

constexpr size_t kNewRequestSize = kNewPrologueSize + noise::HandshakeState::message_size(NewRequestPayload::kSize);
constexpr size_t kResumeRequestSize = kResumePrologueSize + noise::HandshakeState::message_size(ResumePayload::kSize);
// The largest request: a connection that sends more before its answer is closed.
constexpr size_t kMaxRequestSize = kResumeRequestSize;

// Writes the prologue of a request (its first bytes); `p` has room for
// kResumePrologueSize bytes. Returns its size.
inline size_t write_prologue(uint8_t *p, Kind kind, const SessionId *id) {
  std::memcpy(p, kPreamble, kPreambleSize);
  p[kKindOffset] = static_cast<uint8_t>(kind);
  if (kind == Kind::kNew) return kNewPrologueSize;
  std::memcpy(p + kSessionIdOffset, id->bytes.data(), kSessionIdSize);
  return kResumePrologueSize;
}

// ---------------------------------------------------------------- the status byte

constexpr size_t kStatusSize = 1;
enum class Status : uint8_t {
  kAccepted = 0x00,
  kNotSupported = 0x01,
  kBusy = 0x02,
  kUnknownSession = 0x03,
  kRejected = 0x04,
};
// Any value the contract does not define reads as kRejected.
inline Status status_from_byte(uint8_t b) { return b <= 0x04 ? static_cast<Status>(b) : Status::kRejected; }

constexpr size_t kNewAnswerSize = kStatusSize + noise::HandshakeState::message_size(NewAnswerPayload::kSize);
constexpr size_t kResumeAnswerSize = kStatusSize + noise::HandshakeState::message_size(ResumePayload::kSize);

// ---------------------------------------------------------------- records

// LE16 len | ciphertext[len], the length bytes being the AEAD's associated data.
constexpr size_t kRecordHeaderSize = 2;
constexpr size_t kMinRecordLen = noise::kTagSize + 1;
constexpr size_t kMaxRecordLen = 65535;
constexpr size_t kMaxRecordPlaintext = kMaxRecordLen - noise::kTagSize;
constexpr size_t kMaxRecordSize = kRecordHeaderSize + kMaxRecordLen;

enum class FrameType : uint8_t { kData = 0x01, kAck = 0x02, kPing = 0x03, kPong = 0x04, kClose = 0x05 };

constexpr size_t kFrameTypeSize = 1;
constexpr size_t kDataHeaderSize = kFrameTypeSize + 2;  // type, LE16 n
constexpr size_t kAckSize = kFrameTypeSize + 8;         // type, LE64 received
constexpr size_t kPingSize = kFrameTypeSize + 8;        // type, LE64 token
constexpr size_t kPongSize = kPingSize;
constexpr size_t kCloseSize = kFrameTypeSize + 2;  // type, LE16 reason
constexpr size_t kMaxDataPerFrame = kMaxRecordPlaintext - kDataHeaderSize;

// Frame writers: each writes its frame at `p` and returns its size.
inline size_t write_data_header(uint8_t *p, size_t n) {
  p[0] = static_cast<uint8_t>(FrameType::kData);
  store_le16(p + 1, static_cast<uint16_t>(n));
  return kDataHeaderSize;
}
inline size_t write_ack(uint8_t *p, uint64_t received) {
  p[0] = static_cast<uint8_t>(FrameType::kAck);
  store_le64(p + 1, received);
  return kAckSize;
}
inline size_t write_ping(uint8_t *p, uint64_t token) {
  p[0] = static_cast<uint8_t>(FrameType::kPing);
  store_le64(p + 1, token);
  return kPingSize;
}
inline size_t write_pong(uint8_t *p, uint64_t token) {
  p[0] = static_cast<uint8_t>(FrameType::kPong);
  store_le64(p + 1, token);
  return kPongSize;
}
inline size_t write_close(uint8_t *p, uint16_t reason) {
  p[0] = static_cast<uint8_t>(FrameType::kClose);
  store_le16(p + 1, reason);
  return kCloseSize;
}

// One decoded frame. `value` is the ACK's count, the PING's or PONG's token,
// or the CLOSE's reason; `data`/`n` the DATA frame's bytes.
struct Frame {
  FrameType type = FrameType::kData;
  uint64_t value = 0;
  const uint8_t *data = nullptr;
  size_t n = 0;
};

// Reads the frames of one verified record's plaintext in order. A record is
// atomic: its reader is run to the end (kEnd) before anything in it is acted
// on, and any kError makes the whole record a protocol error.
class FrameReader {
 public:
  enum class Result { kFrame, kEnd, kError };

  FrameReader(const uint8_t *p, size_t n) : p_(p), end_(p + n) {}

  Result next(Frame &f) {
    if (p_ == end_) return Result::kEnd;
    if (closed_) return Result::kError;  // nothing may follow a CLOSE
    const size_t left = static_cast<size_t>(end_ - p_);
    f = Frame{};
    switch (p_[0]) {
      case static_cast<uint8_t>(FrameType::kData):
        if (left < kDataHeaderSize) return Result::kError;
        f.type = FrameType::kData;
        f.n = load_le16(p_ + 1);
        if (f.n == 0 || left - kDataHeaderSize < f.n) return Result::kError;
        f.data = p_ + kDataHeaderSize;
        p_ += kDataHeaderSize + f.n;
        return Result::kFrame;
      case static_cast<uint8_t>(FrameType::kAck):
      case static_cast<uint8_t>(FrameType::kPing):
      case static_cast<uint8_t>(FrameType::kPong):
        if (left < kAckSize) return Result::kError;
        f.type = static_cast<FrameType>(p_[0]);
        f.value = load_le64(p_ + 1);
        p_ += kAckSize;
        return Result::kFrame;
      case static_cast<uint8_t>(FrameType::kClose):
        if (left < kCloseSize) return Result::kError;
        f.type = FrameType::kClose;
        f.value = load_le16(p_ + 1);
        p_ += kCloseSize;
        closed_ = true;
        return Result::kFrame;
      default:
        return Result::kError;  // an unknown frame type
    }
  }

 private:
  const uint8_t *p_;
  const uint8_t *end_;
  bool closed_ = false;
};

}  // namespace v2
}  // namespace sc

#endif
