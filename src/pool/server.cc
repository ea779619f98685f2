#include "pool/server.h"

#include <algorithm>

#include "base/failure.h"

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
Server::~Server() = default;

int Server::session_fd(int id) const {
  const Session *s = sessions_.find(id);
  return s ? s->fd : -1;
}

size_t Server::session_held(int id) const {
  const Session *s = sessions_.find(id);
  return s ? s->out.held() : 0;
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
    if (Socket *sock = sockets_.find(fd)) ++sock->queued_out;
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
  close_socket(fd);
  ++counters_.refused[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kHandshakeRefused;
  e.fd = fd;
  e.reason = why;
  emit(e);
}

void Server::abandon_socket(int fd) {
  Socket *sock = sockets_.find(fd);
  if (!sock) return;
  switch (sock->kind) {
    case SocketKind::kHandshake:
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
  return queue_.poll(with_events, [this](const OutMessage &o, bool handed_out) {
    Socket *sock = sockets_.find(o.fd);
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
  if (max_handshakes_ > 0 && sockets_.handshakes() > max_handshakes_) {
    refuse(fd, Reason::kTooManyHandshakes);
    return nullptr;
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
      if (Session *s = sessions_.find(sock->session_id)) feed_session(*s, data, n);
      return;
    case SocketKind::kHandshake:
      feed_handshake(fd, *sock, data, n);
      return;
  }
}

void Server::socket_closed(int fd) {
  Socket *sock = sockets_.find(fd);
  if (!sock) return;
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
  e.id = s->id;
  e.fd = fd;
  e.old_fd = s->fd;
  e.detached_ms = s->attached() ? 0 : clock_.now() - s->detached_at_ms;
  if (s->attached()) close_socket(s->fd);
  attach(*s, fd, sock);
  // The old socket may have delivered more after we answered; the client
  // resends from what we told it, so that overlap must not be decrypted twice.
  s->skip = s->received - hs.told_received();
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
  if (s.skip > 0) {
    const size_t drop = static_cast<size_t>(std::min<uint64_t>(s.skip, n));
    s.skip -= drop;
    data += drop;
    n -= drop;
    if (n == 0) return;
  }
  std::vector<uint8_t> &dst = queue_.input_for(s.id);
  const size_t at = dst.size();
  dst.resize(at + n);
  s.decoder.apply(data, dst.data() + at, n);
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
  sessions_.on_detached(s);
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
  if (!s.attached() && !SessionTable::can_resume_later(s)) free_session(s.id, Reason::kBacklog);
}

void Server::free_session(int id, Reason why) {
  Session *s = sessions_.find(id);
  if (!s) return;
  if (s->attached()) close_socket(s->fd);
  counters_.bytes_held -= s->out.held();
  sessions_.remove(id);
  ++counters_.closed[static_cast<int>(why)];
  PoolEvent e;
  e.type = PoolEventType::kSessionClosed;
  e.id = id;
  e.reason = why;
  emit(e);
}

void Server::send(int id, const uint8_t *data, size_t n) {
  Session *s = sessions_.find(id);
  if (!s || n == 0 || !data) return;
  scratch_.clear();
  std::vector<uint8_t> &out = s->attached() ? out_buffer(s->fd) : scratch_;
  const size_t at = out.size();
  out.resize(at + n);
  uint8_t *cipher = out.data() + at;
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
    // both fingerprints are recorded.
    for (size_t done = 0; done < n;) {
      const uint64_t pos = s->sent();
      const size_t room = static_cast<size_t>(kBoundary - pos % kBoundary);
      const size_t chunk = std::min(room, n - done);
      s->encoder.apply(data + done, cipher + done, chunk, &s->fp_plain, &s->fp_cipher);
      s->out.resend().append(cipher + done, chunk);
      done += chunk;
      if (s->sent() % kBoundary == 0) {
        sessions_.record_boundary(*s);
        sessions_.trim_boundaries(*s);
      }
    }
    sessions_.trim_boundaries(*s);
  }
  counters_.bytes_out += n;
  sessions_.sync(*s);
  if (s->attached())
    mark_stream_end(*s);
  else
    check_backlog(*s);
  if (max_bytes_ > 0) evict_for_bytes(0);
}

void Server::close_session(int id) { free_session(id, Reason::kByApplication); }

void Server::abandon_session(int id) { free_session(id, Reason::kNoResources); }

void Server::timeout() {
  const uint64_t now = clock_.now();
  std::vector<int> overdue;
  sockets_.for_each([&](int fd, const Socket &sock) {
    if (sock.kind == SocketKind::kHandshake && now - sock.started_ms > handshake_timeout_ms_) overdue.push_back(fd);
  });
  for (int fd : overdue) refuse(fd, Reason::kTimedOut);
  if (reuse_timeout_ms_ == 0) return;
  std::vector<int> expired;
  sessions_.for_each([&](const Session &s) {
    if (!s.attached() && now - s.detached_at_ms > reuse_timeout_ms_) expired.push_back(s.id);
  });
  for (int id : expired) free_session(id, Reason::kExpired);
}

}  // namespace sc
