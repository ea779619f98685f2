#include "v1/fingerprint_index.h"

#include <utility>

#include "base/failure.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace sc {

namespace {

constexpr size_t kMappedTableBytes = size_t{4} << 20;
// Grown at 9/10 full, to 5/4 of what it must hold over 9/10: a table runs
// between about 72% and 90% full.
constexpr size_t kMaxLoadTenths = 9;
constexpr size_t kMinBuckets = 4;
// Displacements an insert tries before stashing the entry it holds.
constexpr int kMaxKicks = 500;
// Stashed entries tolerated before a reserve() rebuilds, beyond what the
// last build itself left there (keys alike in tag and buckets that a bigger
// table cannot separate either).
constexpr size_t kStashSlack = 16;

// Positions are kept as pos / 256 in 32 bits: they alias only 1 TiB apart,
// far beyond any window, and callers check what they find anyway.
inline uint32_t pos_key(uint64_t pos) { return static_cast<uint32_t>(pos >> 8); }

// A value in [0, n) from the top 32 bits of x (multiply-shift, no division).
inline size_t scale(uint64_t x, size_t n) { return static_cast<size_t>(((x >> 32) * n) >> 32); }

}  // namespace

void FingerprintIndex::Table::operator()(Bucket *p) const {
#if defined(__linux__)
  if (mapped) {
    munmap(p, mapped);
    return;
  }
#endif
  delete[] p;
}

std::unique_ptr<FingerprintIndex::Bucket[], FingerprintIndex::Table> FingerprintIndex::make_table(size_t count) {
#if defined(__linux__)
  const size_t bytes = count * sizeof(Bucket);
  if (bytes >= kMappedTableBytes) {
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) resource_failure("fingerprint index");
#if defined(MADV_HUGEPAGE)
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint; without it the table still works
#endif
    // Anonymous pages read as zero: every bucket starts empty.
    return std::unique_ptr<Bucket[], Table>(static_cast<Bucket *>(p), Table{bytes});
  }
#endif
  return std::unique_ptr<Bucket[], Table>(new Bucket[count](), Table{0});
}

FingerprintIndex::Probe FingerprintIndex::probe(uint64_t pos, uint32_t fp) const {
  uint64_t h = (pos_key(pos) * 0x9e3779b97f4a7c15ull) ^ (static_cast<uint64_t>(fp) * 0xc2b2ae3d27d4eb4full);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  Probe p;
  p.tag = static_cast<uint32_t>(h >> 56);
  p.first = scale(h << 32, count_);
  p.second = other_bucket(p.first, p.tag);
  return p;
}

// The other bucket of an entry in `bucket` with `tag`: (g - bucket) mod n for
// a g that depends on the tag alone, so that applying it twice gives bucket
// back, with any number of buckets.
size_t FingerprintIndex::other_bucket(size_t bucket, uint32_t tag) const {
  const size_t g = scale((tag + 1ull) * 0x9e3779b97f4a7c15ull, count_);
  return g >= bucket ? g - bucket : g + count_ - bucket;
}

bool FingerprintIndex::needs_room(size_t more) const {
  if ((size_ + more) * 10 > count_ * kWays * kMaxLoadTenths) return true;
  return stash_.size() > stash_after_build_ + kStashSlack && stash_.size() > size_ / 64;
}

void FingerprintIndex::allocate(size_t entries) {
  size_t count = entries * 10 * 5 / (4 * kWays * kMaxLoadTenths) + 1;
  if (count < kMinBuckets) count = kMinBuckets;
  buckets_ = make_table(count);
  count_ = count;
}

bool FingerprintIndex::put(size_t bucket, uint32_t entry) {
  Bucket &b = buckets_[bucket];
  const unsigned empty = b.equal(0);
  if (empty == 0) return false;
  b.entry[lowest_way(empty)] = entry;
  return true;
}

void FingerprintIndex::insert(uint64_t pos, uint32_t fp, int id) {
  if (!buckets_) allocate(size_ + 1);
  const Probe p = probe(pos, fp);
  uint32_t entry = p.tag << kIdBits | (static_cast<uint32_t>(id) & kIdMask);
  ++size_;
  if (put(p.first, entry) || put(p.second, entry)) return;
  // Both full: displace an entry to its other bucket, and so on.
  size_t b = (kick_ & 1) ? p.first : p.second;
  for (int n = 0; n < kMaxKicks; ++n) {
    std::swap(entry, buckets_[b].entry[kick_++ % kWays]);
    b = other_bucket(b, entry >> kIdBits);
    if (put(b, entry)) return;
  }
  SC_TRY {
    stash_.push_back(Stashed{b, entry});
  }
  SC_CATCH_ALL {
    --size_;  // the displaced entry is lost: rather the whole index stays usable
    SC_RETHROW;
  }
}

bool FingerprintIndex::erase(uint64_t pos, uint32_t fp, int id) {
  if (size_ == 0) return false;
  const Probe p = probe(pos, fp);
  const uint32_t want = p.tag << kIdBits | (static_cast<uint32_t>(id) & kIdMask);
  bool found = false;
  for (size_t b : {p.first, p.second}) {
    const unsigned m = buckets_[b].equal(want);
    if (m != 0) {
      buckets_[b].entry[lowest_way(m)] = 0;
      found = true;
      break;
    }
  }
  for (size_t k = 0; !found && k < stash_.size(); ++k) {
    if (stash_[k].entry == want && (stash_[k].bucket == p.first || stash_[k].bucket == p.second)) {
      stash_[k] = stash_.back();
      stash_.pop_back();
      found = true;
    }
  }
  if (!found) return false;
  if (--size_ == 0) release();
  return true;
}

void FingerprintIndex::release() {
  buckets_.reset();
  count_ = 0;
  std::vector<Stashed>().swap(stash_);
  stash_after_build_ = 0;
}

}  // namespace sc
