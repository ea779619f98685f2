// The example server under attack, over real TCP on loopback.
//
//   attack_test --server PATH --client PATH [--no-rss]
//
// It starts examples/stable_server with a low descriptor limit and a small
// budget, and legitimate examples/stable_client processes that stream
// verified data both ways (breaking their own sockets now and then, so they
// resume under attack too). After a baseline it attacks from this process:
// waves of idle sockets beyond the server's descriptor limit, partial
// handshakes, slowloris handshakes, garbage, floods of sessions that ask for a
// stream and reset, random reuse requests, and sessions that never read. Then
// it holds the server out of descriptors with nothing else going on, and
// finally lets every idle socket be reclaimed.
//
// It fails unless: every legitimate client verified every byte, the server
// saw no mismatch; legitimate throughput during the attack stayed above
// kMinThroughputRatio of the baseline; the server's peak resident memory
// stayed under its budget plus a stated allowance (not under sanitizers,
// --no-rss); the pool's counted bytes stayed under the budget; the server
// used little CPU while held out of descriptors (it does not spin); its log
// stayed small; and every idle socket was closed by the server within its
// handshake timeout. Every process it starts is stopped at the end, and each
// is killed with this one if it dies (PR_SET_PDEATHSIG).

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectionclient.h"
#include "connectionserver.h"
#include "demo_stream.h"
#include "stable_connection.h"

namespace {

// ---------------------------------------------------------------- settings

constexpr int kServerFdLimit = 512;      // soft and hard, set for the server alone
constexpr uint64_t kHandshakeMs = 1000;  // the server's handshake timeout
constexpr uint64_t kMaxBytes = 64u << 20;
constexpr const char *kMaxBytesArg = "64M";
constexpr const char *kWindowArg = "256K";
constexpr int kLegitClients = 3;
constexpr const char *kLegitSize = "12M";

constexpr uint64_t kBaselineMs = 4000;
constexpr uint64_t kAttackMs = 12000;
constexpr uint64_t kQuietMs = 3000;   // held out of descriptors, nothing else
constexpr uint64_t kDrainMs = 60000;  // for the legitimate clients to finish

// Attack rates (per second) and counts. Two waves of idle sockets, in the
// attack's first half, hold the server out of descriptors; the session flood
// runs in its second half. A legitimate client kept from reconnecting by a
// wave stays detached for a while, and the budget ends the detached sessions
// idle the longest first: the flood starts once the waves are shed, so that
// what the budget ends is the flood's, as a server expects of it.
constexpr int kIdleWave = kServerFdLimit + 200;
constexpr double kFloodRate = 300, kGarbageRate = 150, kPartialRate = 40, kReuseRate = 100;
constexpr int kSlowOpen = 30, kDeafOpen = 30;

// What must hold.
constexpr double kMinThroughputRatio = 0.20;
constexpr double kMaxQuietCpuShare = 0.25;     // of the quiet phase's wall time
constexpr uint64_t kRssAllowance = 32u << 20;  // beyond 1.5x the byte budget and the start size
constexpr uint64_t kMaxLogBytes = 512u << 10;

constexpr int kSkipped = 77;  // ctest's SKIP_RETURN_CODE

uint64_t now_ms() { return demo_now_ms(); }

[[noreturn]] void fatal(const char *what) {
  std::perror(what);
  std::exit(2);
}

// ---------------------------------------------------------------- processes

struct Proc {
  pid_t pid = -1;
  int out = -1;                // its stdout and stderr
  std::string buf, all, tail;  // the first MiB of its output, and the last
  bool exited = false;
  int status = 0;
  // Parsed.
  uint64_t c2s = 0, s2c = 0;  // legitimate client: bytes verified so far
  bool ok = false;            // legitimate client: its "result" line said ok=1
};

pid_t spawn(const std::vector<std::string> &argv, int *out_fd, int fd_limit) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) fatal("pipe2");
  const pid_t pid = fork();
  if (pid < 0) fatal("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(p[1], 1);
    dup2(p[1], 2);
    if (fd_limit > 0) {
      struct rlimit rl;
      rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(fd_limit);
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    }
    std::vector<char *> av;
    for (const std::string &a : argv) av.push_back(const_cast<char *>(a.c_str()));
    av.push_back(nullptr);
    execv(av[0], av.data());
    _exit(127);
  }
  close(p[1]);
  fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
  *out_fd = p[0];
  return pid;
}

uint64_t field(const std::string &line, const char *name) {
  const std::string key = std::string(" ") + name + "=";
  const size_t at = line.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(line.c_str() + at + key.size(), nullptr, 10);
}

// /proc/PID/stat: user and system time, in seconds.
double cpu_seconds(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE *f = std::fopen(path, "r");
  if (!f) return 0;
  char text[2048];
  const size_t n = std::fread(text, 1, sizeof text - 1, f);
  std::fclose(f);
  text[n] = '\0';
  const char *p = std::strrchr(text, ')');
  if (!p) return 0;
  unsigned long long ut = 0, st = 0;
  // Fields after the name: state(3) ... utime(14) stime(15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// /proc/PID/status: a size in bytes ("VmRSS", "VmHWM").
uint64_t proc_kib(pid_t pid, const char *name) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  FILE *f = std::fopen(path, "r");
  if (!f) return 0;
  char line[256];
  uint64_t v = 0;
  const size_t len = std::strlen(name);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, name, len) == 0 && line[len] == ':') v = std::strtoull(line + len + 1, nullptr, 10);
  std::fclose(f);
  return v * 1024;
}

// ---------------------------------------------------------------- attackers

enum class Kind { kIdle, kPartial, kSlow, kGarbage, kFlood, kReuse, kDeaf, kCount };
const char *const kKindName[] = {"idle", "partial", "slowloris", "garbage", "flood", "reuse", "deaf"};

struct Attacker {
  Kind kind;
  int fd = -1;
  uint64_t opened_ms = 0, next_ms = 0;
  size_t sent = 0;                 // slowloris: bytes of its handshake so far
  uint64_t received = 0;           // flood, deaf: stream bytes from the server
  struct connection *c = nullptr;  // flood, deaf: a real client session
  bool reading = true;
};

struct Totals {
  uint64_t opened[static_cast<int>(Kind::kCount)] = {};
  uint64_t closed_by_server[static_cast<int>(Kind::kCount)] = {};
  uint64_t connect_failed = 0;
};

class Attack {
 public:
  Attack(uint16_t port, int ep) : port_(port), ep_(ep) {}
  ~Attack() { close_all(); }

  Totals totals;
  demo_rng rng{0x5eed};

  // Opens one attacker socket of `kind`; false if this process is out of descriptors.
  bool open(Kind kind) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0 && errno != EINPROGRESS) {
      ++totals.connect_failed;
      close(fd);
      return true;
    }
    auto a = std::make_unique<Attacker>();
    a->kind = kind;
    a->fd = fd;
    a->opened_ms = now_ms();
    a->next_ms = a->opened_ms;
    ++totals.opened[static_cast<int>(kind)];
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint64_t>(fd);
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) fatal("epoll_ctl");
    Attacker &at = *a;
    by_fd_[fd] = std::move(a);
    start(at);
    return true;
  }

  size_t count(Kind kind) const {
    size_t n = 0;
    for (const auto &kv : by_fd_)
      if (kv.second->kind == kind) ++n;
    return n;
  }

  // A readable attacker socket (fd from the epoll tag). Returns false if not ours.
  bool readable(int fd) {
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) return false;
    Attacker &a = *it->second;
    char buf[16384];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (a.c && a.reading) feed(a, buf, static_cast<size_t>(n));
        if (by_fd_.find(fd) == by_fd_.end()) return true;  // it ended itself
        if (!a.reading) return true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      // End of file or reset: the server closed it.
      ++totals.closed_by_server[static_cast<int>(a.kind)];
      finish(fd, false);
      return true;
    }
  }

  // Timed steps: slowloris bytes, floods that reset.
  void tick(uint64_t now) {
    std::vector<int> due;
    for (const auto &kv : by_fd_)
      if (kv.second->next_ms <= now && (kv.second->kind == Kind::kSlow || kv.second->kind == Kind::kFlood))
        due.push_back(kv.first);
    for (int fd : due) {
      auto it = by_fd_.find(fd);
      if (it == by_fd_.end()) continue;
      Attacker &a = *it->second;
      if (a.kind == Kind::kSlow) {
        uint8_t b = 0;  // a new-connection request is zeros, then the client's key
        if (a.sent >= 8) b = static_cast<uint8_t>(demo_rand(&rng) | 1);
        if (a.sent < 16 && ::send(fd, &b, 1, MSG_NOSIGNAL) == 1) ++a.sent;
        a.next_ms = now + 250;
      } else {
        finish(fd, true);  // time is up: reset it, the session stays behind detached
      }
    }
  }

  // Closes every socket of `kind` (all of them with kCount).
  void close_kind(Kind kind) {
    std::vector<int> fds;
    for (const auto &kv : by_fd_)
      if (kind == Kind::kCount || kv.second->kind == kind) fds.push_back(kv.first);
    for (int fd : fds) finish(fd, true);
  }
  void close_all() { close_kind(Kind::kCount); }

 private:
  void start(Attacker &a) {
    uint8_t buf[64];
    switch (a.kind) {
      case Kind::kIdle:
        break;
      case Kind::kPartial:
        std::memset(buf, 0, 5);  // the first 5 bytes of a new-connection request
        ::send(a.fd, buf, 5, MSG_NOSIGNAL);
        break;
      case Kind::kSlow:
        break;  // tick() sends a byte every 250 ms
      case Kind::kGarbage:
        for (uint8_t &b : buf) b = static_cast<uint8_t>(demo_rand(&rng));
        buf[0] |= 1;  // never a new-connection request
        ::send(a.fd, buf, sizeof buf, MSG_NOSIGNAL);
        break;
      case Kind::kReuse: {
        // A well-formed reuse request for a session nobody has.
        for (uint8_t &b : buf) b = static_cast<uint8_t>(demo_rand(&rng));
        buf[0] |= 1;
        ::send(a.fd, buf, 12, MSG_NOSIGNAL);
        break;
      }
      case Kind::kFlood:
      case Kind::kDeaf: {
        // A real session that asks for a long stream: the server produces
        // data for it, which its resend buffer then holds.
        a.c = cc_open();
        if (!a.c) fatal("cc_open");
        unsigned char hdr[DEMO_HEADER_SIZE];
        std::memcpy(hdr, DEMO_HEADER_MAGIC, 8);
        demo_put64(hdr + 8, 1000000 + demo_rand(&rng) % 1000000);
        demo_put64(hdr + 16, demo_rand(&rng));
        demo_put64(hdr + 24, 1ull << 40);
        cc_send(a.c, reinterpret_cast<const char *>(hdr), sizeof hdr);
        flush(a);
        a.next_ms = a.opened_ms + 200 + demo_rand(&rng) % 200;
        break;
      }
      case Kind::kCount:
        break;
    }
  }

  void flush(Attacker &a) {
    struct connection_message m;
    for (int r; (r = cc_poll(a.c, &m)) != MESSAGE_EMPTY;) {
      if (r == MESSAGE_OUT) {
        ::send(a.fd, m.buffer, static_cast<size_t>(m.sz), MSG_NOSIGNAL);
      } else if (r == MESSAGE_IN && m.sz > 0) {
        a.received += static_cast<uint64_t>(m.sz);
      }
    }
  }

  void feed(Attacker &a, const char *p, size_t n) {
    cc_recv(a.c, p, n);
    flush(a);
    if (a.kind == Kind::kDeaf && a.received > 0) {
      // From now on it never reads: what the server sends piles up.
      a.reading = false;
      epoll_event ev{};
      ev.events = EPOLLRDHUP;
      ev.data.u64 = static_cast<uint64_t>(a.fd);
      epoll_ctl(ep_, EPOLL_CTL_MOD, a.fd, &ev);
    }
    if (a.kind == Kind::kFlood && a.received >= 4096) finish(a.fd, true);
  }

  void finish(int fd, bool reset) {
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) return;
    if (reset) {
      struct linger l = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    if (it->second->c) cc_close(it->second->c);
    by_fd_.erase(it);
  }

  uint16_t port_;
  int ep_;
  std::map<int, std::unique_ptr<Attacker>> by_fd_;
};

// Opens attackers at `rate` per second since `since`, `*done` so far.
void open_at_rate(Attack &attack, Kind kind, double rate, uint64_t since, uint64_t now, uint64_t *done) {
  const uint64_t due = static_cast<uint64_t>(rate * static_cast<double>(now - since) / 1000.0);
  for (int k = 0; k < 64 && *done < due; ++k, ++*done)
    if (!attack.open(kind)) break;
}

// ---------------------------------------------------------------- the run

struct Run {
  std::string server_path, client_path;
  bool check_rss = true;

  int ep = -1;
  Proc server;
  std::vector<std::unique_ptr<Proc>> clients;
  int next_index = 1;
  uint16_t port = 0;
  uint64_t server_log_bytes = 0, peak_budgeted = 0;
  std::string server_final;
  uint64_t legit_done = 0;  // verified bytes of clients that have finished
  int legit_finished = 0, legit_failed = 0;
  std::vector<std::string> failures;

  void fail(const std::string &why) { failures.push_back(why); }

  void watch(int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fatal("epoll_ctl");
  }

  static constexpr uint64_t kServerTag = 1ull << 40;
  static constexpr uint64_t kClientTag = 1ull << 41;

  void start_server() {
    std::vector<std::string> av = {server_path,
                                   "--port",
                                   "0",
                                   "--window",
                                   kWindowArg,
                                   "--handshake-timeout",
                                   std::to_string(kHandshakeMs),
                                   "--reuse-timeout",
                                   "30000",
                                   "--max-handshakes",
                                   "2000",
                                   "--max-sessions",
                                   "4000",
                                   "--max-bytes",
                                   kMaxBytesArg,
                                   "--report-ms",
                                   "250",
                                   "--log-rate",
                                   "20",
                                   "--trim-seconds",
                                   "2"};
    server.pid = spawn(av, &server.out, kServerFdLimit);
    watch(server.out, kServerTag);
    const uint64_t until = now_ms() + 10000;
    while (port == 0 && now_ms() < until) step(50);
    if (port == 0) {
      std::fprintf(stderr, "attack: the server did not start:\n%s\n", server.all.c_str());
      std::exit(1);
    }
  }

  void start_client() {
    auto p = std::make_unique<Proc>();
    const int index = next_index++;
    std::vector<std::string> av = {client_path,
                                   "--port",
                                   std::to_string(port),
                                   "--size",
                                   kLegitSize,
                                   "--seed",
                                   std::to_string(1000 + index),
                                   "--index",
                                   std::to_string(index),
                                   "--window",
                                   kWindowArg,
                                   "--kill-interval",
                                   "300",
                                   "--report-ms",
                                   "200",
                                   "--max-seconds",
                                   "120"};
    p->pid = spawn(av, &p->out, 0);
    watch(p->out, kClientTag | clients.size());
    clients.push_back(std::move(p));
  }

  // Legitimate bytes verified so far, by every client.
  uint64_t legit_bytes() const {
    uint64_t n = legit_done;
    for (const auto &c : clients)
      if (!c->exited) n += c->c2s + c->s2c;
    return n;
  }
  size_t running_clients() const {
    size_t n = 0;
    for (const auto &c : clients) n += !c->exited;
    return n;
  }

  void on_server_line(const std::string &line) {
    unsigned p = 0;
    if (port == 0 && std::sscanf(line.c_str(), "listening 127.0.0.1 port=%u", &p) == 1) port = static_cast<uint16_t>(p);
    if (line.rfind("stats ", 0) == 0 || line.rfind("final ", 0) == 0) {
      const uint64_t b = field(line, "budgeted");
      if (b > peak_budgeted) peak_budgeted = b;
      if (line.rfind("final ", 0) == 0) server_final = line;
    } else {
      server_log_bytes += line.size() + 1;
    }
  }

  void on_client_line(Proc &c, const std::string &line) {
    if (line.find(" index=") == std::string::npos) return;
    c.c2s = field(line, "c2s");
    c.s2c = field(line, "s2c");
    if (line.rfind("result ", 0) == 0) c.ok = field(line, "ok") == 1;
  }

  void read_pipe(Proc &p, bool is_server) {
    char buf[65536];
    for (;;) {
      const ssize_t n = read(p.out, buf, sizeof buf);
      if (n <= 0) break;
      p.buf.append(buf, static_cast<size_t>(n));
      if (p.all.size() < (1u << 20)) p.all.append(buf, static_cast<size_t>(n));
      p.tail.append(buf, static_cast<size_t>(n));
      if (p.tail.size() > (256u << 10)) p.tail.erase(0, p.tail.size() - (128u << 10));
    }
    size_t nl;
    while ((nl = p.buf.find('\n')) != std::string::npos) {
      const std::string line = p.buf.substr(0, nl);
      p.buf.erase(0, nl + 1);
      if (is_server)
        on_server_line(line);
      else
        on_client_line(p, line);
    }
  }

  void reap() {
    for (auto &c : clients) {
      if (c->exited) continue;
      int st;
      if (waitpid(c->pid, &st, WNOHANG) != c->pid) continue;
      read_pipe(*c, false);
      c->exited = true;
      c->status = st;
      ++legit_finished;
      legit_done += c->c2s + c->s2c;
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !c->ok) {
        ++legit_failed;
        fail("a legitimate client failed (status " + std::to_string(st) + "):\n" + c->all);
      }
      epoll_ctl(ep, EPOLL_CTL_DEL, c->out, nullptr);
      close(c->out);
      c->out = -1;
    }
  }

  // One turn: pipes, attacker sockets, timers. Waits at most `wait` ms.
  Attack *attack = nullptr;
  void step(int wait) {
    epoll_event evs[256];
    const int n = epoll_wait(ep, evs, 256, wait);
    for (int k = 0; k < n; ++k) {
      const uint64_t tag = evs[k].data.u64;
      if (tag == kServerTag) {
        read_pipe(server, true);
      } else if (tag & kClientTag) {
        Proc &c = *clients[tag & ~kClientTag];
        if (c.out >= 0) read_pipe(c, false);
      } else if (attack) {
        attack->readable(static_cast<int>(tag));
      }
    }
    if (attack) attack->tick(now_ms());
    reap();
  }

  void stop(Proc &p, bool is_server) {
    if (p.exited || p.pid < 0) return;
    kill(p.pid, SIGTERM);
    const uint64_t until = now_ms() + 5000;
    int st = 0;
    while (now_ms() < until) {
      if (p.out >= 0) read_pipe(p, is_server);
      if (waitpid(p.pid, &st, WNOHANG) == p.pid) {
        p.exited = true;
        break;
      }
      usleep(10000);
    }
    if (!p.exited) {
      kill(p.pid, SIGKILL);
      waitpid(p.pid, &st, 0);
      p.exited = true;
      if (is_server) fail("the server did not stop on SIGTERM within 5 s");
    }
    if (p.out >= 0) read_pipe(p, is_server);
    p.status = st;
  }
};

int run(Run &r) {
  {  // This process holds many attacker sockets.
    const rlim_t want = static_cast<rlim_t>(4 * kIdleWave);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      if (rl.rlim_max < want) rl.rlim_max = want;  // allowed to root
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;  // not root: as many as the hard limit allows
        setrlimit(RLIMIT_NOFILE, &rl);
      }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want) {
      std::printf("attack: skipped: this process may open only %llu descriptors, it needs %llu\n",
                  static_cast<unsigned long long>(rl.rlim_cur), static_cast<unsigned long long>(want));
      return kSkipped;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  r.ep = epoll_create1(EPOLL_CLOEXEC);
  if (r.ep < 0) fatal("epoll_create1");
  r.start_server();
  const uint64_t rss_start = proc_kib(r.server.pid, "VmRSS");
  std::printf("attack: server pid %d on port %u, descriptor limit %d, budget %s, window %s\n",
              static_cast<int>(r.server.pid), r.port, kServerFdLimit, kMaxBytesArg, kWindowArg);

  for (int k = 0; k < kLegitClients; ++k) r.start_client();
  // Clients that finish are replaced until the attack is over.
  auto keep_clients = [&] {
    while (r.running_clients() < static_cast<size_t>(kLegitClients)) r.start_client();
  };

  // Baseline: the legitimate clients alone (after a second to get going).
  uint64_t t = now_ms();
  while (now_ms() < t + 1000) r.step(20), keep_clients();
  const uint64_t base_t0 = now_ms(), base_b0 = r.legit_bytes();
  while (now_ms() < base_t0 + kBaselineMs) r.step(20), keep_clients();
  const uint64_t base_t1 = now_ms(), base_b1 = r.legit_bytes();
  const double base_rate = static_cast<double>(base_b1 - base_b0) / static_cast<double>(base_t1 - base_t0);

  // The attack.
  Attack attack(r.port, r.ep);
  r.attack = &attack;
  const double cpu_a0 = cpu_seconds(r.server.pid);
  const uint64_t att_t0 = now_ms(), att_b0 = r.legit_bytes();
  uint64_t floods = 0, garbage = 0, partial = 0, reuse = 0;
  int waves = 0;
  for (int k = 0; k < kDeafOpen; ++k) attack.open(Kind::kDeaf);
  while (now_ms() < att_t0 + kAttackMs) {
    const uint64_t now = now_ms();
    // Two waves of idle sockets, each beyond the server's descriptor limit.
    if ((waves == 0) || (waves == 1 && now >= att_t0 + kAttackMs / 4)) {
      ++waves;
      for (int k = 0; k < kIdleWave; ++k) attack.open(Kind::kIdle);
    }
    const uint64_t flood_t0 = att_t0 + kAttackMs / 2;
    if (now >= flood_t0) open_at_rate(attack, Kind::kFlood, kFloodRate, flood_t0, now, &floods);
    open_at_rate(attack, Kind::kGarbage, kGarbageRate, att_t0, now, &garbage);
    open_at_rate(attack, Kind::kPartial, kPartialRate, att_t0, now, &partial);
    open_at_rate(attack, Kind::kReuse, kReuseRate, att_t0, now, &reuse);
    while (attack.count(Kind::kSlow) < static_cast<size_t>(kSlowOpen)) attack.open(Kind::kSlow);
    r.step(5);
    keep_clients();
  }
  const uint64_t att_t1 = now_ms(), att_b1 = r.legit_bytes();
  const double cpu_a1 = cpu_seconds(r.server.pid);
  const double att_rate = static_cast<double>(att_b1 - att_b0) / static_cast<double>(att_t1 - att_t0);
  attack.close_all();

  // The legitimate clients finish what they stream.
  const uint64_t drain_until = now_ms() + kDrainMs;
  while (r.running_clients() > 0 && now_ms() < drain_until) r.step(20);
  if (r.running_clients() > 0) r.fail("legitimate clients still running 60 s after the attack");

  // Out of descriptors and nothing else: the server must not spin. Idle
  // sockets are topped up as the server times them out or sheds them.
  const double cpu_q0 = cpu_seconds(r.server.pid);
  const uint64_t q_t0 = now_ms();
  uint64_t topped = 0;
  while (now_ms() < q_t0 + kQuietMs) {
    for (int k = 0; k < 32 && attack.count(Kind::kIdle) < static_cast<size_t>(kIdleWave); ++k, ++topped)
      attack.open(Kind::kIdle);
    r.step(10);
  }
  const double cpu_q1 = cpu_seconds(r.server.pid);
  const uint64_t q_t1 = now_ms();

  // Every idle socket left is closed by the server within its handshake timeout.
  const size_t idle_left = attack.count(Kind::kIdle);
  const uint64_t reclaim_t0 = now_ms();
  while (attack.count(Kind::kIdle) > 0 && now_ms() < reclaim_t0 + kHandshakeMs + 2000) r.step(20);
  const uint64_t reclaim_ms = now_ms() - reclaim_t0;
  const size_t idle_unclosed = attack.count(Kind::kIdle);
  const uint64_t hwm = r.check_rss ? proc_kib(r.server.pid, "VmHWM") : 0;
  const uint64_t rss_end = proc_kib(r.server.pid, "VmRSS");
  r.attack = nullptr;
  attack.close_all();
  r.stop(r.server, true);
  for (auto &c : r.clients) r.stop(*c, false);

  // ---- the figures
  const double ratio = base_rate > 0 ? att_rate / base_rate : 0;
  const double quiet_cpu = cpu_q1 - cpu_q0, quiet_wall = static_cast<double>(q_t1 - q_t0) / 1000.0;
  std::printf(
      "attack: baseline %.1f MiB/s of verified legitimate data, under attack %.1f MiB/s (ratio %.2f, "
      "at least %.2f required)\n",
      base_rate * 1000 / 1048576, att_rate * 1000 / 1048576, ratio, kMinThroughputRatio);
  std::printf("attack: %" PRIu64 " s of attack:", (att_t1 - att_t0) / 1000);
  for (int k = 0; k < static_cast<int>(Kind::kCount); ++k)
    std::printf(" %s %" PRIu64 " (%" PRIu64 " closed by the server)", kKindName[k], attack.totals.opened[k],
                attack.totals.closed_by_server[k]);
  std::printf("; connects refused %" PRIu64 "\n", attack.totals.connect_failed);
  std::printf(
      "attack: server CPU %.2f s over the %.1f s attack; %.2f s over %.1f s held out of descriptors "
      "(%" PRIu64 " idle sockets topped up; at most %.2f s allowed)\n",
      cpu_a1 - cpu_a0, static_cast<double>(att_t1 - att_t0) / 1000.0, quiet_cpu, quiet_wall, topped,
      kMaxQuietCpuShare * quiet_wall);
  std::printf("attack: %zu idle sockets left after the quiet phase, %zu not closed after %" PRIu64 " ms\n", idle_left,
              idle_unclosed, reclaim_ms);
  if (r.check_rss)
    std::printf(
        "attack: server resident %.1f MiB at start, peak %.1f MiB (at most %.1f MiB allowed), %.1f MiB at "
        "the end\n",
        rss_start / 1048576.0, hwm / 1048576.0, (rss_start + kMaxBytes * 3 / 2 + kRssAllowance) / 1048576.0,
        rss_end / 1048576.0);
  else
    std::printf("attack: server resident size not checked (sanitizers)\n");
  std::printf("attack: the pool counted at most %.1f MiB of its %.1f MiB budget\n", r.peak_budgeted / 1048576.0,
              kMaxBytes / 1048576.0);
  std::printf("attack: server log %" PRIu64 " bytes; legitimate clients: %d finished, %d failed\n", r.server_log_bytes,
              r.legit_finished, r.legit_failed);
  std::printf("attack: server totals: %s\n", r.server_final.c_str());

  // ---- what must hold
  if (r.legit_finished < kLegitClients) r.fail("fewer legitimate clients finished than were started first");
  if (r.server_final.empty()) {
    r.fail("the server printed no totals");
  } else if (field(r.server_final, "mismatches") != 0) {
    r.fail("the server saw mismatched bytes");
  }
  // Its own verdicts are 0 and 1 (1: it refused handshakes, as it must here);
  // anything else, or a sanitizer's report, is a failure.
  if (!WIFEXITED(r.server.status) || WEXITSTATUS(r.server.status) > 1)
    r.fail("the server exited with status " + std::to_string(r.server.status));
  const auto reported = [](const std::string &text) {
    return text.find("Sanitizer") != std::string::npos || text.find("runtime error:") != std::string::npos;
  };
  if (reported(r.server.all) || reported(r.server.tail)) r.fail("a sanitizer reported an error in the server");
  if (ratio < kMinThroughputRatio) r.fail("legitimate throughput under attack fell below the required ratio");
  if (quiet_cpu > kMaxQuietCpuShare * quiet_wall) r.fail("the server spun while out of descriptors");
  if (idle_unclosed > 0) r.fail("idle sockets were not closed within the handshake timeout");
  if (r.check_rss && hwm > rss_start + kMaxBytes * 3 / 2 + kRssAllowance)
    r.fail("the server's peak resident memory passed its budget and allowance");
  if (r.peak_budgeted > kMaxBytes * 5 / 4) r.fail("the pool counted more than its budget allows");
  if (r.server_log_bytes > kMaxLogBytes) r.fail("the server's log is not rate-limited");
  if (attack.totals.closed_by_server[static_cast<int>(Kind::kGarbage)] == 0)
    r.fail("no garbage socket was closed by the server");

  for (const std::string &f : r.failures) std::printf("attack: FAIL: %s\n", f.c_str());
  if (!r.failures.empty()) {
    std::printf("---- server output (first MiB)\n%s\n", r.server.all.c_str());
    return 1;
  }
  std::printf("attack: PASS\n");
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Run r;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-rss") {
      r.check_rss = false;
    } else if (a == "--server" && i + 1 < argc) {
      r.server_path = argv[++i];
    } else if (a == "--client" && i + 1 < argc) {
      r.client_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: attack_test --server PATH --client PATH [--no-rss]\n");
      return 2;
    }
  }
  if (r.server_path.empty() || r.client_path.empty()) {
    std::fprintf(stderr, "usage: attack_test --server PATH --client PATH [--no-rss]\n");
    return 2;
  }
  setvbuf(stdout, nullptr, _IOLBF, 0);
  return run(r);
}
