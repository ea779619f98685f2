// A deterministic network simulator: one pool, many clients, sockets that
// break at any moment (mid-handshake, mid-resend, during data), bytes lost in
// flight, reads split at random, fd numbers reused, server-side closes and a
// simulated clock. Every choice comes from a ChoiceSource, so a seeded PRNG
// (the simulator test) and fuzz data (the structured fuzzer) drive the same
// model.
//
// Invariants, checked on every delivery and event:
// - each application stream is a prefix of what the other side sent on that
//   session: nothing lost, duplicated or reordered;
// - a session moves only to a socket of the client that owns it;
// - a client whose session cannot be resumed learns it through a reason the
//   pool reported (session closed, or handshake refused because the session
//   is gone or the window was exceeded), never silently;
// - version 2 clients (beside version 1 ones on the same pool) report a
//   protocol error only on a connection whose bytes were tampered with, and
//   nothing tampered with is ever delivered.
#ifndef SC_TESTS_SIMULATOR_H
#define SC_TESTS_SIMULATOR_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h"

namespace sim {

class ChoiceSource {
 public:
  virtual ~ChoiceSource() = default;
  // A value in [0, n); n > 0.
  virtual uint32_t below(uint32_t n) = 0;
  // False once the source has nothing more to give (fuzz data exhausted).
  virtual bool more() const { return true; }
};

// xorshift-based, reproducible from its seed.
class SeededChoices : public ChoiceSource {
 public:
  explicit SeededChoices(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint32_t below(uint32_t n) override;

 private:
  uint64_t state_;
};

struct Config {
  int clients = 8;
  int old_clients = 0;  // how many of them fingerprint the plaintext like the reference
  int v2_clients = 0;   // how many of the others speak version 2 (the pool then has a key)
  bool tamper = false;  // a fault that changes a byte in flight on a version 2 connection
  size_t window = 4096;
  uint64_t reuse_timeout_ms = 20000;
  uint64_t handshake_timeout_ms = 5000;
  size_t max_message = 700;
};

struct Stats {
  uint64_t operations = 0;
  uint64_t bytes_client_to_server = 0;  // delivered and verified
  uint64_t bytes_server_to_client = 0;
  uint64_t socket_deaths = 0;
  uint64_t reuses = 0;
  uint64_t sessions_opened = 0;
  uint64_t refusals = 0;
  uint64_t refusals_by_reason[SC_REASON_MAX + 1] = {};
  uint64_t closes_by_reason[SC_REASON_MAX + 1] = {};
  uint64_t sessions_closed = 0;
  uint64_t client_restarts = 0;
  uint64_t tampers = 0;          // bytes changed in flight (version 2 connections)
  uint64_t tampers_caught = 0;   // connections closed for it, by either side
  uint64_t v2_sessions = 0;      // sessions opened by version 2 clients
  uint64_t v2_reuses = 0;
};

class Simulator {
 public:
  explicit Simulator(const Config &config);
  ~Simulator();
  Simulator(const Simulator &) = delete;
  Simulator &operator=(const Simulator &) = delete;

  // Performs one random operation. Returns false once an invariant broke;
  // failure() then says what and where.
  bool step(ChoiceSource &choices);
  // Heals every socket and delivers until quiet, then checks that every
  // client that still has its session got everything that was sent.
  bool settle();

  const std::string &failure() const { return failure_; }
  const Stats &stats() const { return stats_; }
  // The last operations performed, oldest first: a reproduction aid.
  std::string recent_operations() const;

 private:
  struct Session;
  struct Client;

  // operations
  void op_client_send(Client &c, ChoiceSource &ch);
  void op_server_send(Client &c, ChoiceSource &ch);
  void op_deliver_up(Client &c, ChoiceSource &ch);
  void op_deliver_down(Client &c, ChoiceSource &ch);
  void op_kill_socket(Client &c, ChoiceSource &ch);
  void note_reuse_answer(Client &c);
  void op_reconnect(Client &c);
  void op_late_delivery(Client &c, ChoiceSource &ch);
  void op_server_close(Client &c);
  void op_clock(ChoiceSource &ch);
  void op_tamper(Client &c, ChoiceSource &ch);
  // The application closes a socket its client can no longer use.
  void drop_broken_socket(Client &c);

  // plumbing
  void poll_client(Client &c);
  void poll_pool();
  void on_pool_event(const sc_pool_event &ev);
  void on_server_data(int id, const char *data, size_t n);
  void on_client_data(Client &c, const char *data, size_t n);
  void on_client_event(Client &c, const sc_client_event &ev);
  void on_v2_refusal(Client &c, int reason);
  void socket_gone(Client &c);
  void restart_client(Client &c, const char *why);
  int allocate_fd();
  void release_fd(int fd);
  Client *owner_of_fd(int fd);
  void fail(const std::string &what);
  void note(const std::string &what);

  Config config_;
  uint64_t now_ms_ = 1000000;
  connection_pool *pool_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::map<int, std::unique_ptr<Session>> sessions_;  // by pool session id
  std::set<int> fds_in_use_;
  std::map<int, Client *> fd_owner_;
  // Handshake refusals and closes the pool reported, by fd: consulted when a
  // client finds its socket closed during a reuse.
  std::map<int, int> refused_fd_reason_;
  Stats stats_;
  std::string failure_;
  std::deque<std::string> recent_;
  uint64_t next_payload_ = 1;
  uint8_t server_public_key_[SC_KEY_SIZE] = {};
};

}  // namespace sim

#endif
