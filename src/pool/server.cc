#include "pool/server.h"

#include <algorithm>

#include "base/copy.h"
#include "base/failure.h"
#ifdef SC_WITH_V2
#include "base/random.h"
#include "crypto/primitives.h"
#endif

namespace sc {

namespace {

// What the byte budget counts for each session and each socket in the
// handshake besides the bytes held for resending: the records themselves and
// their share of the tables that find them.
constexpr uint64_t kSessionCost = sizeof(Session) + 128;
constexpr uint64_t kHandshakeCost = sizeof(Socket) + 64;

}  // namespace

// The pool as a handshake on socket `fd` sees it.
class Server::HandshakeHost final : public v1::ServerHandshakeHost {
 public:
  HandshakeHost(Server &server, int fd) : server_(server), fd_(fd) {}
  std::vector<uint8_t> &answer_buffer() override { return server_.out_buffer(fd_); }
  Target find_session(const v1::ReuseRequest &request, Reason *why) override {
    const SessionTable::Candidate c = server_.sessions_.find_reusable(request.received, request.fingerprint, why);
    return Target{c.id, c.received};
  }
  Reason admit_new_session() override {
    const bool full = server_.over_session_cap() || server_.over_bytes(kSessionCost);
    return full && !server_.sessions_.longest_detached() ? Reason::kPoolFull : Reason::kNone;
  }
  bool session_secret(int id, uint64_t *secret) override {
    const Session *s = server_.sessions_.find(id);
    if (!s) return false;
    *secret = s->secret;
    return true;
  }

 private:
  Server &server_;
  int fd_;
};

Server::Server() = default;
Server::~Server() = default;  // the static key object wipes itself

bool Server::set_static_key(const uint8_t *key) {
#ifdef SC_WITH_V2
  crypto::DhKey k;
  if (!k.set(key)) return false;  // the library cannot use it; the old key stays
  static_key_ = std::move(k);
  has_key_ = true;
  // Version 2 from now on, unless the application chose the versions.
  if (!versions_chosen_) accept_v2_ = true;
  return true;
#else
  (void)key;
  return false;
#endif
}

bool Server::set_versions(bool v1, bool v2) {
  if (!v1 && !v2) return false;
#ifdef SC_WITH_V2
  if (v2 && !has_key_) return false;
#else
  if (v2) return false;
#endif
  accept_v1_ = v1;
  accept_v2_ = v2;
  versions_chosen_ = true;
  return true;
}

bool Server::accepts_v2() const {
#ifdef SC_WITH_V2
  return has_key_ && accept_v2_;
#else
  return false;
#endif
}

size_t Server::v2_session_count() const {
#ifdef SC_WITH_V2
  return v2_ids_.size();
#else
  return 0;
#endif
}

int Server::session_fd(int id) const {
  const Session *s = sessions_.find(id);
  return s ? s->fd : -1;
}

size_t Server::session_held(int id) const {
  const Session *s = sessions_.find(id);
  if (!s) return 0;
#ifdef SC_WITH_V2
  if (s->v2) return static_cast<size_t>(s->v2->streams.out.held());
#endif
  return s->out.held();
}

bool Server::session_info(int id, SessionInfo *info) const {
  const Session *s = sessions_.find(id);
  if (!s) return false;
  info->fd = s->fd;
  info->held = s->out.held();
  info->backlog = s->out.backlog();
  info->detached_ms = s->attached() ? 0 : clock_.now() - s->detached_at_ms;
  info->sent = s->sent();
  info->received = s->received;
  info->version = version_of(*s);
#ifdef SC_WITH_V2
  if (s->v2) {
    const v2::Streams &st = s->v2->streams;
    info->confirmed = s->v2->confirmed;
    info->acked = st.out.acked();
    std::memcpy(info->sid, s->v2->sid.bytes.data(), sizeof info->sid);
    info->held = st.out.held();
    info->backlog = st.out.backlog();
    info->sent = st.out.sent();
    info->received = st.in.received;
  }
#endif
  return true;
}

// ---------------------------------------------------------------- output

void Server::emit(const PoolEvent &e) {
  if (events_enabled_) queue_.push_event(e.id, e);
}

std::vector<uint8_t> &Server::out_buffer(int fd) {
  // Consecutive writes to one socket travel as one message.
  bool created = false;
  std::vector<uint8_t> &bytes = queue_.output_for(fd, &created);
  if (created) {
    if (Socket *sock = sockets_.find(fd)) {
      ++sock->queued_out;
      queue_.last_output().counted = true;
    }
  }
  return bytes;
}

void Server::mark_stream_end(const Session &s) {
  OutMessage &last = queue_.last_output();
  last.session_id = s.id;
  last.stream_end = s.sent();
}

void Server::purge_output(int fd) {
  queue_.drop_output_if([fd](const OutMessage &o) { return o.fd == fd; });
  if (Socket *sock = sockets_.find(fd)) sock->queued_out = 0;
}

void Server::close_socket(int fd) {
  Socket *sock = sockets_.find(fd);
  if (!sock || sock->kind == SocketKind::kClosing) return;
  purge_output(fd);
  queue_.push_close(fd);  // the only step that can fail: nothing changed yet
  sockets_.set_kind(*sock, SocketKind::kClosing);
  sock->session_id = 0;
  sock->queued_out = 1;
}

void Server::refuse(int fd, Reason why) {
  const Socket *sock = sockets_.find(fd);
  const int version = sock ? sock->version : 0;
  close_socket(fd);
  ++counters_.refused[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kHandshakeRefused;
  e.version = version;
  e.fd = fd;
  e.reason = why;
  emit(e);
}

void Server::close_after_output(int fd) {
  Socket *sock = sockets_.find(fd);
  if (!sock || sock->kind == SocketKind::kClosing) return;
  queue_.push_close(fd);
  sockets_.set_kind(*sock, SocketKind::kClosing);
  sock->session_id = 0;
  ++sock->queued_out;
}

void Server::refuse_after_answer(int fd, Reason why) {
  const Socket *sock = sockets_.find(fd);
  const int version = sock ? sock->version : 0;  // 2, or the unknown version asked for
  close_after_output(fd);
  ++counters_.refused[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kHandshakeRefused;
  e.version = version;
  e.fd = fd;
  e.reason = why;
  emit(e);
}

void Server::drop_pending(int fd, Socket &sock) {
#ifdef SC_WITH_V2
  // A new session answered here loses its socket before its first record:
  // it waits, unconfirmed, for a resume within the handshake timeout.
  if (sock.pending_new) {
    sock.pending_new = false;
    if (Session *s = sessions_.find(sock.session_id)) {
      if (s->fd == fd) detach(*s, fd);
    }
  }
#else
  (void)fd;
  (void)sock;
#endif
}

void Server::abandon_socket(int fd) {
  Socket *sock = sockets_.find(fd);
  if (!sock) return;
  switch (sock->kind) {
    case SocketKind::kHandshake:
      drop_pending(fd, *sock);
      refuse(fd, Reason::kNoResources);
      return;
    case SocketKind::kAttached:
      if (Session *s = sessions_.find(sock->session_id)) {
        close_socket(fd);
        detach(*s, fd);
      }
      return;
    case SocketKind::kClosing:
      return;
  }
}

Server::Message Server::poll(bool with_events) {
#ifdef SC_WITH_V2
  if (!pending_writes_.empty()) flush_v2_writes();
#endif
  return queue_.poll(with_events, [this](const OutMessage &o, bool handed_out) {
    // A close is always counted.
    Socket *sock = o.counted || o.close ? sockets_.find(o.fd) : nullptr;
    if (sock && sock->queued_out > 0) --sock->queued_out;
    if (!handed_out) return;
    // Once the close is handed out the pool forgets the fd.
    if (sock && o.close) sockets_.erase(o.fd);
    if (o.session_id) {
      Session *s = sessions_.find(o.session_id);
      if (s && s->fd == o.fd) s->out.handed_out_to(o.stream_end);
    }
  });
}

// ---------------------------------------------------------------- budget

void Server::set_max_sessions(size_t n) {
  sessions_.track_detach_order(n > 0 || max_bytes_ > 0);
  max_sessions_ = n;
}

void Server::set_max_bytes(uint64_t bytes) {
  sessions_.track_detach_order(bytes > 0 || max_sessions_ > 0);
  max_bytes_ = bytes;
}

uint64_t Server::footprint() const {
  return counters_.bytes_held + sessions_.size() * kSessionCost + sockets_.handshakes() * kHandshakeCost;
}

void Server::evict_for_bytes(uint64_t extra) {
  while (over_bytes(extra)) {
    Session *oldest = sessions_.longest_detached();
    if (!oldest) return;
    free_session(oldest->id, Reason::kEvicted);
  }
}

bool Server::make_room_for_session() {
  while (over_session_cap()) {
    Session *oldest = sessions_.longest_detached();
    if (!oldest) return false;
    free_session(oldest->id, Reason::kEvicted);
  }
  evict_for_bytes(kSessionCost);
  return !over_bytes(kSessionCost);
}

Socket *Server::admit_socket(int fd) {
  Socket &sock = sockets_.open(fd, clock_.now());
  if (over_handshake_cap()) {
    // Version 2 answers "busy" once the whole request is in, so a pool that
    // speaks it waits for the first bytes before refusing.
    if (!accepts_v2()) {
      refuse(fd, Reason::kTooManyHandshakes);
      return nullptr;
    }
    sock.over_cap = true;
  }
  if (max_bytes_ > 0) {
    // The new socket is counted already.
    evict_for_bytes(0);
    if (over_bytes(0)) {
      refuse(fd, Reason::kPoolFull);
      return nullptr;
    }
  }
  return &sock;
}

void Server::socket_opened(int fd) {
  if (fd < 0) return;
  if (sockets_.find(fd)) socket_closed(fd);
  admit_socket(fd);
}

// ---------------------------------------------------------------- input

void Server::receive(int fd, const uint8_t *data, size_t n) {
  if (n == 0 || fd < 0) return;  // -1 marks "no socket" inside the pool
  Socket *sock = sockets_.find(fd);
  if (!sock) {
    Socket *fresh = admit_socket(fd);
    if (fresh) feed_handshake(fd, *fresh, data, n);
    return;
  }
  switch (sock->kind) {
    case SocketKind::kClosing:
      return;  // the pool already gave up on this socket
    case SocketKind::kAttached:
#ifdef SC_WITH_V2
      if (sock->link) {
        feed_link(fd, *sock, data, n);
        return;
      }
#endif
      if (Session *s = sessions_.find(sock->session_id)) feed_session(*s, data, n);
      return;
    case SocketKind::kHandshake:
#ifdef SC_WITH_V2
      if (sock->link) {
        feed_link(fd, *sock, data, n);
        return;
      }
#endif
      feed_handshake(fd, *sock, data, n);
      return;
  }
}

void Server::socket_closed(int fd) {
  Socket *sock = sockets_.find(fd);
  if (!sock) return;
  if (sock->kind == SocketKind::kHandshake) drop_pending(fd, *sock);
  const bool attached = sock->kind == SocketKind::kAttached;
  const int id = sock->session_id;
  purge_output(fd);
  sockets_.erase(fd);
  if (attached) {
    if (Session *s = sessions_.find(id)) detach(*s, fd);
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
  if (sock.version == 0) {
    // The first 8 bytes tell the version (docs/PROTOCOL.md section 5).
    if (!sock.first.fill(data, n, v1::kKindSize)) return;
#ifdef SC_WITH_V2
    const v2::FirstBytes kind = v2::classify(sock.first.data());
    if (kind == v2::FirstBytes::kV2 || kind == v2::FirstBytes::kOtherVersion) {
      if (kind == v2::FirstBytes::kOtherVersion) {
        // A version this library does not know is answered at once.
        sock.version = sock.first.data()[v2::kVersionOffset];
        out_buffer(fd).push_back(static_cast<uint8_t>(v2::Status::kNotSupported));
        refuse_after_answer(fd, Reason::kNotSupported);
        return;
      }
      // Without version 2 accepted, the handshake answers "not supported"
      // once the request is complete.
      sock.version = 2;
      sock.hs2.reset(new v2::ServerHandshake);
      uint8_t first[v1::kKindSize];
      std::copy(sock.first.data(), sock.first.data() + v1::kKindSize, first);
      feed_v2_handshake(fd, sock, first, sizeof first);
      Socket *again = sockets_.find(fd);
      if (n > 0 && again && again->kind == SocketKind::kHandshake && !again->link)
        feed_v2_handshake(fd, *again, data, n);
      return;
    }
    if (!accept_v1_) {
      sock.version = 1;
      refuse(fd, Reason::kNotSupported);  // version 1 has no status byte
      return;
    }
#endif
    if (sock.over_cap) {
      refuse(fd, Reason::kTooManyHandshakes);
      return;
    }
    sock.version = 1;
    uint8_t first[v1::kKindSize];
    std::copy(sock.first.data(), sock.first.data() + v1::kKindSize, first);
    feed_v1(fd, sock, first, sizeof first);
    if (n == 0 || !still_in_handshake(fd)) return;
    feed_v1(fd, *sockets_.find(fd), data, n);
    return;
  }
#ifdef SC_WITH_V2
  if (sock.version == 2) {
    feed_v2_handshake(fd, sock, data, n);
    return;
  }
#endif
  feed_v1(fd, sock, data, n);
}

bool Server::still_in_handshake(int fd) {
  const Socket *sock = sockets_.find(fd);
  return sock && sock->kind == SocketKind::kHandshake;
}

void Server::feed_v1(int fd, Socket &sock, const uint8_t *data, size_t n) {
  HandshakeHost host(*this, fd);
  const HandshakeStep step = sock.hs.feed(host, data, n);
  switch (step.kind) {
    case HandshakeStep::Kind::kMore:
      return;
    case HandshakeStep::Kind::kRefused:
      refuse(fd, step.reason);
      return;
    case HandshakeStep::Kind::kNewSession:
      open_session(fd, sock, step.rest, step.rest_size);
      return;
    case HandshakeStep::Kind::kResume:
      resume_session(fd, sock, step.rest, step.rest_size);
      return;
  }
}

void Server::open_session(int fd, Socket &sock, const uint8_t *data, size_t n) {
  if ((max_sessions_ > 0 || max_bytes_ > 0) && !make_room_for_session()) {
    refuse(fd, Reason::kPoolFull);
    return;
  }
  const int id = sessions_.allocate_id();
  Session &s = sessions_.add(id, sock.hs.secret(), window_);
  attach(s, fd, sock);
  ++counters_.sessions_opened;
  PoolEvent e;
  e.type = PoolEventType::kSessionOpened;
  e.version = 1;
  e.id = id;
  e.fd = fd;
  emit(e);
  if (n > 0) feed_session(s, data, n);
}

void Server::resume_session(int fd, Socket &sock, const uint8_t *data, size_t n) {
  const v1::ServerHandshake hs = sock.hs;
  Session *s = sessions_.find(hs.session_id());
  // It may have sent so much since the request that the bytes the client
  // misses are gone.
  if (!s || !SessionTable::can_resume_from(*s, hs.client_received())) {
    refuse(fd, s ? Reason::kWindowExceeded : Reason::kUnknownSession);
    return;
  }
  PoolEvent e;
  e.type = PoolEventType::kSessionResumed;
  e.version = 1;
  e.id = s->id;
  e.fd = fd;
  e.old_fd = s->fd;
  e.detached_ms = s->attached() ? 0 : clock_.now() - s->detached_at_ms;
  if (s->attached()) close_socket(s->fd);
  attach(*s, fd, sock);
  // The old socket may have delivered more after we answered; the client
  // resends from what we told it, so that overlap must not be decrypted twice.
  s->v1->skip = s->received - hs.told_received();
  s->out.restart_from(hs.client_received());
  const ResendBuffer::Span missed = s->out.resend().range_from(hs.client_received());
  const uint64_t resent = missed.first_size + missed.second_size;
  if (resent > 0) {
    std::vector<uint8_t> &out = out_buffer(fd);
    out.insert(out.end(), missed.first, missed.first + missed.first_size);
    out.insert(out.end(), missed.second, missed.second + missed.second_size);
    mark_stream_end(*s);
  }
  ++counters_.reuses;
  counters_.bytes_resent += resent;
  e.resent_bytes = resent;
  emit(e);
  if (n > 0) feed_session(*s, data, n);
}

void Server::feed_session(Session &s, const uint8_t *data, size_t n) {
  SessionV1 &v1 = *s.v1;
  if (v1.skip > 0) {
    const size_t drop = static_cast<size_t>(std::min<uint64_t>(v1.skip, n));
    v1.skip -= drop;
    data += drop;
    n -= drop;
    if (n == 0) return;
  }
  std::vector<uint8_t> &dst = queue_.input_for(s.id);
  const size_t at = dst.size();
  dst.resize(at + n);
  v1.decoder.apply(data, dst.data() + at, n);
  s.received += n;
  sessions_.note_received(s);
  counters_.bytes_in += n;
}

// ---------------------------------------------------------------- sessions

void Server::attach(Session &s, int fd, Socket &sock) {
  sessions_.on_attached(s);
  s.fd = fd;
  sockets_.set_kind(sock, SocketKind::kAttached);
  sock.session_id = s.id;
}

void Server::detach(Session &s, int fd) {
  s.fd = -1;
#ifdef SC_WITH_V2
  if (s.v2 && !s.v2->confirmed) ++unconfirmed_detached_;
#endif
  sessions_.on_detached(s);
  s.detached_at_ms = clock_.now();
  if (s.v1) s.v1->skip = 0;
  ++counters_.detaches;
  PoolEvent e;
  e.type = PoolEventType::kSessionDetached;
  e.version = version_of(s);
  e.id = s.id;
  e.fd = fd;
  emit(e);
  // Version 2 checks the backlog only when more is sent while detached: a
  // session that loses its socket with a long backlog may still resume.
#ifdef SC_WITH_V2
  if (s.v2) return;
#endif
  check_backlog(s);
}

// A detached session whose client misses bytes that are no longer held can
// never resume: end it now rather than when the client comes back.
void Server::check_backlog(Session &s) {
#ifdef SC_WITH_V2
  // Version 2 never drops what the client has not acknowledged; only a
  // backlog beyond the window ends a detached session.
  if (s.v2) {
    if (!s.attached() && s.v2->streams.out.backlog() > s.v2->streams.out.window()) free_session(s.id, Reason::kBacklog);
    return;
  }
#endif
  if (!s.attached() && !SessionTable::can_resume_later(s)) free_session(s.id, Reason::kBacklog);
}

void Server::free_session(int id, Reason why) {
  Session *s = sessions_.find(id);
  if (!s) return;
  const int version = version_of(*s);
  if (s->attached()) close_socket(s->fd);
#ifdef SC_WITH_V2
  if (s->v2) {
    counters_.bytes_held -= s->v2->streams.out.held();
    if (!s->v2->confirmed) {
      --unconfirmed_;
      if (!s->attached()) --unconfirmed_detached_;
    }
    v2_ids_.erase(s->v2->sid);
    // Answered resumes of it that wait for their first record end too.
    std::vector<int> pending;
    sockets_.for_each([&](int fd, const Socket &sock) {
      if (sock.kind == SocketKind::kHandshake && sock.pending_id == id) pending.push_back(fd);
    });
    for (int fd : pending) close_socket(fd);
  } else {
    counters_.bytes_held -= s->out.held();
  }
#else
  counters_.bytes_held -= s->out.held();
#endif
  sessions_.remove(id);
  ++counters_.closed[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kSessionClosed;
  e.version = version;
  e.id = id;
  e.reason = why;
  emit(e);
}

void Server::send(int id, const uint8_t *data, size_t n) {
  Session *s = sessions_.find(id);
  if (!s || n == 0 || !data) return;
#ifdef SC_WITH_V2
  if (s->v2) {
    send_v2(*s, data, n);
    return;
  }
#endif
  scratch_.clear();
  std::vector<uint8_t> &out = s->attached() ? stream_buffer(s->fd) : scratch_;
  const size_t at = out.size();
  out.resize(at + n);
  uint8_t *cipher_out = out.data() + at;
  {
    // What the session holds is counted even when an allocation below fails
    // half-way: the session is then ended, and takes exactly its bytes along.
    struct HeldCount {
      uint64_t &total;
      const SendState &out;
      const size_t before;
      ~HeldCount() { total += out.held() - before; }
    } held_count{counters_.bytes_held, s->out, s->out.held()};
    // Encrypt in pieces that end on 256-byte boundaries of the stream, where
    // both fingerprints are recorded. In a pool whose state goes cold between
    // a session's sends, recording a boundary starts fetching its index
    // buckets, and each piece starts fetching where the next one goes in the
    // resend ring: both arrive while the piece is ciphered. A
    // long message goes through the cipher's wide state, written back when
    // it ends, also when an append below throws.
    SessionV1 &v1 = *s->v1;
    sessions_.prepare_boundaries(*s, n);
    const bool ahead = sessions_.fetches_ahead();
    auto encrypt = [&](auto &cipher) {
      for (size_t done = 0; done < n;) {
        const uint64_t pos = s->sent();
        const size_t room = static_cast<size_t>(kBoundary - pos % kBoundary);
        const size_t chunk = std::min(room, n - done);
        if (ahead) s->out.resend().prefetch_for_append(chunk, std::min<size_t>(kBoundary, n - done - chunk));
        cipher.apply(data + done, cipher_out + done, chunk, &v1.fp_plain, &v1.fp_cipher);
        s->out.resend().append(cipher_out + done, chunk);
        done += chunk;
        if (s->sent() % kBoundary == 0) sessions_.record_boundary(*s);
      }
    };
    if (n >= StreamCipher::kWideRun) {
      StreamCipher::Wide wide(v1.encoder);
      encrypt(wide);
    } else {
      encrypt(v1.encoder);
    }
    sessions_.index_recorded(*s);  // also brings the hot record up to date
  }
  counters_.bytes_out += n;
  if (s->attached())
    mark_stream_end(*s);
  else
    check_backlog(*s);
  if (max_bytes_ > 0) evict_for_bytes(0);
}

void Server::close_session(int id) {
#ifdef SC_WITH_V2
  Session *s = sessions_.find(id);
  if (s && s->v2 && s->attached()) {
    // CLOSE after the records already made, then the socket closes.
    Socket *sock = sockets_.find(s->fd);
    if (sock && sock->link) {
      write_due_v2(*s);  // what was sent since the last poll goes into records first
      sock->link->close(s->v2->streams, 0);
      write_v2(*s, false);
      if (s->attached()) {
        const int fd = s->fd;
        s->fd = -1;
        close_after_output(fd);
      }
    }
  }
#endif
  free_session(id, Reason::kByApplication);
}

void Server::abandon_session(int id) { free_session(id, Reason::kNoResources); }

void Server::timeout() {
  const uint64_t now = clock_.now();
  std::vector<int> overdue;
  sockets_.for_each([&](int fd, const Socket &sock) {
    if (sock.kind == SocketKind::kHandshake && now - sock.started_ms > handshake_timeout_ms_) overdue.push_back(fd);
  });
  for (int fd : overdue) {
#ifdef SC_WITH_V2
    // An unconfirmed new session goes with its socket.
    Socket *sock = sockets_.find(fd);
    const int unconfirmed = sock && sock->pending_new ? sock->session_id : 0;
    refuse(fd, Reason::kTimedOut);
    if (unconfirmed) free_session(unconfirmed, Reason::kTimedOut);
#else
    refuse(fd, Reason::kTimedOut);
#endif
  }
  std::vector<int> expired;
#ifdef SC_WITH_V2
  // Unconfirmed sessions without a socket: the handshake timeout, from their
  // first socket.
  sessions_.for_each([&](const Session &s) {
    if (!s.v2) return;
    if (!s.v2->confirmed && !s.attached() && now - s.v2->opened_ms > handshake_timeout_ms_) expired.push_back(s.id);
  });
  for (int id : expired) free_session(id, Reason::kTimedOut);
  expired.clear();
#endif
  if (reuse_timeout_ms_ == 0) return;
  sessions_.for_each([&](const Session &s) {
    if (!s.attached() && now - s.detached_at_ms > reuse_timeout_ms_) expired.push_back(s.id);
  });
  for (int id : expired) free_session(id, Reason::kExpired);
}

// ---------------------------------------------------------------- version 2

#ifdef SC_WITH_V2

uint32_t Server::v2_window() const {
  return static_cast<uint32_t>(std::min<size_t>(std::max<size_t>(v2_window_, v2::kMinWindow), v2::kMaxWindow));
}

// The pool as a version 2 handshake on socket `fd` sees it.
class Server::HandshakeHostV2 final : public v2::ServerHandshakeHost {
 public:
  HandshakeHostV2(Server &server, int fd, const Socket &sock) : server_(server), fd_(fd), sock_(sock) {}
  std::vector<uint8_t> &answer_buffer() override { return server_.out_buffer(fd_); }
  const crypto::DhKey &static_key() override { return server_.static_key_; }
  uint16_t server_id() override { return server_.server_id_; }
  uint32_t window() override { return server_.v2_window(); }
  bool accepting() override { return server_.accepts_v2(); }
  bool busy() override { return sock_.over_cap || server_.over_handshake_cap(); }
  Reason admit_new_session() override {
    if (server_.max_sessions_ == 0 && server_.max_bytes_ == 0) return Reason::kNone;
    return server_.make_room_for_session() ? Reason::kNone : Reason::kPoolFull;
  }
  bool session_id_taken(const v2::SessionId &id) override { return server_.v2_ids_.count(id) != 0; }
  Target find_session(const v2::SessionId &id) override {
    auto it = server_.v2_ids_.find(id);
    if (it == server_.v2_ids_.end()) return Target{};
    const Session *s = server_.sessions_.find(it->second);
    if (!s || !s->v2) return Target{};
    const v2::Streams &st = s->v2->streams;
    return Target{s->id, s->v2->secret, st.out.acked(), st.out.sent(), st.in.received};
  }

 private:
  Server &server_;
  int fd_;
  const Socket &sock_;
};

void Server::feed_v2_handshake(int fd, Socket &sock, const uint8_t *data, size_t n) {
  HandshakeHostV2 host(*this, fd, sock);
  const HandshakeStep step = sock.hs2->feed(host, data, n);
  switch (step.kind) {
    case HandshakeStep::Kind::kMore:
      return;
    case HandshakeStep::Kind::kRefused:
      // A status byte, when the contract gives one, is queued: it goes first.
      if (sock.queued_out > 0 && sock.hs2->refused_with() == v2::Status::kBusy) ++counters_.v2_busy;
      if (sock.queued_out > 0)
        refuse_after_answer(fd, step.reason);
      else
        refuse(fd, step.reason);
      return;
    case HandshakeStep::Kind::kNewSession:
      open_session_v2(fd, sock);
      return;
    case HandshakeStep::Kind::kResume:
      answered_resume_v2(fd, sock);
      return;
  }
}

void Server::open_session_v2(int fd, Socket &sock) {
  // Made whole before it joins the table: an allocation that fails on the way
  // leaves no session behind.
  auto v2 = std::make_unique<SessionV2>(v2_window(), sock.hs2->client_window(), &stream_storage_);
  v2->sid = sock.hs2->session_id();
  std::memcpy(v2->secret, sock.hs2->resume_secret(), sizeof v2->secret);
  v2->opened_ms = sock.started_ms;
  const int id = sessions_.allocate_id();
  Session &s = sessions_.add_unindexed(id);
  s.v2 = std::move(v2);
  SC_TRY {
    v2_ids_[s.v2->sid] = id;
  } SC_CATCH_ALL {
    sessions_.remove(id);
    SC_RETHROW;
  }
  auto forget = [&] {
    v2_ids_.erase(s.v2->sid);
    sessions_.remove(id);
  };
  SC_TRY {
    sock.link.reset(new v2::Link);
  } SC_CATCH_ALL {
    forget();
    SC_RETHROW;
  }
  if (!sock.hs2->split(*sock.link)) {
    forget();
    refuse(fd, Reason::kNoResources);
    return;
  }
  sock.hs2.reset();
  sock.link->start(s.v2->streams, 0, 0, false, true);
  // Attached here from now (records may flow), but a handshake in progress
  // until the client's first record confirms it.
  sessions_.on_attached(s);
  s.fd = fd;
  sock.session_id = id;
  sock.pending_new = true;
  ++counters_.sessions_opened;
  ++counters_.sessions_opened_v2;
  ++unconfirmed_;
  PoolEvent e;
  e.type = PoolEventType::kSessionOpened;
  e.version = 2;
  e.id = id;
  e.fd = fd;
  emit(e);
}

void Server::answered_resume_v2(int fd, Socket &sock) {
  Session *s = sessions_.find(sock.hs2->resumed_id());
  if (!s || !s->v2) {
    refuse(fd, Reason::kUnknownSession);
    return;
  }
  sock.link.reset(new v2::Link);
  if (!sock.hs2->split(*sock.link)) {
    refuse(fd, Reason::kNoResources);
    return;
  }
  // The session stays where it is until this connection's first record.
  sock.link->prepare(s->v2->streams, sock.hs2->told_received(), true);
  sock.pending_id = s->id;
  sock.resume_from = sock.hs2->client_received();
  sock.hs2.reset();
}

// What a version 2 connection's input does to the pool.
class Server::LinkEventsV2 final : public v2::LinkEvents {
 public:
  LinkEventsV2(Server &server, Session &s, int fd) : server_(server), s_(s), fd_(fd) {}
  void data(const uint8_t *p, size_t n) override {
    std::vector<uint8_t> &dst = server_.queue_.input_for(s_.id);
    grow_for(dst, n);
    append_bytes(dst, p, n);
    server_.counters_.bytes_in += n;
  }
  void pong(uint64_t) override {}
  void first_record() override {
    Socket *sock = server_.sockets_.find(fd_);
    if (!sock) return;
    if (sock->pending_new) {
      sock->pending_new = false;
      server_.confirm(s_);
      server_.sockets_.set_kind(*sock, SocketKind::kAttached);
    } else if (sock->pending_id) {
      server_.move_session_v2(s_, fd_, *sock);
    }
  }

 private:
  Server &server_;
  Session &s_;
  int fd_;
};

void Server::feed_link(int fd, Socket &sock, const uint8_t *data, size_t n) {
  // Between the answer and the client's first record nothing can come
  // while the answer is still queued: the client has not read it.
  if (sock.kind == SocketKind::kHandshake && sock.queued_out > 0 && sock.pending_id) {
    refuse(fd, Reason::kMalformed);
    return;
  }
  const int id = sock.pending_id ? sock.pending_id : sock.session_id;
  Session *s = sessions_.find(id);
  if (!s || !s->v2) {
    close_socket(fd);
    return;
  }
  LinkEventsV2 events(*this, *s, fd);
  const uint64_t held_before = s->v2->streams.out.held();
  bool got_data = false;
  const v2::Link::Read r = sock.link->read(s->v2->streams, data, n, events, &got_data);
  counters_.bytes_held -= held_before - s->v2->streams.out.held();
  Socket *now = sockets_.find(fd);
  if (r == v2::Link::Read::kError) {
    // This connection only: an attached session detaches and may resume.
    const bool attached_here = s->fd == fd && now && now->kind == SocketKind::kAttached;
    if (now && now->pending_new) drop_pending(fd, *now);
    if (attached_here) {
      close_socket(fd);
      detach(*s, fd);
      ++counters_.refused[static_cast<int>(Reason::kProtocolError)];
    } else {
      refuse(fd, Reason::kProtocolError);
    }
    return;
  }
  if (r == v2::Link::Read::kClosed) {
    // The client ended the session: its data came first.
    if (s->fd == fd) {
      s->fd = -1;
      close_socket(fd);
    }
    free_session(s->id, Reason::kByApplication);
    return;
  }
  if (s->fd == fd) write_v2(*s, now && now->link && now->link->acknowledge_all(got_data));
}

void Server::confirm(Session &s) {
  if (s.v2->confirmed) return;
  s.v2->confirmed = true;
  --unconfirmed_;
  if (!s.attached()) --unconfirmed_detached_;
}

void Server::move_session_v2(Session &s, int fd, Socket &sock) {
  PoolEvent e;
  e.type = PoolEventType::kSessionResumed;
  e.version = 2;
  e.id = s.id;
  e.fd = fd;
  e.old_fd = s.fd;
  e.detached_ms = s.attached() ? 0 : clock_.now() - s.detached_at_ms;
  if (s.attached()) close_socket(s.fd);
  // Any other resume of this session still waiting for its first record ends.
  std::vector<int> others;
  sockets_.for_each([&](int other, const Socket &o) {
    if (other != fd && o.kind == SocketKind::kHandshake && o.pending_id == s.id) others.push_back(other);
  });
  for (int other : others) close_socket(other);
  v2::Streams &st = s.v2->streams;
  // The count in the request acknowledges what the client had. (Called from
  // within the connection's read, whose caller counts what it frees.)
  st.out.ack(std::max(sock.resume_from, st.out.acked()));
  confirm(s);
  sock.pending_id = 0;
  attach(s, fd, sock);
  sock.link->start_output(st, sock.resume_from, false);
  const uint64_t resent = st.out.sent() - st.out.next();
  ++counters_.reuses;
  ++counters_.reuses_v2;
  counters_.bytes_resent += resent;
  e.resent_bytes = resent;
  emit(e);
}

void Server::write_v2(Session &s, bool force_ack) {
  if (!s.attached()) return;
  Socket *sock = sockets_.find(s.fd);
  if (!sock || !sock->link || sock->kind == SocketKind::kClosing) return;
  if (!sock->link->wants_write(s.v2->streams, force_ack)) return;
  if (!sock->link->write(s.v2->streams, out_buffer(s.fd), force_ack)) {
    const int fd = s.fd;
    close_socket(fd);
    detach(s, fd);
  }
}

void Server::send_v2(Session &s, const uint8_t *data, size_t n) {
  s.v2->streams.out.append(data, n);
  counters_.bytes_held += n;
  counters_.bytes_out += n;
  if (s.attached()) {
    // Records are made when the application polls: what it sends between
    // two polls travels in as few records as fit (one seal each).
    if (!s.v2->write_due) {
      pending_writes_.push_back(s.id);
      s.v2->write_due = true;
    }
  } else {
    check_backlog(s);
  }
  if (max_bytes_ > 0) evict_for_bytes(0);
}

void Server::write_due_v2(Session &s) {
  if (!s.v2->write_due) return;
  s.v2->write_due = false;
  write_v2(s, false);
}

void Server::flush_v2_writes() {
  // Sessions may end during a write (the socket closes): ids are looked up.
  for (size_t k = 0; k < pending_writes_.size(); ++k) {
    Session *s = sessions_.find(pending_writes_[k]);
    if (!s || !s->v2) continue;
    const int fd = s->fd;
    SC_TRY {
      write_due_v2(*s);
    }
    SC_CATCH_ALL {
      // No memory for the records: that socket goes (with whatever part of
      // a record was made), the session detaches and resends at its resume.
      SC_TRY {
        abandon_socket(fd);
      }
      SC_CATCH_ALL {}
    }
  }
  pending_writes_.clear();
}

#endif  // SC_WITH_V2

}  // namespace sc
