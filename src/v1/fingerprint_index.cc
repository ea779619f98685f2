#include "v1/fingerprint_index.h"

#include <utility>

#include "base/failure.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace sc {

namespace {
constexpr size_t kMappedTableBytes = size_t{4} << 20;
}  // namespace

void FingerprintIndex::Table::operator()(Entry *p) const {
#if defined(__linux__)
  if (mapped) {
    munmap(p, mapped);
    return;
  }
#endif
  delete[] p;
}

std::unique_ptr<FingerprintIndex::Entry[], FingerprintIndex::Table> FingerprintIndex::make_table(size_t slots) {
#if defined(__linux__)
  const size_t bytes = slots * sizeof(Entry);
  if (bytes >= kMappedTableBytes) {
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) resource_failure("fingerprint index");
#if defined(MADV_HUGEPAGE)
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint; without it the table still works
#endif
    // Anonymous pages read as zero: every slot starts empty.
    return std::unique_ptr<Entry[], Table>(static_cast<Entry *>(p), Table{bytes});
  }
#endif
  return std::unique_ptr<Entry[], Table>(new Entry[slots](), Table{0});
}

size_t FingerprintIndex::home(uint32_t key, uint32_t fp) const {
  uint64_t h = key * 0x9e3779b97f4a7c15ull ^ (static_cast<uint64_t>(fp) * 0xc2b2ae3d27d4eb4full);
  h ^= h >> 29;
  return static_cast<size_t>(h) & mask_;
}

void FingerprintIndex::rehash(size_t new_slots) {
  // The new table first: if it cannot be had, the index stays as it was.
  std::unique_ptr<Entry[], Table> fresh = make_table(new_slots);
  std::unique_ptr<Entry[], Table> old = std::move(slots_);
  const size_t old_slots = old ? mask_ + 1 : 0;
  slots_ = std::move(fresh);
  mask_ = new_slots - 1;
  for (size_t k = 0; k < old_slots; ++k) {
    const Entry &e = old[k];
    if (e.id == 0) continue;
    size_t slot = home(e.pos_key, e.fp);
    while (slots_[slot].id != 0) slot = (slot + 1) & mask_;
    slots_[slot] = e;
  }
}

void FingerprintIndex::insert(uint64_t pos, uint32_t fp, int id) {
  // Keep the load factor at most 3/4 so probes stay short.
  if (!slots_ || (size_ + 1) * 4 > (mask_ + 1) * 3) rehash(slots_ ? (mask_ + 1) * 2 : 16);
  const uint32_t key = pos_key(pos);
  size_t slot = home(key, fp);
  while (slots_[slot].id != 0) slot = (slot + 1) & mask_;
  slots_[slot] = Entry{key, fp, id};
  ++size_;
}

bool FingerprintIndex::erase(uint64_t pos, uint32_t fp, int id) {
  if (size_ == 0) return false;
  const uint32_t key = pos_key(pos);
  size_t slot = home(key, fp);
  for (;; slot = (slot + 1) & mask_) {
    const Entry &e = slots_[slot];
    if (e.id == 0) return false;
    if (e.pos_key == key && e.fp == fp && e.id == id) break;
  }
  // Backward-shift deletion: pull later entries of the cluster into the hole
  // when their home slot does not lie cyclically after the hole.
  size_t hole = slot;
  for (size_t next = (hole + 1) & mask_;; next = (next + 1) & mask_) {
    const Entry &e = slots_[next];
    if (e.id == 0) break;
    const size_t h = home(e.pos_key, e.fp);
    const bool stays = ((next - h) & mask_) < ((next - hole) & mask_);
    if (!stays) {
      slots_[hole] = e;
      hole = next;
    }
  }
  slots_[hole] = Entry{0, 0, 0};
  --size_;
  if (size_ == 0) {
    slots_.reset();
    mask_ = 0;
  }
  return true;
}

}  // namespace sc
