// Finds the sessions whose server->client stream may have had fingerprint
// `fp` at 256-byte boundary `pos`: the lookup behind every reuse request.
//
// Compact by design, since a full-window session has about 512 entries (two
// fingerprint forms per boundary): an entry is 4 bytes, the id and an 8-bit
// tag of the key, in a bucketed cuckoo table (buckets of eight entries, 32
// bytes; each key has two buckets, the second computed from the first and
// the tag, so an entry can move between them without its key). The key itself is not kept, so a
// lookup may visit ids stored under other keys: the caller checks each
// candidate against what the session recorded. Entries alike in id, tag and
// buckets are interchangeable, so erasing any of them is as good as erasing
// the one inserted under that key.
//
// For the same reason the table cannot move its entries to a larger table by
// itself: reserve() rebuilds it from the caller, who knows every key.
#ifndef SC_V1_FINGERPRINT_INDEX_H
#define SC_V1_FINGERPRINT_INDEX_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/prefetch.h"

namespace sc {

class FingerprintIndex {
 public:
  // Ids are 1 .. kMaxId.
  static constexpr int kMaxId = (1 << 24) - 1;

  FingerprintIndex() = default;
  FingerprintIndex(FingerprintIndex &&) noexcept = default;
  FingerprintIndex &operator=(FingerprintIndex &&) noexcept = default;

  // Makes room for `more` inserts. When the table must grow, a larger one is
  // filled from each(add): `each` must call add(pos, fp, id) once for every
  // entry the index holds. If that throws (no memory), the index is as it was.
  template <typename Each>
  void reserve(size_t more, Each &&each) {
    if (!needs_room(more)) return;
    FingerprintIndex fresh;
    fresh.allocate(size_ + more);
    each([&fresh](uint64_t pos, uint32_t fp, int id) { fresh.insert(pos, fp, id); });
    fresh.stash_after_build_ = fresh.stash_.size();
    *this = std::move(fresh);
  }

  // `pos` is a multiple of 256; `id` is 1 .. kMaxId. Works without a
  // reserve() too, more slowly once the table is full.
  void insert(uint64_t pos, uint32_t fp, int id);
  // Removes one entry that (pos, fp, id) could have made; false if none.
  bool erase(uint64_t pos, uint32_t fp, int id);

  // Calls visit(id) for each entry that may be under (pos, fp), until it
  // returns true; returns that id, or 0. Every id inserted under (pos, fp)
  // and not erased is visited.
  template <typename Visit>
  int find(uint64_t pos, uint32_t fp, Visit &&visit) const {
    if (size_ == 0) return 0;
    const Probe p = probe(pos, fp);
    // Both buckets load together, rather than the second only after the
    // first one's candidates were checked (misses of their own).
    sc::prefetch(&buckets_[p.second]);
    for (int k = 0; k < 2; ++k) {
      const size_t b = k == 0 ? p.first : p.second;
      if (k == 1 && b == p.first) break;
      const Bucket &bucket = buckets_[b];
      for (unsigned m = bucket.tagged(p.tag); m != 0; m &= m - 1) {
        const uint32_t e = bucket.entry[lowest_way(m)];
        if (visit(static_cast<int>(e & kIdMask))) return static_cast<int>(e & kIdMask);
      }
    }
    for (const Stashed &s : stash_) {
      if ((s.bucket == p.first || s.bucket == p.second) && (s.entry >> kIdBits) == p.tag &&
          visit(static_cast<int>(s.entry & kIdMask)))
        return static_cast<int>(s.entry & kIdMask);
    }
    return 0;
  }

  // Starts fetching the memory an operation on (pos, fp) will touch.
  void prefetch(uint64_t pos, uint32_t fp) const {
    if (buckets_) {
      const Probe p = probe(pos, fp);
      sc::prefetch(&buckets_[p.first]);
      sc::prefetch(&buckets_[p.second]);
    }
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return count_ * sizeof(Bucket) + stash_.capacity() * sizeof(Stashed); }

 private:
  static constexpr unsigned kIdBits = 24;
  static constexpr uint32_t kIdMask = (1u << kIdBits) - 1;
  static constexpr size_t kWays = 8;

  // The ways of a bucket are compared all at once, into a mask of one bit
  // per way, rather than one by one up to the first match (with SSE2, two
  // vector compares: index updates took 30% less time than with the loop).
  struct alignas(32) Bucket {
    uint32_t entry[kWays];  // tag << kIdBits | id; 0: empty

    unsigned equal(uint32_t value) const {
#if defined(__SSE2__)
      const __m128i v = _mm_set1_epi32(static_cast<int>(value));
      return mask(_mm_cmpeq_epi32(low(), v), _mm_cmpeq_epi32(high(), v));
#else
      unsigned m = 0;
      for (size_t i = 0; i < kWays; ++i) m |= static_cast<unsigned>(entry[i] == value) << i;
      return m;
#endif
    }
    // Occupied ways whose entry has `tag`.
    unsigned tagged(uint32_t tag) const {
#if defined(__SSE2__)
      const __m128i t = _mm_set1_epi32(static_cast<int>(tag));
      const __m128i zero = _mm_setzero_si128();
      const __m128i lo = low(), hi = high();
      return mask(_mm_andnot_si128(_mm_cmpeq_epi32(lo, zero), _mm_cmpeq_epi32(_mm_srli_epi32(lo, kIdBits), t)),
                  _mm_andnot_si128(_mm_cmpeq_epi32(hi, zero), _mm_cmpeq_epi32(_mm_srli_epi32(hi, kIdBits), t)));
#else
      unsigned m = 0;
      for (size_t i = 0; i < kWays; ++i) m |= static_cast<unsigned>(entry[i] != 0 && (entry[i] >> kIdBits) == tag) << i;
      return m;
#endif
    }

#if defined(__SSE2__)
   private:
    __m128i low() const { return _mm_load_si128(reinterpret_cast<const __m128i *>(entry)); }
    __m128i high() const { return _mm_load_si128(reinterpret_cast<const __m128i *>(entry + 4)); }
    static unsigned mask(__m128i lo, __m128i hi) {
      return static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(lo)) | _mm_movemask_ps(_mm_castsi128_ps(hi)) << 4);
    }
#endif
  };
  static unsigned lowest_way(unsigned mask) {  // mask != 0
#if defined(__GNUC__)
    return static_cast<unsigned>(__builtin_ctz(mask));
#else
    unsigned i = 0;
    while (!(mask & 1u)) mask >>= 1, ++i;
    return i;
#endif
  }
  // An entry no bucket had room for, with one of its two buckets.
  struct Stashed {
    size_t bucket;
    uint32_t entry;
  };
  struct Probe {
    size_t first, second;
    uint32_t tag;
  };

  Probe probe(uint64_t pos, uint32_t fp) const;
  size_t other_bucket(size_t bucket, uint32_t tag) const;
  bool needs_room(size_t more) const;
  void allocate(size_t entries);  // an empty table for this many entries
  bool put(size_t bucket, uint32_t entry);
  void release();

  // Tables of several megabytes are mapped apart and asked for huge pages:
  // each operation reads two random buckets, and with 4 KiB pages most of
  // them would also miss the TLB.
  struct Table {
    Table() noexcept : mapped(0) {}
    explicit Table(size_t bytes) noexcept : mapped(bytes) {}
    void operator()(Bucket *p) const;
    size_t mapped;  // bytes mapped, or 0: from operator new[]
  };
  static std::unique_ptr<Bucket[], Table> make_table(size_t count);

  std::unique_ptr<Bucket[], Table> buckets_;
  size_t count_ = 0;  // buckets
  size_t size_ = 0;   // entries, stashed ones included
  std::vector<Stashed> stash_;
  size_t stash_after_build_ = 0;
  uint32_t kick_ = 0;  // which way an insert displaces next
};

}  // namespace sc

#endif
