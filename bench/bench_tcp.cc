// Bulk transfer over real loopback TCP between two processes: a server
// process with a connection_pool and a client process with a client, each
// moving bytes between its socket and the library with nonblocking reads and
// writes, against plain TCP between the same two processes in the same run.
//
// One iteration forks both processes, lets them connect (and, with the
// library, complete the handshake), then times the transfer of kTotal bytes
// from the sender to the receiver in kChunk-byte sends: wall time from the
// start signal to the receiver having every byte, and each process's CPU
// time over the same span. A sender sends its next chunk only when the
// previous one has been handed to the socket in full (so TCP's flow control
// paces it, and version 2's window through its backlog). What one read
// returns goes to the library in pieces of at most kFeedSize bytes, and what
// the library hands out after each piece goes to the socket before the next
// (so that version 2's acknowledgements leave as early as they can). Loopback
// only; every wait is bounded, and each process ends itself after
// kTimeoutSeconds.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "benchmarks.h"
#include "common.h"

namespace bench {
namespace {

constexpr size_t kChunk = 16 * 1024;              // bytes per send
constexpr uint64_t kTotal = uint64_t{128} << 20;  // bytes per timed transfer
constexpr size_t kReadSize = 256 * 1024;          // bytes asked of one read()
constexpr size_t kFeedSize = 16 * 1024;           // bytes given to one cp_recv/cc_recv
constexpr int kTimeoutSeconds = 60;               // a process's whole life, at most
constexpr int kWaitMs = 10000;                    // one poll() with nothing to do, at most
constexpr int kPoolFd = 1;                        // the socket's number as the pool sees it
constexpr size_t kSmallWindow = 64 * 1024;        // the small-window runs: version 1's default
constexpr int kRepetitions = 5;                   // of each benchmark, for its median

enum class Kind { kPlain, kVersion1, kVersion2 };
enum class Role { kServer, kClient };

// What one transfer runs: plain TCP or a protocol version, and the window both
// library ends are given (0: the library's default).
struct Setup {
  Kind kind;
  size_t window;
};

double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// What a process tells the parent when it is done.
struct Report {
  double cpu_seconds = 0;
  uint64_t received = 0;
  int ok = 0;
};

// A nonblocking socket and the bytes still to be written to it.
class Wire {
 public:
  explicit Wire(int fd) : fd_(fd) {}

  int fd() const { return fd_; }
  bool idle() const { return head_ == out_.size(); }

  // Writes what it can of data now and keeps the rest.
  bool queue(const char *data, size_t n) {
    if (idle()) {
      out_.clear();
      head_ = 0;
      const ssize_t w = write_some(data, n);
      if (w < 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    out_.insert(out_.end(), data, data + n);
    return true;
  }
  bool flush() {
    while (!idle()) {
      const ssize_t w = write_some(out_.data() + head_, out_.size() - head_);
      if (w < 0) return false;
      if (w == 0) return true;
      head_ += static_cast<size_t>(w);
    }
    return true;
  }

 private:
  // Bytes written, 0 when the socket is full, -1 on an error.
  ssize_t write_some(const char *data, size_t n) {
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd_, data + done, n - done);
      if (w > 0) {
        done += static_cast<size_t>(w);
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        return -1;
      }
    }
    return static_cast<ssize_t>(done);
  }

  int fd_;
  std::vector<char> out_;
  size_t head_ = 0;
};

// One end of the stream: the bytes read from the socket go in, the bytes to
// write come out through the wire, and application data is counted.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual bool ok() const = 0;
  virtual bool ready() const = 0;  // the handshake is done (or there is none)
  virtual void feed(const char *data, size_t n) = 0;
  // Hands what the library has to say to the wire and counts application
  // data received; false if the session died.
  virtual bool drain(Wire &wire, uint64_t &received) = 0;
  virtual bool send(Wire &wire, const char *data, size_t n) = 0;
  virtual uint64_t backlog() = 0;  // bytes given to send() not yet handed to the wire
};

class PlainEnd : public Endpoint {
 public:
  bool ok() const override { return true; }
  bool ready() const override { return true; }
  void feed(const char *, size_t n) override { pending_ += n; }
  bool drain(Wire &, uint64_t &received) override {
    received += pending_;
    pending_ = 0;
    return true;
  }
  bool send(Wire &wire, const char *data, size_t n) override { return wire.queue(data, n); }
  uint64_t backlog() override { return 0; }

 private:
  uint64_t pending_ = 0;
};

class PoolEnd : public Endpoint {
 public:
  explicit PoolEnd(Setup setup) : cp_(cp_new()) {
    if (!cp_) return;
    sc_pool_enable_events(cp_, 1);
    if ((setup.window != 0 && sc_pool_set_window(cp_, setup.window) != SC_OK) ||
        (setup.kind == Kind::kVersion2 && sc_pool_set_static_key(cp_, v2_private_key()) != SC_OK)) {
      cp_delete(cp_);
      cp_ = nullptr;
    }
  }
  ~PoolEnd() override { cp_delete(cp_); }
  PoolEnd(const PoolEnd &) = delete;
  PoolEnd &operator=(const PoolEnd &) = delete;

  bool ok() const override { return cp_ != nullptr; }
  bool ready() const override { return id_ != 0; }
  void feed(const char *data, size_t n) override { cp_recv(cp_, kPoolFd, data, n); }
  bool drain(Wire &wire, uint64_t &received) override {
    pool_message pm;
    sc_pool_event ev;
    for (int r; (r = sc_pool_poll(cp_, &pm, &ev)) != POOL_EMPTY;) {
      if (r == SC_POOL_EVENT) {
        if (ev.type == SC_EVENT_SESSION_OPENED && ev.fd == kPoolFd) id_ = ev.id;
      } else if (r == POOL_IN) {
        received += pm.sz;
      } else if (r == POOL_OUT && pm.id == kPoolFd) {
        if (pm.sz == 0 || !wire.queue(pm.buffer, pm.sz)) return false;  // the pool closed the socket
      }
    }
    return true;
  }
  bool send(Wire &, const char *data, size_t n) override {
    cp_send(cp_, id_, data, n);
    return true;
  }
  uint64_t backlog() override {
    uint64_t bytes = 0;
    return sc_pool_session_backlog(cp_, id_, &bytes) == SC_OK ? bytes : 0;
  }

 private:
  connection_pool *cp_;
  int id_ = 0;
};

class ClientEnd : public Endpoint {
 public:
  explicit ClientEnd(Setup setup) : c_(setup.kind == Kind::kVersion2 ? open_v2_client() : cc_open()) {
    if (!c_) return;
    sc_client_enable_events(c_, 1);
    if (setup.window != 0 && sc_client_set_window(c_, setup.window) != SC_OK) {
      cc_close(c_);
      c_ = nullptr;
    }
  }
  ~ClientEnd() override { cc_close(c_); }
  ClientEnd(const ClientEnd &) = delete;
  ClientEnd &operator=(const ClientEnd &) = delete;

  bool ok() const override { return c_ != nullptr; }
  bool ready() const override { return connected_; }
  void feed(const char *data, size_t n) override { cc_recv(c_, data, n); }
  bool drain(Wire &wire, uint64_t &received) override {
    connection_message cm;
    sc_client_event ev;
    for (int r; (r = sc_client_poll(c_, &cm, &ev)) != MESSAGE_EMPTY;) {
      if (r == SC_MESSAGE_EVENT) {
        if (ev.type == SC_EVENT_CLIENT_CONNECTED) connected_ = true;
        if (ev.type == SC_EVENT_CLIENT_REFUSED) return false;
      } else if (r == MESSAGE_OUT) {
        if (cm.sz > 0 && !wire.queue(cm.buffer, static_cast<size_t>(cm.sz))) return false;
      } else if (r == MESSAGE_IN) {
        if (cm.sz <= 0) return false;  // the connection is dead
        received += static_cast<uint64_t>(cm.sz);
      }
    }
    return true;
  }
  bool send(Wire &, const char *data, size_t n) override {
    cc_send(c_, data, n);
    return true;
  }
  uint64_t backlog() override {
    uint64_t bytes = 0;
    return sc_client_backlog(c_, &bytes) == SC_OK ? bytes : 0;
  }

 private:
  connection *c_;
  bool connected_ = false;
};

bool write_all(int fd, const void *p, size_t n) {
  const char *b = static_cast<const char *>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, void *p, size_t n) {
  char *b = static_cast<char *>(p);
  while (n > 0) {
    const ssize_t r = ::read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Reads what the socket has and feeds it in pieces of kFeedSize, draining
// the library between them; false at the end of the stream or on an error.
// A version 2 receiver acknowledges at the end of each input that carried
// data: fed a whole read at once, it would acknowledge four 16 KiB records
// only after opening all four, while the sender, its 64 KiB window full,
// waited.
bool read_socket(Wire &wire, Endpoint &end, std::vector<char> &buf, uint64_t &received) {
  for (;;) {
    const ssize_t r = ::read(wire.fd(), buf.data(), buf.size());
    if (r > 0) {
      const size_t got = static_cast<size_t>(r);
      for (size_t at = 0; at < got;) {
        const size_t n = std::min(kFeedSize, got - at);
        end.feed(buf.data() + at, n);
        at += n;
        if (at < got && (!end.drain(wire, received) || !wire.flush())) return false;
      }
      if (got < buf.size()) return true;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      return false;
    }
  }
}

bool wait_socket(const Wire &wire, int timeout_ms) {
  pollfd p{wire.fd(), static_cast<short>(POLLIN | (wire.idle() ? 0 : POLLOUT)), 0};
  int r;
  while ((r = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  return r >= 0 && (r > 0 || timeout_ms == 0);
}

// The life of one process after its socket is connected: the handshake, a
// signal to the parent, the start signal, the transfer, the report.
Report run_side(Setup setup, Role role, bool sender, int sock, int to_parent, int from_parent) {
  Report report;
  PlainEnd plain;
  std::unique_ptr<Endpoint> lib;
  if (setup.kind != Kind::kPlain) {
    if (role == Role::kServer)
      lib.reset(new PoolEnd(setup));
    else
      lib.reset(new ClientEnd(setup));
  }
  Endpoint &end = lib ? *lib : plain;
  if (!end.ok()) return report;
  Wire wire(sock);
  std::vector<char> buf(kReadSize);
  uint64_t received = 0;

  // The handshake; a server learns its session's id.
  for (;;) {
    if (!end.drain(wire, received) || !wire.flush()) return report;
    if (end.ready()) break;
    if (!wait_socket(wire, kWaitMs) || !read_socket(wire, end, buf, received)) return report;
  }
  const char ready = 'r';
  char go = 0;
  if (!write_all(to_parent, &ready, 1) || !read_all(from_parent, &go, 1)) return report;

  const double cpu0 = process_cpu_seconds();
  const char *data = payload(kChunk);
  uint64_t sent = 0;
  bool peer_gone = false;
  for (;;) {
    if (sender && sent < kTotal && wire.idle() && end.backlog() == 0) {
      if (!end.send(wire, data, kChunk)) return report;
      sent += kChunk;
    }
    if (!end.drain(wire, received) || !wire.flush()) return report;
    if (!sender && received >= kTotal) break;
    if (sender && peer_gone) break;
    // Without anything to send right away, block until the socket is ready.
    const bool can_send = sender && sent < kTotal && wire.idle() && end.backlog() == 0;
    if (!wait_socket(wire, can_send ? 0 : kWaitMs)) return report;
    if (!read_socket(wire, end, buf, received)) {
      // The receiver closes its socket once it has everything.
      if (!sender || sent < kTotal) return report;
      peer_gone = true;
    }
  }
  report.cpu_seconds = process_cpu_seconds() - cpu0;
  report.received = received;
  report.ok = 1;
  return report;
}

// A child process: the socket, run_side, the report, and _exit (no
// destructors of the parent's state, no benchmark output).
[[noreturn]] void child(Setup setup, Role role, bool sender, int listener, uint16_t port, int to_parent,
                        int from_parent) {
  alarm(kTimeoutSeconds);
  Report report;
  int sock = -1;
  if (role == Role::kServer) {
    sock = ::accept(listener, nullptr, nullptr);
  } else {
    sock = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sock >= 0 && ::connect(sock, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
      ::close(sock);
      sock = -1;
    }
  }
  ::close(listener);
  if (sock >= 0) {
    const int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    report = run_side(setup, role, sender, sock, to_parent, from_parent);
    ::close(sock);
  }
  const char done = 'd';
  write_all(to_parent, &done, 1);
  write_all(to_parent, &report, sizeof report);
  _exit(report.ok ? 0 : 1);
}

// A process of the pair: its pid and the two ends of its pipes the parent keeps.
struct Child {
  pid_t pid = -1;
  int from_child = -1;  // ready signal, then the done signal and the report
  int to_child = -1;    // the start signal
};

Child spawn(Setup setup, Role role, bool sender, int listener, uint16_t port) {
  Child c;
  int up[2], down[2];
  if (pipe(up) != 0) return c;
  if (pipe(down) != 0) {
    ::close(up[0]);
    ::close(up[1]);
    return c;
  }
  c.pid = fork();
  if (c.pid == 0) {
    ::close(up[0]);
    ::close(down[1]);
    child(setup, role, sender, listener, port, up[1], down[0]);
  }
  ::close(up[1]);
  ::close(down[0]);
  c.from_child = up[0];
  c.to_child = down[1];
  return c;
}

void finish(Child &c) {
  if (c.from_child >= 0) ::close(c.from_child);
  if (c.to_child >= 0) ::close(c.to_child);
  if (c.pid > 0) {
    kill(c.pid, SIGKILL);  // no-op for a process that already ended
    waitpid(c.pid, nullptr, 0);
  }
  c = Child();
}

// One timed transfer; false (and `why`) on failure.
struct Transfer {
  double wall_seconds = 0;
  double server_cpu = 0, client_cpu = 0;
};

bool transfer(Setup setup, bool to_client, Transfer &t, const char *&why) {
  why = "loopback socket setup failed";
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listener, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
    ::close(listener);
    return false;
  }
  const uint16_t port = ntohs(a.sin_port);
  Child server = spawn(setup, Role::kServer, to_client, listener, port);
  Child client = spawn(setup, Role::kClient, !to_client, listener, port);
  ::close(listener);
  bool ok = false;
  char r1 = 0, r2 = 0;
  why = "a process failed before the transfer (handshake or setup)";
  if (server.pid > 0 && client.pid > 0 && read_all(server.from_child, &r1, 1) && read_all(client.from_child, &r2, 1) &&
      r1 == 'r' && r2 == 'r') {
    Child &receiver = to_client ? client : server;
    Child &sender = to_client ? server : client;
    const char go = 'g';
    const auto t0 = std::chrono::steady_clock::now();
    Report rr, rs;
    char d1 = 0, d2 = 0;
    why = "the transfer failed or did not end";
    if (write_all(server.to_child, &go, 1) && write_all(client.to_child, &go, 1) &&
        read_all(receiver.from_child, &d1, 1)) {
      const auto t1 = std::chrono::steady_clock::now();
      if (read_all(receiver.from_child, &rr, sizeof rr) && read_all(sender.from_child, &d2, 1) &&
          read_all(sender.from_child, &rs, sizeof rs) && rr.ok && rs.ok) {
        why = "bytes lost";
        if (rr.received == kTotal) {
          t.wall_seconds = std::chrono::duration<double>(t1 - t0).count();
          t.server_cpu = (to_client ? rs : rr).cpu_seconds;
          t.client_cpu = (to_client ? rr : rs).cpu_seconds;
          ok = true;
        }
      }
    }
  }
  finish(server);
  finish(client);
  return ok;
}

// Plain TCP, or a session of protocol version 1 or 2, one way. A library
// transfer is flanked by a plain one just before and one just after, the
// same way: plain TCP's rate on this machine moves by a fifth from one run to
// the next, so the ratio divides by the mean of the two plain rates beside it.
template <Kind K, bool ToClient, size_t Window = 0>
void BM_Tcp(benchmark::State &state) {
  double wall = 0, server_cpu = 0, client_cpu = 0, plain_rates = 0, ratios = 0;
  const char *why = nullptr;
  auto rate = [](const Transfer &t) { return static_cast<double>(kTotal) / t.wall_seconds; };
  for (auto _ : state) {
    Transfer t, before, after;
    const bool beside = K != Kind::kPlain;
    if ((beside && !transfer(Setup{Kind::kPlain, 0}, ToClient, before, why)) ||
        !transfer(Setup{K, Window}, ToClient, t, why) ||
        (beside && !transfer(Setup{Kind::kPlain, 0}, ToClient, after, why))) {
      fail(state, why);
      return;
    }
    state.SetIterationTime(t.wall_seconds);
    wall += t.wall_seconds;
    server_cpu += t.server_cpu;
    client_cpu += t.client_cpu;
    if (beside) {
      const double plain = (rate(before) + rate(after)) / 2;
      plain_rates += plain;
      ratios += rate(t) / plain;
    }
  }
  const double gb = static_cast<double>(kTotal) * static_cast<double>(state.iterations()) / 1e9;
  if (K != Kind::kPlain) {
    state.counters["plain_beside"] = plain_rates / static_cast<double>(state.iterations());
    state.counters["ratio_beside"] = ratios / static_cast<double>(state.iterations());
  }
  state.counters["bytes_per_second"] = gb * 1e9 / wall;
  state.counters["cpu_s_per_gb"] = (server_cpu + client_cpu) / gb;
  state.counters["server_cpu_s_per_gb"] = server_cpu / gb;
  state.counters["client_cpu_s_per_gb"] = client_cpu / gb;
}

}  // namespace

void register_tcp_benchmarks() {
  // A child killed by its alarm must not take the parent's writes with it.
  signal(SIGPIPE, SIG_IGN);
  auto add = [](const char *name, void (*fn)(benchmark::State &)) {
    // Five repetitions whatever the command line asks: one transfer takes
    // a fraction of a second, and three left the medians noisy.
    benchmark::RegisterBenchmark(name, fn)
        ->UseManualTime()
        ->Iterations(1)
        ->Repetitions(kRepetitions)
        ->Unit(benchmark::kMillisecond);
  };
  add("BM_TcpPlain", BM_Tcp<Kind::kPlain, true>);
  add("BM_TcpServerToClient", BM_Tcp<Kind::kVersion1, true>);
  add("BM_TcpClientToServer", BM_Tcp<Kind::kVersion1, false>);
#ifdef SC_WITH_V2
  add("BM_TcpV2ServerToClient", BM_Tcp<Kind::kVersion2, true>);
  add("BM_TcpV2ClientToServer", BM_Tcp<Kind::kVersion2, false>);
  // The same with 64 KiB windows on both ends: a sender then keeps only four
  // sends in flight and waits for each acknowledgement in turn.
  add("BM_TcpV2ServerToClientWindow64K", BM_Tcp<Kind::kVersion2, true, kSmallWindow>);
  add("BM_TcpV2ClientToServerWindow64K", BM_Tcp<Kind::kVersion2, false, kSmallWindow>);
#endif
}

}  // namespace bench
