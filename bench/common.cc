#include "common.h"

#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <vector>

#include "yardstick_v1.h"
#ifdef SC_WITH_V2
#include <openssl/evp.h>

#include "crypto/primitives.h"
#include "v2/wire.h"
#endif

// ---------------------------------------------------------------------------
// Counting allocation functions. Every replaceable form of operator new and
// delete is defined here, on top of malloc/free, so that the library's
// allocations (std::vector, std::deque, unordered_map nodes, new) are counted.
// ---------------------------------------------------------------------------

namespace {

uint64_t g_allocations = 0;

void *allocate(std::size_t n) {
  ++g_allocations;
  if (void *p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

void *allocate_nothrow(std::size_t n) noexcept {
  ++g_allocations;
  return std::malloc(n == 0 ? 1 : n);
}

void *allocate_aligned(std::size_t n, std::align_val_t al) noexcept {
  ++g_allocations;
  std::size_t align = static_cast<std::size_t>(al);
  if (align < sizeof(void *)) align = sizeof(void *);
  void *p = nullptr;
  if (posix_memalign(&p, align, n == 0 ? 1 : n) != 0) return nullptr;
  return p;
}

}  // namespace

void *operator new(std::size_t n) { return allocate(n); }
void *operator new[](std::size_t n) { return allocate(n); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return allocate_nothrow(n); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return allocate_nothrow(n); }
void *operator new(std::size_t n, std::align_val_t al) {
  if (void *p = allocate_aligned(n, al)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t n, std::align_val_t al) {
  if (void *p = allocate_aligned(n, al)) return p;
  throw std::bad_alloc();
}
void *operator new(std::size_t n, std::align_val_t al, const std::nothrow_t &) noexcept {
  return allocate_aligned(n, al);
}
void *operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t &) noexcept {
  return allocate_aligned(n, al);
}

void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { std::free(p); }

namespace bench {

uint64_t allocation_count() { return g_allocations; }

// ------------------------------------------------------------------ memory

size_t heap_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#else
  const struct mallinfo mi = mallinfo();
  return static_cast<size_t>(static_cast<unsigned>(mi.uordblks)) +
         static_cast<size_t>(static_cast<unsigned>(mi.hblkhd));
#endif
}

size_t resident_bytes() {
  std::FILE *f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// ------------------------------------------------------------------ random

namespace {

uint64_t g_seed = 0;

uint64_t splitmix64(void *) {
  uint64_t z = (g_seed += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

void use_fixed_random(uint64_t seed) {
  g_seed = seed;
  sc_testing_set_random(SC_RANDOM_SERVER, splitmix64, nullptr);
  sc_testing_set_random(SC_RANDOM_CLIENT, splitmix64, nullptr);
}

void use_system_random() {
  sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr);
  sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr);
}

// ------------------------------------------------------------------ timing

double thread_cpu_seconds() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

namespace {

double g_cipher_ceiling = 0;

double calibrate_cipher(double cpu_seconds = 0.05) {
  YardstickCipher cipher(0x0123456789abcdefull);
  std::vector<uint8_t> buf(4096, 0x5a);
  uint32_t fp = cipher.initial_fingerprint();
  uint64_t bytes = 0;
  const double t0 = thread_cpu_seconds();
  double t1 = t0;
  while (t1 - t0 < cpu_seconds) {
    for (int k = 0; k < 64; ++k) {
      cipher.pass(buf.data(), buf.data(), buf.size(), &fp);
      bytes += buf.size();
    }
    t1 = thread_cpu_seconds();
  }
  benchmark::DoNotOptimize(fp);
  return static_cast<double>(bytes) / (t1 - t0);
}

}  // namespace

double cipher_ceiling() {
  if (g_cipher_ceiling <= 0) g_cipher_ceiling = calibrate_cipher();
  return g_cipher_ceiling;
}

void set_cipher_ceiling(double bytes_per_second) { g_cipher_ceiling = bytes_per_second; }

void report_stream(benchmark::State &state, double cpu_seconds, uint64_t bytes, uint64_t messages, uint64_t allocations,
                   const StreamCeilings *beside) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(messages));
  if (cpu_seconds > 0) {
    const double rate = static_cast<double>(bytes) / cpu_seconds;
    state.counters["ratio_to_cipher_half"] = rate / (cipher_ceiling() / 2);
    if (beside && beside->yardstick > 0) {
      state.counters["yardstick_beside"] = beside->yardstick;
      state.counters["ratio_beside"] = rate / (beside->yardstick / 2);
    }
  }
  state.counters["allocs_per_message"] =
      messages ? static_cast<double>(allocations) / static_cast<double>(messages) : 0.0;
}

#ifdef SC_WITH_V2
namespace {
std::map<size_t, double> g_aead_ceiling;
double g_x25519_rate = 0;

// Seals per second of n bytes with ad_len bytes of associated data.
double seal_rate(size_t n, size_t ad_len, double cpu_seconds) {
  sc::crypto::Aead aead;
  uint8_t key[sc::crypto::kKeySize] = {1, 2, 3};
  if (!aead.set_key(key)) return 0;
  std::vector<uint8_t> buf(ad_len + n + sc::crypto::kTagSize, 0x5a);
  uint8_t *const text = buf.data() + ad_len;
  uint64_t seals = 0, nonce = 0;
  const double t0 = thread_cpu_seconds();
  double t1 = t0;
  while (t1 - t0 < cpu_seconds) {
    for (int k = 0; k < 64; ++k, ++seals) aead.seal(nonce++, buf.data(), ad_len, text, n, text);
    t1 = thread_cpu_seconds();
  }
  benchmark::DoNotOptimize(buf.data());
  return t1 > t0 ? static_cast<double>(seals) / (t1 - t0) : 0.0;
}

double calibrate_aead(size_t n, double cpu_seconds = 0.05) {
  return seal_rate(n, 0, cpu_seconds) * static_cast<double>(n);
}

double calibrate_x25519() {
  uint8_t priv[32] = {9}, peer[32], out[32];
  sc::crypto::x25519_public(priv, peer);
  uint64_t ops = 0;
  const double t0 = thread_cpu_seconds();
  double t1 = t0;
  while (t1 - t0 < 0.05) {
    for (int k = 0; k < 16; ++k, ++ops) sc::crypto::x25519(priv, peer, out);
    t1 = thread_cpu_seconds();
  }
  return static_cast<double>(ops) / (t1 - t0);
}
}  // namespace

double aead_ceiling(size_t n) {
  auto it = g_aead_ceiling.find(n);
  if (it == g_aead_ceiling.end()) it = g_aead_ceiling.emplace(n, calibrate_aead(n)).first;
  return it->second;
}

void set_aead_ceiling(size_t n, double bytes_per_second) { g_aead_ceiling[n] = bytes_per_second; }

double x25519_rate() {
  if (g_x25519_rate <= 0) g_x25519_rate = calibrate_x25519();
  return g_x25519_rate;
}

void set_x25519_rate(double operations_per_second) { g_x25519_rate = operations_per_second; }

BareX25519::BareX25519() {
  uint8_t priv[sc::crypto::kDhSize], peer[sc::crypto::kDhSize];
  for (size_t k = 0; k < sizeof priv; ++k) priv[k] = static_cast<uint8_t>(k + 3);
  sc::crypto::x25519_public(priv, peer);
  mine_ = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, sizeof priv);
  theirs_ = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer, sizeof peer);
  ctx_ = mine_ ? EVP_PKEY_CTX_new(mine_, nullptr) : nullptr;
  ok_ = ctx_ && theirs_ && EVP_PKEY_derive_init(ctx_) == 1 && EVP_PKEY_derive_set_peer(ctx_, theirs_) == 1;
}

BareX25519::~BareX25519() {
  EVP_PKEY_CTX_free(ctx_);
  EVP_PKEY_free(theirs_);
  EVP_PKEY_free(mine_);
}

bool BareX25519::derive() {
  size_t len = sizeof out_;
  ok_ = ok_ && EVP_PKEY_derive(ctx_, out_, &len) == 1 && len == sizeof out_;
  benchmark::DoNotOptimize(out_);
  return ok_;
}

void report_stream_v2(benchmark::State &state, double cpu_seconds, uint64_t bytes, uint64_t messages,
                      uint64_t allocations, size_t n, const StreamCeilings *beside) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(messages));
  if (cpu_seconds > 0) {
    const double rate = static_cast<double>(bytes) / cpu_seconds;
    state.counters["ratio_to_aead_half"] = rate / (aead_ceiling(n) / 2);
    state.counters["ratio_to_cipher_half"] = rate / (cipher_ceiling() / 2);
    if (beside && beside->aead > 0 && beside->ack_seals > 0) {
      state.counters["aead_beside"] = beside->aead;
      state.counters["ack_seals_beside"] = beside->ack_seals;
      state.counters["ratio_beside"] = rate / (beside->aead / 2);
    }
  }
  state.counters["allocs_per_message"] =
      messages ? static_cast<double>(allocations) / static_cast<double>(messages) : 0.0;
}

const uint8_t *v2_private_key() {
  static uint8_t key[SC_KEY_SIZE];
  for (int k = 0; k < SC_KEY_SIZE; ++k) key[k] = static_cast<uint8_t>(0x5c + 11 * k);
  return key;
}

const uint8_t *v2_public_key() {
  static uint8_t pub[SC_KEY_SIZE];
  static const bool made = sc_public_key(v2_private_key(), pub) == SC_OK;
  return made ? pub : nullptr;
}

connection *open_v2_client() {
  connection *c = nullptr;
  if (!v2_public_key() || sc_client_open_v2(v2_public_key(), &c) != SC_OK) return nullptr;
  return c;
}
#endif

StreamCeilings stream_ceilings(int version, size_t n, double cpu_seconds) {
  StreamCeilings c;
#ifdef SC_WITH_V2
  if (version == 2) {
    c.aead = calibrate_aead(n, cpu_seconds);
    c.ack_seals = seal_rate(sc::v2::kAckSize, sc::v2::kRecordHeaderSize, cpu_seconds);
    return c;
  }
#else
  (void)n;
#endif
  (void)version;
  c.yardstick = calibrate_cipher(cpu_seconds);
  return c;
}

StreamCeilings average(const StreamCeilings &a, const StreamCeilings &b) {
  StreamCeilings c;
  c.yardstick = (a.yardstick + b.yardstick) / 2;
  c.aead = (a.aead + b.aead) / 2;
  c.ack_seals = (a.ack_seals + b.ack_seals) / 2;
  return c;
}

double beside_seconds(const benchmark::State &state) { return state.max_iterations >= 1000 ? 0.1 : 0.002; }

namespace {
bool g_failed = false;
}  // namespace

void fail(benchmark::State &state, const char *why) {
  g_failed = true;
  state.SkipWithError(why);
}

bool any_failed() { return g_failed; }

// ---------------------------------------------------------------- the wire

Moved pump(connection_pool *cp, connection *c, int fd) {
  Moved moved;
  for (;;) {
    bool progress = false;
    connection_message cm;
    for (int r; (r = cc_poll(c, &cm)) != MESSAGE_EMPTY;) {
      if (r == MESSAGE_OUT) {
        if (cm.sz > 0) {
          cp_recv(cp, fd, cm.buffer, static_cast<size_t>(cm.sz));
          progress = true;
        }
      } else if (cm.sz == 0) {
        moved.client_dead = true;
      } else {
        moved.to_client += static_cast<size_t>(cm.sz);
      }
    }
    pool_message pm;
    for (int r; (r = cp_poll(cp, &pm)) != POOL_EMPTY;) {
      if (r == POOL_IN) {
        moved.to_pool += pm.sz;
      } else if (pm.id == fd) {
        if (pm.sz == 0) {
          moved.fd_closed = true;
        } else {
          cc_recv(c, pm.buffer, pm.sz);
          progress = true;
        }
      }
    }
    if (!progress) return moved;
  }
}

int establish(connection_pool *cp, connection *c, int fd) {
  sc_pool_enable_events(cp, 1);
  int id = 0;
  for (bool progress = true; progress;) {
    progress = false;
    connection_message cm;
    for (int r; (r = cc_poll(c, &cm)) != MESSAGE_EMPTY;) {
      if (r == MESSAGE_OUT && cm.sz > 0) {
        cp_recv(cp, fd, cm.buffer, static_cast<size_t>(cm.sz));
        progress = true;
      }
    }
    pool_message pm;
    sc_pool_event ev;
    for (int r; (r = sc_pool_poll(cp, &pm, &ev)) != POOL_EMPTY;) {
      if (r == SC_POOL_EVENT && ev.type == SC_EVENT_SESSION_OPENED && ev.fd == fd) {
        id = ev.id;
      } else if (r == POOL_OUT && pm.id == fd && pm.sz > 0) {
        cc_recv(c, pm.buffer, pm.sz);
        progress = true;
      }
    }
  }
  sc_pool_enable_events(cp, 0);
  return id;
}

const char *payload(size_t n) {
  static std::vector<char> bytes;
  if (bytes.size() < n) {
    bytes.resize(n);
    for (size_t k = 0; k < n; ++k) bytes[k] = static_cast<char>((k * 131 + 7) & 0xff);
  }
  return bytes.data();
}

}  // namespace bench
