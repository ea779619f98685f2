#include "pool/server.h"

#include <algorithm>
#include <climits>

#include "base/bytes.h"
#include "v1/dh64.h"
#include "v1/hash64.h"
#include "v1/stream_cipher.h"
#include "base/failure.h"
#include "base/random.h"
#include "core/resend_buffer.h"

namespace sc {

namespace {

constexpr size_t kNewRequestSize = 16;    // LE64(0), LE64(client public key)
constexpr size_t kReuseRequestSize = 12;  // LE64(recv_count), LE32(fingerprint)
constexpr size_t kAuthSize = 8;           // LE64(hash64(challenge, secret))
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

}  // namespace

// Fields a reuse request reads come first, in one cache line: with 100k
// sessions a lookup should cost one miss in the index and one here.
struct alignas(64) Session {
  Session(int id_, uint64_t secret_, size_t window)
      : resend(window), id(id_), secret(secret_), encoder(secret_), decoder(secret_) {
    fp_cipher = fp_plain = encoder.initial_fingerprint();
    boundaries.push_back(Boundary{fp_cipher, fp_plain});
  }

  uint64_t sent() const { return resend.end(); }

  ResendBuffer resend;         // server->client ciphertext
  int id;
  int fd = -1;                 // -1: detached
  int slot = 0;                // of its hot record
  uint64_t secret;             // the DH shared secret, which auth codes prove
  uint64_t received = 0;       // client->server bytes decrypted
  uint64_t detached_at_ms = kNeverDetached;
  // Cold from here on.
  uint64_t handed_out = 0;     // server->client bytes polled for a socket
  uint64_t skip = 0;           // resent bytes on the new socket that were already received
  uint64_t first_boundary = 0;
  uint32_t fp_cipher;          // running fingerprints of the server->client stream
  uint32_t fp_plain;
  BoundaryRing boundaries;     // at positions first_boundary, +256, ...
  StreamCipher encoder;        // server->client
  StreamCipher decoder;        // client->server
};

struct Server::Handshake {
  enum class Stage : uint8_t { kRequest, kAuth };
  Stage stage = Stage::kRequest;
  bool reuse = false;
  uint8_t have = 0;
  uint8_t buf[16];
  uint64_t started_ms = 0;
  uint64_t secret = 0;       // new connection: the DH shared secret
  uint64_t challenge = 0;
  int session_id = 0;        // reuse: the session the client named
  uint64_t client_received = 0;  // reuse: server->client bytes the client has
  uint64_t told_received = 0;    // reuse: client->server bytes we said we have
};

struct Server::Socket {
  using Kind = SocketKind;
  Kind kind = Kind::kHandshake;
  uint32_t queued_out = 0;  // OUT messages for this fd not yet polled
  int session_id = 0;       // kAttached
  Handshake hs;
};

Server::Server() = default;
Server::~Server() = default;

void Server::set_kind(Socket &sock, Socket::Kind kind) {
  if (sock.kind == Socket::Kind::kHandshake) --handshakes_;
  if (kind == Socket::Kind::kHandshake) ++handshakes_;
  sock.kind = kind;
}

int Server::session_fd(int id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? -1 : it->second->fd;
}

size_t Server::session_held(int id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? 0 : it->second->resend.held();
}

bool Server::session_info(int id, SessionInfo *info) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  const Session &s = *it->second;
  info->fd = s.fd;
  info->held = s.resend.held();
  info->backlog = s.sent() - s.handed_out;
  info->detached_ms = s.fd < 0 ? clock_.now() - s.detached_at_ms : 0;
  info->sent = s.sent();
  info->received = s.received;
  return true;
}

Session *Server::find_session(int id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------- output

void Server::emit(const PoolEvent &e) {
  if (!events_enabled_) return;
  In item{e.id, true, {}, e};
  in_.push_back(std::move(item));
}

std::vector<uint8_t> &Server::out_buffer(int fd) {
  // Consecutive writes to one socket travel as one message.
  if (!out_.empty() && out_.back().fd == fd && !out_.back().close) return out_.back().bytes;
  out_.push_back(Out{fd, false, buffers_.take()});
  auto it = sockets_.find(fd);
  if (it != sockets_.end()) ++it->second.queued_out;
  return out_.back().bytes;
}

void Server::purge_output(int fd) {
  out_.erase_if([fd](const Out &o) { return o.fd == fd; });
  auto it = sockets_.find(fd);
  if (it != sockets_.end()) it->second.queued_out = 0;
}

void Server::close_socket(int fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end() || it->second.kind == Socket::Kind::kClosing) return;
  purge_output(fd);
  out_.push_back(Out{fd, true, {}});  // the only step that can fail: nothing changed yet
  set_kind(it->second, Socket::Kind::kClosing);
  it->second.session_id = 0;
  it->second.queued_out = 1;
}

void Server::refuse(int fd, Reason why) {
  close_socket(fd);
  ++counters_.refused[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kHandshakeRefused;
  e.fd = fd;
  e.reason = why;
  emit(e);
}

void Server::abandon_socket(int fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return;
  switch (it->second.kind) {
    case Socket::Kind::kHandshake:
      refuse(fd, Reason::kNoResources);
      return;
    case Socket::Kind::kAttached:
      if (Session *s = find_session(it->second.session_id)) {
        close_socket(fd);
        detach(*s, fd);
      }
      return;
    case Socket::Kind::kClosing:
      return;
  }
}

Server::Message Server::poll(bool with_events) {
  Message m;
  // A data message left empty by a failed allocation must not read as a close.
  while (!out_.empty() && !out_.front().close && out_.front().bytes.empty()) {
    auto it = sockets_.find(out_.front().fd);
    if (it != sockets_.end() && it->second.queued_out > 0) --it->second.queued_out;
    out_.pop_front();
  }
  buffers_.give(std::move(current_));
  current_.clear();
  if (!out_.empty()) {
    Out &o = out_.front();
    current_ = std::move(o.bytes);
    m.kind = Kind::kOut;
    m.id = o.fd;
    m.data = current_.empty() ? nullptr : current_.data();
    m.size = current_.size();
    auto it = sockets_.find(o.fd);
    if (it != sockets_.end()) {
      if (it->second.queued_out > 0) --it->second.queued_out;
      // Once the close is handed out the pool forgets the fd.
      if (o.close) sockets_.erase(it);
    }
    if (o.session_id) {
      Session *s = find_session(o.session_id);
      if (s && s->fd == o.fd) s->handed_out = std::max(s->handed_out, o.stream_end);
    }
    out_.pop_front();
    return m;
  }
  while (!in_.empty()) {
    In &i = in_.front();
    if (i.is_event) {
      const PoolEvent e = i.event;
      in_.pop_front();
      if (!with_events) continue;
      m.kind = Kind::kEvent;
      m.id = e.id;
      m.event = e;
      return m;
    }
    current_ = std::move(i.bytes);
    m.kind = Kind::kIn;
    m.id = i.id;
    m.data = current_.data();
    m.size = current_.size();
    in_.pop_front();
    return m;
  }
  return m;
}

// ---------------------------------------------------------------- input

Server::Socket &Server::new_socket(int fd) {
  Socket &sock = sockets_[fd];
  sock = Socket{};
  sock.hs.started_ms = clock_.now();
  ++handshakes_;
  return sock;
}

void Server::receive(int fd, const uint8_t *data, size_t n) {
  if (n == 0 || fd < 0) return;  // -1 marks "no socket" inside the pool
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) {
    Socket &sock = new_socket(fd);
    if (max_handshakes_ > 0 && handshakes_ > max_handshakes_) {
      refuse(fd, Reason::kTooManyHandshakes);
      return;
    }
    feed_handshake(fd, sock, data, n);
    return;
  }
  Socket &sock = it->second;
  switch (sock.kind) {
    case Socket::Kind::kClosing:
      return;  // the pool already gave up on this socket
    case Socket::Kind::kAttached:
      if (Session *s = find_session(sock.session_id)) feed_session(*s, data, n);
      return;
    case Socket::Kind::kHandshake:
      feed_handshake(fd, sock, data, n);
      return;
  }
}

void Server::socket_closed(int fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return;
  const bool attached = it->second.kind == Socket::Kind::kAttached;
  const int id = it->second.session_id;
  purge_output(fd);
  set_kind(it->second, Socket::Kind::kClosing);
  sockets_.erase(it);
  if (attached) {
    if (Session *s = find_session(id)) detach(*s, fd);
  }
}

void Server::feed_handshake(int fd, Socket &sock, const uint8_t *data, size_t n) {
  // The client sends nothing until it has read our answer, which cannot have
  // happened while the answer is still queued here: such a peer is not
  // following the protocol.
  if (sock.queued_out > 0) {
    refuse(fd, Reason::kMalformed);
    return;
  }
  Handshake &hs = sock.hs;
  if (hs.stage == Handshake::Stage::kRequest) {
    if (!read_request(sock, data, n, fd)) return;
    if (hs.reuse)
      answer_reuse(fd, sock);
    else
      answer_new(fd, sock);
    return;
  }
  const size_t take = std::min(n, kAuthSize - hs.have);
  std::copy(data, data + take, hs.buf + hs.have);
  hs.have = static_cast<uint8_t>(hs.have + take);
  data += take;
  n -= take;
  if (hs.have < kAuthSize) return;
  if (hs.reuse)
    finish_reuse(fd, sock, data, n);
  else
    finish_new(fd, sock, data, n);
}

// Buffers the first request; true once it is complete. Closes the socket
// (and returns false) when the client sent more than the request.
bool Server::read_request(Socket &sock, const uint8_t *&data, size_t &n, int fd) {
  Handshake &hs = sock.hs;
  // The first 8 bytes tell the kind: LE64(0) opens a new session.
  if (hs.have < 8) {
    const size_t take = std::min(n, size_t{8} - hs.have);
    std::copy(data, data + take, hs.buf + hs.have);
    hs.have = static_cast<uint8_t>(hs.have + take);
    data += take;
    n -= take;
    if (hs.have < 8) return false;
    hs.reuse = load_le64(hs.buf) != 0;
  }
  const size_t size = hs.reuse ? kReuseRequestSize : kNewRequestSize;
  if (hs.have + n > size) {
    refuse(fd, Reason::kMalformed);
    return false;
  }
  std::copy(data, data + n, hs.buf + hs.have);
  hs.have = static_cast<uint8_t>(hs.have + n);
  data += n;
  n = 0;
  return hs.have == size;
}

void Server::answer_new(int fd, Socket &sock) {
  Handshake &hs = sock.hs;
  uint64_t client_public = load_le64(hs.buf + 8);
  if (client_public == 0) client_public = 1;
  const uint64_t private_key = random_nonzero_u64(RandomSide::kServer);
  hs.challenge = random_u64(RandomSide::kServer);
  hs.secret = dh64::shared_secret(client_public, private_key);
  hs.stage = Handshake::Stage::kAuth;
  hs.have = 0;
  std::vector<uint8_t> &out = out_buffer(fd);
  append_le64(out, dh64::public_key(private_key));
  append_le64(out, hs.challenge);
}

void Server::answer_reuse(int fd, Socket &sock) {
  Handshake &hs = sock.hs;
  const uint64_t client_received = load_le64(hs.buf);
  const uint32_t fp = load_le32(hs.buf + 8);
  Reason why = Reason::kUnknownSession;
  const int slot = find_reusable(client_received, fp, &why);
  if (!slot) {
    refuse(fd, why);
    return;
  }
  hs.challenge = random_u64(RandomSide::kServer);
  // Only the hot record is read: the session itself stays out of the cache
  // until the client proves it owns it.
  const HotRecord &h = hot_[static_cast<size_t>(slot)];
  hs.session_id = h.id;
  hs.client_received = client_received;
  hs.told_received = h.received;
  hs.stage = Handshake::Stage::kAuth;
  hs.have = 0;
  std::vector<uint8_t> &out = out_buffer(fd);
  append_le64(out, hs.told_received);
  append_le64(out, hs.challenge);
}

void Server::finish_new(int fd, Socket &sock, const uint8_t *data, size_t n) {
  const Handshake &hs = sock.hs;
  if (!codes_equal(load_le64(hs.buf), hash64(hs.challenge, hs.secret))) {
    refuse(fd, Reason::kBadAuth);
    return;
  }
  const int id = allocate_id();
  auto session = std::make_unique<Session>(id, hs.secret, window_);
  Session &s = *session;
  const int slot = take_slot(s);
  SC_TRY {
    sessions_.emplace(id, std::move(session));
  } SC_CATCH_ALL {
    release_slot(slot);  // the session itself may be gone with the failed node
    SC_RETHROW;
  }
  index_.insert(0, s.fp_cipher, s.slot);
  attach(s, fd, sock);
  ++counters_.sessions_opened;
  PoolEvent e;
  e.type = PoolEventType::kSessionOpened;
  e.id = id;
  e.fd = fd;
  emit(e);
  if (n > 0) feed_session(s, data, n);
}

void Server::finish_reuse(int fd, Socket &sock, const uint8_t *data, size_t n) {
  const Handshake hs = sock.hs;
  Session *s = find_session(hs.session_id);
  // The session may have ended, or sent so much since the request that the
  // bytes the client misses are gone: either way it cannot resume.
  if (!s) {
    refuse(fd, Reason::kUnknownSession);
    return;
  }
  if (!codes_equal(load_le64(hs.buf), hash64(hs.challenge, s->secret))) {
    refuse(fd, Reason::kBadAuth);
    return;
  }
  if (!s->resend.holds_from(hs.client_received)) {
    refuse(fd, Reason::kWindowExceeded);
    return;
  }
  PoolEvent e;
  e.type = PoolEventType::kSessionResumed;
  e.id = s->id;
  e.fd = fd;
  e.old_fd = s->fd;
  e.detached_ms = s->fd < 0 ? clock_.now() - s->detached_at_ms : 0;
  if (s->fd >= 0) close_socket(s->fd);
  attach(*s, fd, sock);
  // The old socket may have delivered more after we answered; the client
  // resends from what we told it, so that overlap must not be decrypted twice.
  s->skip = s->received - hs.told_received;
  s->handed_out = hs.client_received;
  const ResendBuffer::Span missed = s->resend.range_from(hs.client_received);
  const uint64_t resent = missed.first_size + missed.second_size;
  if (resent > 0) {
    std::vector<uint8_t> &out = out_buffer(fd);
    out.insert(out.end(), missed.first, missed.first + missed.first_size);
    out.insert(out.end(), missed.second, missed.second + missed.second_size);
    out_.back().session_id = s->id;
    out_.back().stream_end = s->sent();
  }
  ++counters_.reuses;
  counters_.bytes_resent += resent;
  e.resent_bytes = resent;
  emit(e);
  if (n > 0) feed_session(*s, data, n);
}

void Server::feed_session(Session &s, const uint8_t *data, size_t n) {
  if (s.skip > 0) {
    const size_t drop = static_cast<size_t>(std::min<uint64_t>(s.skip, n));
    s.skip -= drop;
    data += drop;
    n -= drop;
    if (n == 0) return;
  }
  std::vector<uint8_t> *dst;
  if (!in_.empty() && !in_.back().is_event && in_.back().id == s.id) {
    dst = &in_.back().bytes;
  } else {
    in_.push_back(In{s.id, false, buffers_.take(), PoolEvent{}});
    dst = &in_.back().bytes;
  }
  const size_t at = dst->size();
  dst->resize(at + n);
  s.decoder.apply(data, dst->data() + at, n);
  s.received += n;
  if (s.slot) hot_[static_cast<size_t>(s.slot)].received = s.received;
  counters_.bytes_in += n;
}

// ---------------------------------------------------------------- sessions

int Server::allocate_id() {
  if (sessions_.size() >= static_cast<size_t>(INT_MAX - 1)) resource_failure("no free session id");
  for (;;) {
    const int id = next_id_;
    next_id_ = id >= INT_MAX - 1 ? 1 : id + 1;
    if (!sessions_.count(id)) return id;
  }
}

void Server::attach(Session &s, int fd, Socket &sock) {
  if (s.fd < 0 && s.detached_at_ms != kNeverDetached) --detached_;
  s.fd = fd;
  set_kind(sock, Socket::Kind::kAttached);
  sock.session_id = s.id;
}

void Server::detach(Session &s, int fd) {
  s.fd = -1;
  ++detached_;
  s.detached_at_ms = clock_.now();
  s.skip = 0;
  ++counters_.detaches;
  PoolEvent e;
  e.type = PoolEventType::kSessionDetached;
  e.id = s.id;
  e.fd = fd;
  emit(e);
  check_backlog(s);
}

// A detached session whose client misses bytes that are no longer held can
// never resume: end it now rather than when the client comes back.
void Server::check_backlog(Session &s) {
  if (s.fd < 0 && !s.resend.holds_from(s.handed_out)) free_session(s.id, Reason::kBacklog);
}

int Server::find_reusable(uint64_t recv_count, uint32_t fp, Reason *why) {
  // Entries leave the index when their boundary leaves the window, so a match
  // names a session that recorded `fp` at `boundary`; it only remains to see
  // whether it still holds what the client misses. Two sessions may share a
  // 32-bit fingerprint at one position: one of them is picked at random, so a
  // client turned away by a wrong pick succeeds on a later attempt.
  const uint64_t boundary = recv_count - recv_count % kBoundary;
  int candidates[8];
  size_t count = 0;
  index_.find(boundary, fp, [&](int slot) {
    const HotRecord &h = hot_[static_cast<size_t>(slot)];
    if (recv_count > h.sent || recv_count < h.sent - h.held) {
      *why = Reason::kWindowExceeded;
      return false;
    }
    candidates[count++] = slot;
    return count == 8;
  });
  if (count == 0) return 0;
  return count == 1 ? candidates[0] : candidates[random_u64(RandomSide::kServer) % count];
}

int Server::take_slot(Session &s) {
  if (free_slots_.empty()) {
    // Room for every slot on the free list first, so release_slot() never
    // allocates; then the new record. Either may throw, changing nothing
    // that matters.
    free_slots_.reserve(hot_.size() + 2);
    if (hot_.empty()) hot_.emplace_back();  // slot 0: "no entry" in the index
    hot_.emplace_back();
    s.slot = static_cast<int>(hot_.size() - 1);
  } else {
    s.slot = free_slots_.back();
    free_slots_.pop_back();
  }
  HotRecord &h = hot_[static_cast<size_t>(s.slot)];
  h = HotRecord{};
  h.id = s.id;
  sync_hot(s);
  return s.slot;
}

void Server::release_slot(int slot) {
  if (slot <= 0) return;
  hot_[static_cast<size_t>(slot)] = HotRecord{};
  free_slots_.push_back(slot);
}

void Server::sync_hot(const Session &s) {
  if (s.slot == 0) return;
  HotRecord &h = hot_[static_cast<size_t>(s.slot)];
  h.received = s.received;
  h.sent = s.sent();
  h.held = static_cast<uint32_t>(s.resend.held());
}

void Server::record_boundary(Session &s) {
  const uint64_t pos = s.first_boundary + s.boundaries.size() * kBoundary;
  s.boundaries.push_back(Boundary{s.fp_cipher, s.fp_plain});
  index_.insert(pos, s.fp_cipher, s.slot);
  if (s.fp_plain != s.fp_cipher) index_.insert(pos, s.fp_plain, s.slot);
}

void Server::unindex_boundary(Session &s, size_t k) {
  const uint64_t pos = s.first_boundary + k * kBoundary;
  const Boundary &b = s.boundaries[k];
  index_.erase(pos, b.cipher, s.slot);
  if (b.plain != b.cipher) index_.erase(pos, b.plain, s.slot);
}

void Server::trim_boundaries(Session &s) {
  // A reuse request names the boundary at or below its position, and only
  // positions from resend.begin() on can be resumed.
  const uint64_t lowest = s.resend.begin() - s.resend.begin() % kBoundary;
  while (s.first_boundary < lowest && s.boundaries.size() > 0) {
    unindex_boundary(s, 0);
    s.boundaries.pop_front();
    s.first_boundary += kBoundary;
  }
}

void Server::free_session(int id, Reason why) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session &s = *it->second;
  if (s.fd >= 0)
    close_socket(s.fd);
  else if (s.detached_at_ms != kNeverDetached)
    --detached_;
  for (size_t k = 0; k < s.boundaries.size(); ++k) unindex_boundary(s, k);
  counters_.bytes_held -= s.resend.held();
  release_slot(s.slot);
  sessions_.erase(it);
  ++counters_.closed[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kSessionClosed;
  e.id = id;
  e.reason = why;
  emit(e);
}

void Server::send(int id, const uint8_t *data, size_t n) {
  Session *s = find_session(id);
  if (!s || n == 0 || !data) return;
  scratch_.clear();
  std::vector<uint8_t> &out = s->fd >= 0 ? out_buffer(s->fd) : scratch_;
  const size_t at = out.size();
  out.resize(at + n);
  uint8_t *cipher = out.data() + at;
  const size_t held_before = s->resend.held();
  // Encrypt in pieces that end on 256-byte boundaries of the stream, where
  // both fingerprints are recorded.
  for (size_t done = 0; done < n;) {
    const uint64_t pos = s->sent();
    const size_t room = static_cast<size_t>(kBoundary - pos % kBoundary);
    const size_t chunk = std::min(room, n - done);
    s->encoder.apply(data + done, cipher + done, chunk, &s->fp_plain, &s->fp_cipher);
    s->resend.append(cipher + done, chunk);
    done += chunk;
    if (s->sent() % kBoundary == 0) {
      record_boundary(*s);
      trim_boundaries(*s);
    }
  }
  trim_boundaries(*s);
  counters_.bytes_out += n;
  counters_.bytes_held += s->resend.held() - held_before;
  sync_hot(*s);
  if (s->fd >= 0) {
    out_.back().session_id = id;
    out_.back().stream_end = s->sent();
  } else {
    check_backlog(*s);
  }
}

void Server::close_session(int id) { free_session(id, Reason::kByApplication); }

void Server::abandon_session(int id) { free_session(id, Reason::kNoResources); }

void Server::timeout() {
  const uint64_t now = clock_.now();
  std::vector<int> overdue;
  for (const auto &kv : sockets_) {
    if (kv.second.kind == Socket::Kind::kHandshake && now - kv.second.hs.started_ms > handshake_timeout_ms_)
      overdue.push_back(kv.first);
  }
  for (int fd : overdue) refuse(fd, Reason::kTimedOut);
  if (reuse_timeout_ms_ == 0) return;
  std::vector<int> expired;
  for (const auto &kv : sessions_) {
    const Session &s = *kv.second;
    if (s.fd < 0 && now - s.detached_at_ms > reuse_timeout_ms_) expired.push_back(kv.first);
  }
  for (int id : expired) free_session(id, Reason::kExpired);
}

}  // namespace sc
