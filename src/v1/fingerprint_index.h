// Finds the sessions whose server->client stream had fingerprint `fp` at
// 256-byte boundary `pos`: the lookup behind every reuse request. An open
// addressing hash table (linear probing, backward-shift deletion) that may
// hold several sessions under one key; expected O(1) per operation.
#ifndef SC_V1_FINGERPRINT_INDEX_H
#define SC_V1_FINGERPRINT_INDEX_H

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sc {

class FingerprintIndex {
 public:
  FingerprintIndex() = default;

  // `pos` is a multiple of 256. `id` is any nonzero int the caller chooses
  // (the server stores the slot of the session's hot record).
  void insert(uint64_t pos, uint32_t fp, int id);
  // Removes one entry equal to (pos, fp, id); false if there is none.
  bool erase(uint64_t pos, uint32_t fp, int id);

  // Calls visit(id) for each entry under (pos, fp) until it returns true;
  // returns that id, or 0.
  template <typename Visit>
  int find(uint64_t pos, uint32_t fp, Visit &&visit) const {
    if (size_ == 0) return 0;
    const uint32_t key = pos_key(pos);
    for (size_t slot = home(key, fp);; slot = (slot + 1) & mask_) {
      const Entry &e = slots_[slot];
      if (e.id == 0) return 0;
      if (e.pos_key == key && e.fp == fp && visit(e.id)) return e.id;
    }
  }

  // Starts fetching the memory an operation on (pos, fp) will touch.
  void prefetch(uint64_t pos, uint32_t fp) const {
#if defined(__GNUC__)
    if (slots_) __builtin_prefetch(&slots_[home(pos_key(pos), fp)]);
#else
    (void)pos;
    (void)fp;
#endif
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_ ? (mask_ + 1) * sizeof(Entry) : 0; }

 private:
  // 12 bytes, so that the table of a pool with 100k sessions stays within a
  // few megabytes, where random reads are still cheap. Positions are kept as
  // pos / 256 in 32 bits: they alias only 1 TiB apart, far beyond any window,
  // and callers check the window anyway.
  struct Entry {
    uint32_t pos_key;
    uint32_t fp;
    int32_t id;  // 0: empty slot
  };
  static uint32_t pos_key(uint64_t pos) { return static_cast<uint32_t>(pos >> 8); }

  size_t home(uint32_t key, uint32_t fp) const;
  void rehash(size_t new_slots);

  // Tables of several megabytes are mapped apart and asked for huge pages:
  // each operation reads one random slot, and with 4 KiB pages most of them
  // would also miss the TLB.
  struct Table {
    Table() noexcept : mapped(0) {}
    explicit Table(size_t bytes) noexcept : mapped(bytes) {}
    void operator()(Entry *p) const;
    size_t mapped;  // bytes mapped, or 0: from operator new[]
  };
  static std::unique_ptr<Entry[], Table> make_table(size_t slots);

  std::unique_ptr<Entry[], Table> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace sc

#endif
