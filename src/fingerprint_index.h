// Finds the sessions whose server->client stream had fingerprint `fp` at
// 256-byte boundary `pos`: the lookup behind every reuse request. An open
// addressing hash table (linear probing, backward-shift deletion) that may
// hold several sessions under one key; expected O(1) per operation.
#ifndef SC_FINGERPRINT_INDEX_H
#define SC_FINGERPRINT_INDEX_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace sc {

class FingerprintIndex {
 public:
  FingerprintIndex() = default;

  // `owner` is handed back by find(), so a caller can reach the session
  // without another lookup.
  void insert(uint64_t pos, uint32_t fp, int id, void *owner = nullptr);
  // Removes one entry equal to (pos, fp, id); false if there is none.
  bool erase(uint64_t pos, uint32_t fp, int id);

  // Calls visit(id) or visit(id, owner) for each entry under (pos, fp) until
  // it returns true; returns that id, or 0.
  template <typename Visit>
  int find(uint64_t pos, uint32_t fp, Visit &&visit) const {
    if (size_ == 0) return 0;
    for (size_t slot = home(pos, fp);; slot = (slot + 1) & mask_) {
      const Entry &e = slots_[slot];
      if (e.id == 0) return 0;
      if (e.pos != pos || e.fp != fp) continue;
      bool stop;
      if constexpr (std::is_invocable_v<Visit, int, void *>)
        stop = visit(e.id, e.owner);
      else
        stop = visit(e.id);
      if (stop) return e.id;
    }
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_ ? (mask_ + 1) * sizeof(Entry) : 0; }

 private:
  struct Entry {
    uint64_t pos;
    uint32_t fp;
    int32_t id;  // 0: empty slot
    void *owner;
  };

  size_t home(uint64_t pos, uint32_t fp) const;
  void rehash(size_t new_slots);

  std::unique_ptr<Entry[]> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace sc

#endif
