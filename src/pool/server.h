// The pool: the server side of stable connections. It routes each socket's
// bytes to its handshake or its session, runs the sessions' data path, and
// applies the timeouts; the session table, the socket table, the message
// queue and each version's handshake own the rest. Sans-IO: bytes in through
// receive(), bytes and decrypted data out through poll().
#ifndef SC_POOL_SERVER_H
#define SC_POOL_SERVER_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/config.h"
#include "core/events.h"
#include "core/message_queue.h"
#include "pool/session_table.h"
#include "pool/socket_table.h"
#include "v2/wire.h"

namespace sc {

class Server {
 public:
  // kOut: id is the socket fd, size 0 asks for it to be closed; kIn: id is
  // the session id; kEvent: event.
  using Message = MessageQueue<PoolEvent>::Polled;
  using Kind = Message::Kind;
  struct SessionInfo {
    int fd = -1;
    uint64_t held = 0;
    uint64_t backlog = 0;
    uint64_t detached_ms = 0;
    uint64_t sent = 0;
    uint64_t received = 0;
    int version = 1;
    // Version 2.
    bool confirmed = true;                 // false: answered, the client's first record not seen yet
    uint64_t acked = 0;                    // server->client bytes the client acknowledged
    uint8_t sid[v2::kSessionIdSize] = {};  // the session id, its server id first
  };

  Server();
  ~Server();
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  // Bytes read from socket `fd`; an fd the pool does not know starts a handshake.
  void receive(int fd, const uint8_t *data, size_t n);
  // The application's socket `fd` is gone; the number may come back as a new socket.
  void socket_closed(int fd);
  // Application data for session `id`; unknown ids are ignored.
  void send(int id, const uint8_t *data, size_t n);
  // Ends session `id`, closing its socket if it has one.
  void close_session(int id);
  // One message per call; the data stays valid until the next poll(). Queued
  // events are returned only when `with_events`, and skipped otherwise.
  Message poll(bool with_events = false);
  // Closes overdue handshakes and frees sessions detached for too long.
  void timeout();
  // Gives up on socket `fd` (POOL_OUT size 0), e.g. when its input could not
  // be processed.
  void abandon_socket(int fd);
  // Ends session `id` because its data could not be kept (no memory).
  void abandon_session(int id);

  void set_handshake_timeout(uint64_t ms) { handshake_timeout_ms_ = ms; }
  void set_reuse_timeout(uint64_t ms) { reuse_timeout_ms_ = ms; }
  // The window of both versions' sessions opened from now on; until it is
  // set, each version has its own default.
  void set_window(size_t bytes) { window_ = v2_window_ = bytes; }
  // At most this many sockets in the handshake at once; more are refused.
  // 0: no limit.
  void set_max_handshakes(size_t n) { max_handshakes_ = n; }
  // The pool's budget: at most `n` sessions, at most `bytes` counted by
  // footprint(); 0: no limit. A new session or more data that would pass a
  // cap ends the sessions detached the longest first; with none left, new
  // sessions are refused.
  void set_max_sessions(size_t n);
  void set_max_bytes(uint64_t bytes);
  // What the pool counts against its byte budget: the bytes its sessions
  // hold for resending, plus a fixed cost per session and per socket in the
  // handshake.
  uint64_t footprint() const;
  // The application accepted socket `fd` now: its handshake clock starts,
  // even if it never sends a byte. An fd the pool still knows is taken as
  // gone first.
  void socket_opened(int fd);
  void set_clock(ClockFn fn, void *user_data) { clock_.set(fn, user_data); }

  // Protocol version 2 (a build with SC_WITH_V2). The pool's static private
  // key (32 bytes) lets it accept version 2; false without version 2 in the
  // build. Without a key version 2 clients are answered "not supported".
  // The first key turns version 2 on unless set_versions() chose already.
  bool set_static_key(const uint8_t *key);
  // The first two bytes of every version 2 session id this pool makes.
  void set_server_id(uint16_t id) { server_id_ = id; }
  // Which versions are accepted; false (nothing changed) for neither, or for
  // version 2 without a key or without version 2 in the build.
  bool set_versions(bool v1, bool v2);
  bool accepts_v2() const;
  // Events are queued only while enabled.
  void enable_events(bool on) { events_enabled_ = on; }

  const PoolCounters &counters() const { return counters_; }
  size_t detached_count() const { return sessions_.detached_count(); }
  // False if `id` is not a session.
  bool session_info(int id, SessionInfo *info) const;

  // Version 2 sessions, and those of them not yet confirmed by the
  // client's first record.
  size_t v2_session_count() const;
  size_t unconfirmed_count() const { return unconfirmed_; }

  // Introspection, for tests and diagnostics.
  size_t session_count() const { return sessions_.size(); }
  size_t handshake_count() const { return sockets_.handshakes(); }
  bool session_exists(int id) const { return sessions_.contains(id); }
  // The fd session `id` is attached to, or -1 (detached or unknown).
  int session_fd(int id) const;
  // Bytes session `id` holds for resending (0 if unknown).
  size_t session_held(int id) const;

 private:
  friend struct ServerTestPeer;  // tests reach the id counter through it
  class HandshakeHost;
  class HandshakeHostV2;
  class LinkEventsV2;

  // The first bytes of a socket tell its version; then its handshake.
  void feed_v1(int fd, Socket &sock, const uint8_t *data, size_t n);
  // True while fd is still a socket in the handshake.
  bool still_in_handshake(int fd);
#ifdef SC_WITH_V2
  void feed_v2_handshake(int fd, Socket &sock, const uint8_t *data, size_t n);
  void open_session_v2(int fd, Socket &sock);
  void answered_resume_v2(int fd, Socket &sock);
  // Records on a version 2 socket, answered or attached.
  void feed_link(int fd, Socket &sock, const uint8_t *data, size_t n);
  void move_session_v2(Session &s, int fd, Socket &sock);
  // The client's first record on it: an answered new session is confirmed.
  void confirm(Session &s);
  void write_v2(Session &s, bool force_ack);
  void send_v2(Session &s, const uint8_t *data, size_t n);
  // Writes the records of the sessions sent to since the last poll; of one.
  void flush_v2_writes();
  void write_due_v2(Session &s);
  uint32_t v2_window() const;
#endif
  static int version_of(const Session &s) { return s.v2 ? 2 : 1; }
  // A refusal whose answer (a status byte) is queued: it goes out, then the close.
  void refuse_after_answer(int fd, Reason why);
  // Closes `fd` once what is queued for it is out.
  void close_after_output(int fd);
  // A version 2 socket answered but not confirmed lost its connection.
  void drop_pending(int fd, Socket &sock);

  // A socket the pool did not know: in the handshake from now, unless a cap
  // refuses it at once (then nullptr).
  Socket *admit_socket(int fd);
  // Room for one more session; false if the budget has none left.
  bool make_room_for_session();
  // Ends detached sessions, the longest detached first, until the pool is
  // within its byte budget with `extra` more bytes.
  void evict_for_bytes(uint64_t extra);
  // The cap on handshakes in progress counts sockets in any handshake stage
  // (answered resumes and new sessions waiting for their first record
  // included) and unconfirmed sessions that lost their socket.
  bool over_handshake_cap() const {
    return max_handshakes_ > 0 && sockets_.handshakes() + unconfirmed_detached_ > max_handshakes_;
  }
  bool over_session_cap() const { return max_sessions_ > 0 && sessions_.size() >= max_sessions_; }
  bool over_bytes(uint64_t extra) const { return max_bytes_ > 0 && footprint() + extra > max_bytes_; }
  void feed_handshake(int fd, Socket &sock, const uint8_t *data, size_t n);
  void open_session(int fd, Socket &sock, const uint8_t *data, size_t n);
  void resume_session(int fd, Socket &sock, const uint8_t *data, size_t n);
  void feed_session(Session &s, const uint8_t *data, size_t n);

  void attach(Session &s, int fd, Socket &sock);
  void detach(Session &s, int fd);
  void free_session(int id, Reason why);
  void check_backlog(Session &s);

  // Closes a socket the pool gave up on: drops what was queued for it and
  // queues POOL_OUT size 0. Sessions are the caller's business.
  void close_socket(int fd);
  // Closes a socket still in the handshake, and says why.
  void refuse(int fd, Reason why);
  void purge_output(int fd);
  // Where bytes for `fd` go: the last queued message if it is for fd, or a
  // new one, counted in the socket's queued_out.
  std::vector<uint8_t> &out_buffer(int fd);
  // The same for a socket that carries a session, past its handshake, where
  // the count is never read: nothing counted, so the socket table is not
  // touched (a large pool's sockets are cold by the time a session sends).
  std::vector<uint8_t> &stream_buffer(int fd) { return queue_.output_for(fd, nullptr); }
  // The last message queued carries session `s`'s stream up to its end.
  void mark_stream_end(const Session &s);
  void emit(const PoolEvent &e);

#ifdef SC_WITH_V2
  // Storage of the version 2 sessions' outgoing streams between drains
  // (before the sessions, which may give theirs back as they go).
  v2::StorageCache stream_storage_;
#endif
  SessionTable sessions_;
  SocketTable sockets_;
  MessageQueue<PoolEvent> queue_;
  std::vector<uint8_t> scratch_;  // ciphertext of data sent while detached

  uint64_t handshake_timeout_ms_ = kDefaultHandshakeTimeoutMs;
  uint64_t reuse_timeout_ms_ = kDefaultReuseTimeoutMs;
  size_t window_ = kDefaultWindow;
  size_t v2_window_ = kDefaultWindowV2;  // before the version 2 range applies
  size_t max_handshakes_ = 0;
  size_t max_sessions_ = 0;
  uint64_t max_bytes_ = 0;
  Clock clock_;
  bool events_enabled_ = false;
  PoolCounters counters_;

  uint16_t server_id_ = 0;
  std::vector<int> pending_writes_;  // version 2 sessions with data to put in records
  size_t unconfirmed_ = 0;           // version 2 sessions not yet confirmed
  size_t unconfirmed_detached_ = 0;  // ... of them without a socket
  bool accept_v1_ = true;
  bool accept_v2_ = false;
  bool versions_chosen_ = false;  // set_versions() was called
#ifdef SC_WITH_V2
  struct SessionIdHash {
    size_t operator()(const v2::SessionId &id) const {
      size_t h = 0;
      std::memcpy(&h, id.bytes.data() + v2::kServerIdSize, sizeof h);  // random bytes
      return h;
    }
  };
  std::unordered_map<v2::SessionId, int, SessionIdHash> v2_ids_;
  crypto::DhKey static_key_;
  bool has_key_ = false;
#endif
};

}  // namespace sc

#endif
