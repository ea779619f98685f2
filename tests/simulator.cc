#include "simulator.h"

#include <algorithm>
#include <sstream>

#include "client/client.h"

namespace sim {

uint32_t SeededChoices::below(uint32_t n) {
  state_ ^= state_ << 13;
  state_ ^= state_ >> 7;
  state_ ^= state_ << 17;
  return static_cast<uint32_t>((state_ >> 11) % n);
}

namespace {

// The library's client as the simulator drives it: the C API, or the core
// configured to fingerprint the plaintext as the reference client did.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual void send(const std::string &data) = 0;
  virtual void recv(const std::string &data) = 0;
  virtual void handshake() = 0;
  virtual void drop() = 0;
  // MESSAGE_* or SC_MESSAGE_EVENT.
  virtual int poll(connection_message *m, sc_client_event *ev) = 0;
};

class CApiEndpoint : public Endpoint {
 public:
  // Version 1, or version 2 with the server's public key.
  explicit CApiEndpoint(size_t window, const uint8_t *server_key = nullptr) {
    if (server_key) {
      if (sc_client_open_v2(server_key, &c_) != SC_OK) c_ = nullptr;
      // Version 2's smallest window is 4 KiB.
      sc_client_set_window(c_, window < SC_MIN_WINDOW_V2 ? SC_MIN_WINDOW_V2 : window);
    } else {
      c_ = cc_open();
      sc_client_set_window(c_, window);
    }
    sc_client_enable_events(c_, 1);
  }
  ~CApiEndpoint() override { cc_close(c_); }
  void send(const std::string &d) override { cc_send(c_, d.data(), d.size()); }
  void recv(const std::string &d) override { cc_recv(c_, d.data(), d.size()); }
  void handshake() override { cc_handshake(c_); }
  void drop() override { cc_recv(c_, nullptr, 0); }
  int poll(connection_message *m, sc_client_event *ev) override { return sc_client_poll_sized(c_, m, ev, sizeof *ev); }

 private:
  connection *c_ = nullptr;
};

class ReferenceStyleEndpoint : public Endpoint {
 public:
  explicit ReferenceStyleEndpoint(size_t window) : c_(window) {
    c_.set_fingerprint_form(sc::Client::FingerprintForm::kPlaintext);
    c_.enable_events(true);
  }
  void send(const std::string &d) override { c_.send(reinterpret_cast<const uint8_t *>(d.data()), d.size()); }
  void recv(const std::string &d) override { c_.receive(reinterpret_cast<const uint8_t *>(d.data()), d.size()); }
  void handshake() override { c_.handshake(); }
  void drop() override { c_.drop(); }
  int poll(connection_message *m, sc_client_event *ev) override {
    const sc::Client::Message msg = c_.poll(true);
    switch (msg.kind) {
      case sc::Client::Kind::kEmpty:
        return MESSAGE_EMPTY;
      case sc::Client::Kind::kEvent:
        ev->type = static_cast<int>(msg.event.type);
        ev->reason = static_cast<int>(msg.event.reason);
        ev->resent_bytes = msg.event.resent_bytes;
        ev->lost_bytes = msg.event.lost_bytes;
        ev->rtt_ms = 0;
        ev->version = SC_PROTOCOL_1;
        return SC_MESSAGE_EVENT;
      case sc::Client::Kind::kIn:
      case sc::Client::Kind::kOut:
        break;
    }
    m->sz = static_cast<int>(msg.size);
    m->buffer = reinterpret_cast<const char *>(msg.data);
    return msg.kind == sc::Client::Kind::kIn ? MESSAGE_IN : MESSAGE_OUT;
  }

 private:
  sc::Client c_;
};

bool is_prefix(const std::string &part, const std::string &whole) {
  return part.size() <= whole.size() && std::equal(part.begin(), part.end(), whole.begin());
}

uint64_t clock_read(void *now) { return *static_cast<uint64_t *>(now); }

}  // namespace

struct Simulator::Session {
  Client *owner = nullptr;  // null once the client gave the session up
  std::string sent;         // by the server application
  std::string received;     // by the server application
  std::string frozen_up;    // what the client had sent, once it gave up
  bool closed = false;
};

struct Simulator::Client {
  int index = 0;
  bool reference_style = false;
  bool v2 = false;
  // Version 2: the client holds a session (it read the answer that opened
  // it, in this epoch); the current connection is established (its records
  // flow), had a byte changed in flight, and was given up by the client.
  bool has_session = false, established = false, tampered = false, broken = false;
  std::unique_ptr<Endpoint> end;
  int fd = -1;  // current socket, -1: none (reconnect)
  // Dead sockets the pool was not told about, with client bytes still on
  // their way: they may reach the pool late, even after a reconnect.
  struct Stale {
    int fd;
    std::string up;
    uint64_t epoch;          // the client's epoch when the socket died
    std::string epoch_sent;  // and what it had sent in it by then
  };
  std::vector<Stale> stale;
  bool fresh = true;      // the endpoint has not been handed a socket yet
  bool resuming = false;  // a reuse handshake is in flight
  // The pool's client->server count when it answered the current reuse
  // request (what it told the client it has); -1: no answer seen yet.
  int64_t told_received = -1;
  std::string up, down;    // bytes in flight on the current socket
  uint64_t epoch = 0;      // counts session resets and restarts
  std::string epoch_sent;  // application bytes for the current session
  std::string received;    // application bytes received on it
  int session = 0;         // pool session id, 0: not known yet
  int failed_attempts = 0;
  bool dead = false;
};

Simulator::Simulator(const Config &config) : config_(config), pool_(cp_new()) {
  if (config_.v2_clients > 0) {
    // A fixed key: the runs stay reproducible from their seed.
    uint8_t priv[SC_KEY_SIZE];
    for (int k = 0; k < SC_KEY_SIZE; ++k) priv[k] = static_cast<uint8_t>(0xa0 + 3 * k);
    if (sc_pool_set_static_key(pool_, priv) != SC_OK || sc_public_key(priv, server_public_key_) != SC_OK)
      fail("the pool does not take a version 2 key");
  }
  sc_pool_set_window(pool_, config_.window);
  sc_pool_set_reuse_timeout(pool_, config_.reuse_timeout_ms);
  sc_pool_set_handshake_timeout(pool_, config_.handshake_timeout_ms);
  sc_pool_set_clock(pool_, &clock_read, &now_ms_);
  sc_pool_enable_events(pool_, 1);
  for (int k = 0; k < config_.clients; ++k) {
    auto c = std::make_unique<Client>();
    c->index = k;
    c->reference_style = k < config_.old_clients;
    c->v2 = !c->reference_style && k < config_.old_clients + config_.v2_clients;
    clients_.push_back(std::move(c));
    restart_client(*clients_.back(), nullptr);
  }
}

Simulator::~Simulator() { cp_delete(pool_); }

void Simulator::fail(const std::string &what) {
  if (failure_.empty()) failure_ = what + " (after " + std::to_string(stats_.operations) + " operations)";
}

void Simulator::note(const std::string &what) {
  recent_.push_back(what);
  if (recent_.size() > 60) recent_.pop_front();
}

std::string Simulator::recent_operations() const {
  std::ostringstream out;
  for (const std::string &s : recent_) out << "  " << s << "\n";
  return out.str();
}

int Simulator::allocate_fd() {
  int fd = 3;
  while (fds_in_use_.count(fd)) ++fd;
  fds_in_use_.insert(fd);
  return fd;
}

void Simulator::release_fd(int fd) {
  fds_in_use_.erase(fd);
  fd_owner_.erase(fd);
  refused_fd_reason_.erase(fd);
}

Simulator::Client *Simulator::owner_of_fd(int fd) {
  auto it = fd_owner_.find(fd);
  return it == fd_owner_.end() ? nullptr : it->second;
}

// ------------------------------------------------------------------ plumbing

void Simulator::restart_client(Client &c, const char *why) {
  if (why) {
    ++stats_.client_restarts;
    note("client " + std::to_string(c.index) + " starts over: " + why);
  }
  if (c.session) {
    auto it = sessions_.find(c.session);
    if (it != sessions_.end()) {
      it->second->frozen_up = c.epoch_sent;
      it->second->owner = nullptr;
    }
  }
  if (c.fd >= 0) c.stale.push_back({c.fd, {}, 0, {}});
  for (const auto &st : c.stale) {
    cp_recv(pool_, st.fd, nullptr, 0);
    release_fd(st.fd);
  }
  c.stale.clear();
  if (c.reference_style)
    c.end = std::make_unique<ReferenceStyleEndpoint>(config_.window);
  else
    c.end = std::make_unique<CApiEndpoint>(config_.window, c.v2 ? server_public_key_ : nullptr);
  c.has_session = c.established = c.tampered = c.broken = false;
  c.fd = -1;
  c.fresh = true;
  c.resuming = false;
  c.up.clear();
  c.down.clear();
  ++c.epoch;
  c.epoch_sent.clear();
  c.received.clear();
  c.session = 0;
  c.failed_attempts = 0;
  c.dead = false;
}

void Simulator::poll_client(Client &c) {
  connection_message m;
  sc_client_event ev;
  for (int t; (t = c.end->poll(&m, &ev)) != MESSAGE_EMPTY;) {
    if (t == MESSAGE_OUT) {
      if (c.fd >= 0) c.up.append(m.buffer, static_cast<size_t>(m.sz));
    } else if (t == MESSAGE_IN) {
      if (m.sz == 0)
        c.dead = true;
      else
        on_client_data(c, m.buffer, static_cast<size_t>(m.sz));
    } else {
      on_client_event(c, ev);
    }
  }
}

void Simulator::on_client_event(Client &c, const sc_client_event &ev) {
  switch (ev.type) {
    case SC_EVENT_CONNECTED:
      c.resuming = false;
      c.failed_attempts = 0;
      c.has_session = c.established = true;
      if (ev.version != (c.v2 ? SC_PROTOCOL_2 : SC_PROTOCOL_1)) fail("a client event names the wrong version");
      break;
    case SC_EVENT_RESUMED:
      c.resuming = false;
      c.failed_attempts = 0;
      c.established = true;
      if (c.v2) ++stats_.v2_reuses;
      break;
    case SC_EVENT_REFUSED:
      if (c.v2) {
        on_v2_refusal(c, ev.reason);
        break;
      }
      {
        if (ev.reason != SC_REASON_WINDOW_EXCEEDED) fail("client refused for reason " + std::to_string(ev.reason));
        // Justified only if the pool missed more than the window when it
        // answered. Bytes from the old socket may reach the pool after its
        // answer: the client cannot know of them, so they do not count.
        if (c.told_received >= 0 && c.epoch_sent.size() - static_cast<uint64_t>(c.told_received) <= config_.window)
          fail("client " + std::to_string(c.index) + " refused the server within the window");
        break;
      }
    case SC_EVENT_SESSION_RESET: {
      // The first lost_bytes of the epoch went to the abandoned session.
      if (ev.lost_bytes > c.epoch_sent.size()) {
        fail("session reset reports more bytes than were sent");
        return;
      }
      if (c.session) {
        auto it = sessions_.find(c.session);
        if (it != sessions_.end()) {
          it->second->frozen_up = c.epoch_sent.substr(0, ev.lost_bytes);
          it->second->owner = nullptr;
        }
      }
      c.epoch_sent.erase(0, ev.lost_bytes);
      ++c.epoch;
      c.received.clear();
      c.session = 0;
      note("client " + std::to_string(c.index) + " resets its session");
      break;
    }
    default:
      fail("unknown client event " + std::to_string(ev.type));
  }
}

// A version 2 client's refusal must have a cause the simulation knows of.
void Simulator::on_v2_refusal(Client &c, int reason) {
  const std::string who = "version 2 client " + std::to_string(c.index);
  switch (reason) {
    case SC_REASON_PROTOCOL_ERROR:
      // Only a connection whose bytes were changed may fail to verify; the
      // client keeps its session and the application drops the socket.
      if (!c.tampered) fail(who + " found a protocol error on an untouched connection");
      c.broken = true;
      ++stats_.tampers_caught;
      break;
    case SC_REASON_UNKNOWN_SESSION: {
      // Justified only if the pool reported the session's end.
      auto it = sessions_.find(c.session);
      if (c.session && it != sessions_.end() && !it->second->closed)
        fail(who + " was told its open session is unknown");
      break;
    }
    default:
      fail(who + " refused for reason " + std::to_string(reason));
  }
}

void Simulator::on_client_data(Client &c, const char *data, size_t n) {
  auto it = sessions_.find(c.session);
  if (it == sessions_.end()) {
    fail("client " + std::to_string(c.index) + " received data on no known session");
    return;
  }
  c.received.append(data, n);
  stats_.bytes_server_to_client += n;
  if (!is_prefix(c.received, it->second->sent))
    fail("client " + std::to_string(c.index) + " received bytes the server did not send at offset " +
         std::to_string(c.received.size() - n));
}

void Simulator::on_server_data(int id, const char *data, size_t n) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    fail("server received data for unknown session " + std::to_string(id));
    return;
  }
  Session &s = *it->second;
  s.received.append(data, n);
  stats_.bytes_client_to_server += n;
  const std::string &expected = s.owner ? s.owner->epoch_sent : s.frozen_up;
  if (!is_prefix(s.received, expected))
    fail("session " + std::to_string(id) + " received bytes its client did not send at offset " +
         std::to_string(s.received.size() - n));
}

void Simulator::on_pool_event(const sc_pool_event &ev) {
  switch (ev.type) {
    case SC_EVENT_SESSION_OPENED: {
      Client *c = owner_of_fd(ev.fd);
      if (!c) {
        fail("session opened on fd " + std::to_string(ev.fd) + " that no client is connected on");
        return;
      }
      if (ev.version != (c->v2 ? SC_PROTOCOL_2 : SC_PROTOCOL_1)) {
        fail("session opened with the wrong version");
        return;
      }
      if (c->v2) ++stats_.v2_sessions;
      if (c->v2 && c->session && !c->has_session) {
        // The answer that opened the previous one never reached the client:
        // that session waits, unconfirmed and unused, for its timeout.
        auto old = sessions_.find(c->session);
        if (old != sessions_.end()) old->second->owner = nullptr;
        c->session = 0;
      }
      if (sessions_.count(ev.id)) {
        fail("session id " + std::to_string(ev.id) + " reused while known");
        return;
      }
      if (c->fd != ev.fd) {
        // The handshake completed late, on a socket the client gave up.
        const auto st =
            std::find_if(c->stale.begin(), c->stale.end(), [&](const Client::Stale &x) { return x.fd == ev.fd; });
        if (st == c->stale.end()) {
          fail("session opened on fd " + std::to_string(ev.fd) + " that its client no longer has");
          return;
        }
        if (st->epoch != c->epoch || c->session) {
          // The client has moved on to another session: this one is orphaned.
          // (A version 2 session receives nothing before its client read the
          // answer, which never reaches a socket given up.)
          auto s = std::make_unique<Session>();
          if (!c->v2) s->frozen_up = st->epoch_sent;
          sessions_[ev.id] = std::move(s);
          ++stats_.sessions_opened;
          return;
        }
      }
      if (c->session) {
        // The client's previous session was abandoned without a reset event:
        // only possible if it never learnt it had one.
        fail("client " + std::to_string(c->index) + " opened a second session without a reset");
        return;
      }
      auto s = std::make_unique<Session>();
      s->owner = c;
      sessions_[ev.id] = std::move(s);
      c->session = ev.id;
      ++stats_.sessions_opened;
      break;
    }
    case SC_EVENT_SESSION_RESUMED: {
      auto it = sessions_.find(ev.id);
      Client *c = owner_of_fd(ev.fd);
      if (it == sessions_.end() || it->second->closed) {
        fail("a closed or unknown session resumed");
        return;
      }
      if (!c || it->second->owner != c) {
        fail("session " + std::to_string(ev.id) + " moved to a socket of another client");
        return;
      }
      ++stats_.reuses;
      break;
    }
    case SC_EVENT_SESSION_DETACHED:
      break;
    case SC_EVENT_SESSION_CLOSED: {
      auto it = sessions_.find(ev.id);
      if (it == sessions_.end()) {
        fail("unknown session closed");
        return;
      }
      it->second->closed = true;
      ++stats_.sessions_closed;
      if (ev.reason >= 0 && ev.reason <= SC_REASON_MAX) ++stats_.closes_by_reason[ev.reason];
      // Version 2 sessions never confirmed end when their handshake times out.
      if (ev.reason != SC_REASON_BY_APPLICATION && ev.reason != SC_REASON_EXPIRED && ev.reason != SC_REASON_BACKLOG &&
          !(ev.version == SC_PROTOCOL_2 && ev.reason == SC_REASON_TIMED_OUT))
        fail("session closed for reason " + std::to_string(ev.reason));
      break;
    }
    case SC_EVENT_HANDSHAKE_REFUSED:
      refused_fd_reason_[ev.fd] = ev.reason;
      ++stats_.refusals;
      if (ev.reason >= 0 && ev.reason <= SC_REASON_MAX) ++stats_.refusals_by_reason[ev.reason];
      break;
    default:
      fail("unknown pool event " + std::to_string(ev.type));
  }
}

void Simulator::poll_pool() {
  std::vector<int> closed;
  pool_message m;
  sc_pool_event ev;
  for (int t; (t = sc_pool_poll_sized(pool_, &m, &ev, sizeof ev)) != POOL_EMPTY;) {
    if (t == POOL_OUT) {
      Client *c = owner_of_fd(m.id);
      if (!fds_in_use_.count(m.id)) {
        fail("pool wrote to fd " + std::to_string(m.id) + " which is not open");
        continue;
      }
      if (m.sz == 0) {
        closed.push_back(m.id);
      } else if (c && c->fd == m.id) {
        if (c->resuming && c->told_received < 0 && c->down.empty()) note_reuse_answer(*c);
        c->down.append(m.buffer, m.sz);
      }
    } else if (t == POOL_IN) {
      on_server_data(m.id, m.buffer, m.sz);
    } else {
      on_pool_event(ev);
    }
  }
  // Sockets the pool closed: the application closes them; their clients
  // find out and decide whether to try again.
  for (int fd : closed) {
    Client *c = owner_of_fd(fd);
    const auto reason_it = refused_fd_reason_.find(fd);
    const int reason = reason_it == refused_fd_reason_.end() ? SC_REASON_NONE : reason_it->second;
    release_fd(fd);
    if (!c) continue;
    if (c->fd != fd) {  // an old socket of a client that moved on
      c->stale.erase(
          std::remove_if(c->stale.begin(), c->stale.end(), [fd](const Client::Stale &st) { return st.fd == fd; }),
          c->stale.end());
      continue;
    }
    c->fd = -1;
    c->up.clear();
    c->down.clear();
    note("pool closed fd " + std::to_string(fd) + " of client " + std::to_string(c->index) + " reason " +
         std::to_string(reason));
    c->established = false;
    if (reason == SC_REASON_PROTOCOL_ERROR && c->v2 && c->tampered) {
      ++stats_.tampers_caught;  // the pool caught a changed record: resume on a new socket
      continue;
    }
    if (reason == SC_REASON_BAD_AUTH || reason == SC_REASON_MALFORMED || reason == SC_REASON_PROTOCOL_ERROR ||
        reason == SC_REASON_REJECTED || reason == SC_REASON_NOT_SUPPORTED || reason == SC_REASON_BUSY) {
      fail("a well-behaved client was refused with reason " + std::to_string(reason));
      continue;
    }
    if (reason == SC_REASON_UNKNOWN_SESSION || reason == SC_REASON_WINDOW_EXCEEDED) {
      // Only justified if the session ended with a reported reason, or the
      // client really misses more than the window.
      auto it = sessions_.find(c->session);
      const bool gone = it == sessions_.end() || it->second->closed;
      const bool beyond =
          !c->v2 && it != sessions_.end() && it->second->sent.size() - c->received.size() > config_.window;
      if (!gone && !beyond) {
        fail("client " + std::to_string(c->index) + " refused (reason " + std::to_string(reason) +
             ") although its session is open and within the window");
        continue;
      }
      restart_client(*c, "session cannot be resumed");
      continue;
    }
    if (reason == SC_REASON_NONE && c->session) {
      // Closed with no refusal: its session was closed or moved; the next
      // reconnect finds out which.
      continue;
    }
  }
}

void Simulator::socket_gone(Client &c) {
  ++stats_.socket_deaths;
  c.up.clear();
  c.down.clear();
}

// ------------------------------------------------------------------ operations

void Simulator::op_client_send(Client &c, ChoiceSource &ch) {
  const size_t n = 1 + ch.below(static_cast<uint32_t>(config_.max_message));
  std::string data(n, '\0');
  for (size_t k = 0; k < n; ++k) data[k] = static_cast<char>((next_payload_ * 0x9e3779b97f4a7c15ull + k * 77) >> 56);
  ++next_payload_;
  c.epoch_sent += data;
  c.end->send(data);
  note("client " + std::to_string(c.index) + " sends " + std::to_string(n));
}

void Simulator::op_server_send(Client &c, ChoiceSource &ch) {
  auto it = sessions_.find(c.session);
  if (it == sessions_.end() || it->second->closed) return;
  const size_t n = 1 + ch.below(static_cast<uint32_t>(config_.max_message));
  std::string data(n, '\0');
  for (size_t k = 0; k < n; ++k) data[k] = static_cast<char>((next_payload_ * 0xc2b2ae3d27d4eb4full + k * 31) >> 56);
  ++next_payload_;
  it->second->sent += data;
  cp_send(pool_, c.session, data.data(), data.size());
  note("server sends " + std::to_string(n) + " to session " + std::to_string(c.session));
}

void Simulator::op_deliver_up(Client &c, ChoiceSource &ch) {
  poll_client(c);
  if (c.fd < 0 || c.up.empty()) return;
  const size_t n = ch.below(4) == 0 ? c.up.size() : 1 + ch.below(static_cast<uint32_t>(c.up.size()));
  const std::string piece = c.up.substr(0, n);
  c.up.erase(0, n);
  note("deliver " + std::to_string(n) + " up on fd " + std::to_string(c.fd));
  cp_recv(pool_, c.fd, piece.data(), piece.size());
  poll_pool();
}

void Simulator::op_deliver_down(Client &c, ChoiceSource &ch) {
  poll_pool();
  if (c.fd < 0 || c.down.empty()) return;
  const size_t n = ch.below(4) == 0 ? c.down.size() : 1 + ch.below(static_cast<uint32_t>(c.down.size()));
  const std::string piece = c.down.substr(0, n);
  c.down.erase(0, n);
  note("deliver " + std::to_string(n) + " down on fd " + std::to_string(c.fd));
  c.end->recv(piece);
  poll_client(c);
}

void Simulator::op_kill_socket(Client &c, ChoiceSource &ch) {
  if (c.fd < 0) return;
  poll_client(c);
  // Part of what was in flight towards the pool may still arrive if the pool
  // is not told.
  std::string late = c.up.substr(0, ch.below(static_cast<uint32_t>(c.up.size() + 1)));
  socket_gone(c);
  // Two times in three the application notices at once and tells the pool;
  // otherwise the pool keeps the dead socket attached until the reuse. Half
  // of the notices pass read()'s buffer with its size 0, as legacy servers
  // do, and half pass NULL. (One choice in six, so that which sockets the
  // pool is told about stays what it was with a choice in three.)
  const uint32_t how = ch.below(6);
  if (how % 3 != 0) {
    static const char kReadBuffer[4] = {'e', 'o', 'f', '!'};
    const bool with_buffer = how >= 3;
    cp_recv(pool_, c.fd, with_buffer ? kReadBuffer : nullptr, 0);
    release_fd(c.fd);
    note("kill fd " + std::to_string(c.fd) + " of client " + std::to_string(c.index) + ", pool told" +
         (with_buffer ? " (size 0, a buffer)" : " (NULL)"));
  } else {
    c.stale.push_back({c.fd, std::move(late), c.epoch, c.epoch_sent});
    note("kill fd " + std::to_string(c.fd) + " of client " + std::to_string(c.index) + ", pool not told");
  }
  c.fd = -1;
  c.established = false;
}

void Simulator::drop_broken_socket(Client &c) {
  c.broken = false;
  if (c.fd < 0) return;
  socket_gone(c);
  cp_recv(pool_, c.fd, nullptr, 0);
  release_fd(c.fd);
  note("client " + std::to_string(c.index) + " drops fd " + std::to_string(c.fd) + " after a protocol error");
  c.fd = -1;
  c.established = false;
  poll_pool();
}

// Changes one byte in flight on an established version 2 connection: the
// side that reads it must close the connection and deliver nothing of it.
void Simulator::op_tamper(Client &c, ChoiceSource &ch) {
  if (!config_.tamper || !c.v2 || c.fd < 0 || !c.established) return;
  std::string &wire = ch.below(2) == 0 ? c.up : c.down;
  if (wire.empty()) return;
  const size_t at = ch.below(static_cast<uint32_t>(wire.size()));
  wire[at] = static_cast<char>(wire[at] ^ (1 + ch.below(255)));
  c.tampered = true;
  ++stats_.tampers;
  note("tamper with byte " + std::to_string(at) + (&wire == &c.up ? " up" : " down") + " on fd " +
       std::to_string(c.fd));
}

void Simulator::op_late_delivery(Client &c, ChoiceSource &ch) {
  for (auto &st : c.stale) {
    if (st.up.empty()) continue;
    const size_t n = 1 + ch.below(static_cast<uint32_t>(st.up.size()));
    const std::string piece = st.up.substr(0, n);
    st.up.erase(0, n);
    note("late delivery of " + std::to_string(n) + " on old fd " + std::to_string(st.fd));
    cp_recv(pool_, st.fd, piece.data(), piece.size());
    poll_pool();
    return;
  }
}

// The first bytes the pool writes to a resuming client's new socket are its
// answer; the session's count is what that answer told the client.
void Simulator::note_reuse_answer(Client &c) {
  sc_session_info info{};
  if (sc_pool_session_info(pool_, c.session, &info, sizeof info) == SC_OK)
    c.told_received = static_cast<int64_t>(info.bytes_received);
}

void Simulator::op_reconnect(Client &c) {
  if (c.fd >= 0) return;
  if (c.resuming) {
    // The reuse attempt itself died: try again a few times, then give up.
    if (++c.failed_attempts > 6) {
      restart_client(c, "too many failed attempts");
      return;
    }
  }
  const int fd = allocate_fd();
  fd_owner_[fd] = &c;
  c.fd = fd;
  c.up.clear();
  c.down.clear();
  c.established = c.tampered = false;
  if (!c.fresh) {
    c.end->handshake();
    // Version 1 cannot resume a session on which nothing was received.
    c.resuming = c.v2 ? c.has_session : c.session != 0 && !c.received.empty();
    c.told_received = -1;
  }
  c.fresh = false;
  note("client " + std::to_string(c.index) + " connects fd " + std::to_string(fd));
  poll_client(c);
}

void Simulator::op_server_close(Client &c) {
  auto it = sessions_.find(c.session);
  if (it == sessions_.end() || it->second->closed) return;
  note("server closes session " + std::to_string(c.session));
  cp_send(pool_, c.session, nullptr, 0);
  poll_pool();
}

void Simulator::op_clock(ChoiceSource &ch) {
  // Time moves with the traffic: the more clients, the less per operation.
  // Now and then a long pause lets handshakes time out and sessions expire.
  const uint32_t n = static_cast<uint32_t>(clients_.size());
  const bool long_pause = ch.below(100 * n) == 0;
  now_ms_ += long_pause ? ch.below(static_cast<uint32_t>(2 * config_.reuse_timeout_ms)) : ch.below(2000 / n + 1);
  note("clock now " + std::to_string(now_ms_));
  cp_timeout(pool_);
  poll_pool();
}

bool Simulator::step(ChoiceSource &ch) {
  if (!failure_.empty()) return false;
  ++stats_.operations;
  Client &c = *clients_[ch.below(static_cast<uint32_t>(clients_.size()))];
  if (c.dead) {
    restart_client(c, "connection dead");
    return failure_.empty();
  }
  const uint32_t op = ch.below(100);
  if (c.fd < 0) {
    if (op < 5)
      op_late_delivery(c, ch);
    else if (op < 60)
      op_reconnect(c);
    else if (op < 80)
      op_client_send(c, ch);
    else if (op < 95)
      op_server_send(c, ch);
    else
      op_clock(ch);
  } else if (op < 12) {
    op_client_send(c, ch);
  } else if (op < 26) {
    op_server_send(c, ch);
  } else if (op < 56) {
    op_deliver_up(c, ch);
  } else if (op < 90) {
    op_deliver_down(c, ch);
  } else if (op < 94) {
    op_kill_socket(c, ch);
  } else if (op < 95) {
    const uint32_t which = ch.below(10);
    if (which < 2)
      op_server_close(c);
    else if (which < 4 && config_.tamper)
      op_tamper(c, ch);
    else
      op_late_delivery(c, ch);
  } else {
    op_clock(ch);
  }
  if (c.broken) drop_broken_socket(c);
  if (c.dead) restart_client(c, "connection dead");
  return failure_.empty();
}

bool Simulator::settle() {
  for (int round = 0; round < 200 && failure_.empty(); ++round) {
    bool moved = false;
    for (auto &cp : clients_) {
      Client &c = *cp;
      if (c.broken) drop_broken_socket(c);
      if (c.dead) restart_client(c, "connection dead");
      if (c.fd < 0) op_reconnect(c);
      poll_client(c);
      if (!c.up.empty()) {
        const std::string piece = std::move(c.up);
        c.up.clear();
        cp_recv(pool_, c.fd, piece.data(), piece.size());
        moved = true;
      }
      poll_pool();
      if (c.fd >= 0 && !c.down.empty()) {
        const std::string piece = std::move(c.down);
        c.down.clear();
        c.end->recv(piece);
        moved = true;
      }
      poll_client(c);
    }
    if (!moved) break;
  }
  if (!failure_.empty()) return false;
  for (auto &cp : clients_) {
    const Client &c = *cp;
    auto it = sessions_.find(c.session);
    if (c.dead || c.fd < 0 || it == sessions_.end() || it->second->closed) continue;
    if (c.received != it->second->sent)
      fail("client " + std::to_string(c.index) + " is missing server data after settling");
    if (it->second->received != c.epoch_sent)
      fail("session " + std::to_string(c.session) + " is missing client data after settling");
  }
  return failure_.empty();
}

}  // namespace sim
