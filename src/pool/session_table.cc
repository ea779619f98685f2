#include "pool/session_table.h"

#include <algorithm>
#include <climits>

#include "base/config.h"
#include "base/failure.h"
#include "base/random.h"

namespace sc {

int SessionTable::allocate_id() {
  if (sessions_.size() >= static_cast<size_t>(INT_MAX - 1)) resource_failure("no free session id");
  for (;;) {
    const int id = next_id_;
    next_id_ = id >= INT_MAX - 1 ? 1 : id + 1;
    if (!sessions_.count(id)) return id;
  }
}

Session &SessionTable::add(int id, uint64_t secret, size_t window) {
  reserve_index(1);
  auto session = std::make_unique<Session>(id, secret, window);
  Session &s = *session;
  s.v1 = std::make_unique<SessionV1>(secret, window);
  SessionV1 &v1 = *s.v1;
  v1.boundaries.push_back(Boundary{v1.fp_cipher, v1.fp_plain});
  const int slot = take_slot(s);
  SC_TRY {
    sessions_.emplace(id, std::move(session));
  }
  SC_CATCH_ALL {
    release_slot(slot);  // the session itself may be gone with the failed node
    SC_RETHROW;
  }
  index_.insert(0, v1.fp_cipher, s.slot);
  return s;
}

Session &SessionTable::add_unindexed(int id) {
  auto session = std::make_unique<Session>(id, 0, kMinWindow);
  Session &s = *session;
  sessions_.emplace(id, std::move(session));
  return s;
}

void SessionTable::remove(int id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session &s = *it->second;
  on_attached(s);  // no longer counted as detached; its entry goes stale
  if (s.v1) {
    for (size_t k = 0; k < s.v1->boundaries.size(); ++k) unindex_boundary(s, k);
    // A send that failed half-way may have left some behind.
    for (const Leaving &l : leaving_)
      if (l.slot == s.slot) unindex(l.pos, l.b, l.slot);
    leaving_.erase(std::remove_if(leaving_.begin(), leaving_.end(), [&](const Leaving &l) { return l.slot == s.slot; }),
                   leaving_.end());
  }
  release_slot(s.slot);
  sessions_.erase(it);
}

void SessionTable::on_detached(Session &s) {
  if (s.detach_serial == 0) ++detached_;
  s.detach_serial = next_serial_++;
  if (!tracking_) return;
  detach_order_.push_back({s.id, s.detach_serial});
  if (detach_order_.size() > 2 * detached_ + 64) {
    detach_order_.erase_if([this](const std::pair<int, uint64_t> &e) { return stale(e); });
  }
}

void SessionTable::on_attached(Session &s) {
  if (s.detach_serial == 0) return;
  s.detach_serial = 0;
  --detached_;
}

bool SessionTable::stale(const std::pair<int, uint64_t> &entry) const {
  const Session *s = find(entry.first);
  return !s || s->detach_serial != entry.second;
}

void SessionTable::track_detach_order(bool on) {
  if (on == tracking_) return;
  if (!on) {
    detach_order_.clear();
    tracking_ = false;
    return;
  }
  // Serials grow with every detachment, so they give the order back.
  std::vector<std::pair<uint64_t, int>> detached;
  detached.reserve(detached_);
  for (const auto &kv : sessions_)
    if (kv.second->detach_serial != 0) detached.emplace_back(kv.second->detach_serial, kv.first);
  std::sort(detached.begin(), detached.end());
  RingQueue<std::pair<int, uint64_t>> order;
  for (const auto &d : detached) order.push_back({d.second, d.first});
  std::swap(detach_order_, order);
  tracking_ = true;
}

Session *SessionTable::longest_detached() {
  while (!detach_order_.empty()) {
    const std::pair<int, uint64_t> front = detach_order_.front();
    Session *s = find(front.first);
    if (s && s->detach_serial == front.second) return s;
    detach_order_.pop_front();
  }
  return nullptr;
}

int SessionTable::take_slot(Session &s) {
  if (free_slots_.empty()) {
    if (hot_.size() > static_cast<size_t>(FingerprintIndex::kMaxId)) resource_failure("no free session slot");
    // Room for every slot on the free list first, so release_slot() never
    // allocates; then the new record. Either may throw, changing nothing
    // that matters.
    free_slots_.reserve(hot_.size() + 2);
    reserve_slots(hot_.size() + 2);
    if (hot_.empty()) {  // slot 0: "no entry" in the index
      hot_.emplace_back();
      older_.push_back(nullptr);
    }
    hot_.emplace_back();
    older_.push_back(nullptr);
    s.slot = static_cast<int>(hot_.size() - 1);
  } else {
    s.slot = free_slots_.back();
    free_slots_.pop_back();
  }
  HotRecord &h = hot_[static_cast<size_t>(s.slot)];
  h = HotRecord{};
  h.id = s.id;
  older_[static_cast<size_t>(s.slot)] = s.v1.get();  // for the slot's life: a session's v1 state never changes
  sync(s);
  return s.slot;
}

void SessionTable::reserve_slots(size_t n) {
  if (n <= hot_.capacity() && n <= older_.capacity()) return;
  const size_t more = std::max(n, 2 * hot_.capacity());  // grown geometrically, as push_back would
  hot_.reserve(more);
  older_.reserve(more);
}

void SessionTable::release_slot(int slot) {
  if (slot <= 0) return;
  hot_[static_cast<size_t>(slot)] = HotRecord{};
  older_[static_cast<size_t>(slot)] = nullptr;
  free_slots_.push_back(slot);
}

void SessionTable::sync(const Session &s) {
  if (s.slot == 0) return;
  HotRecord &h = hot_[static_cast<size_t>(s.slot)];
  h.received = s.received;
  h.sent = s.sent();
  h.held = static_cast<uint32_t>(s.out.held());
  if (s.v1 && s.v1->boundaries.size()) h.newest = s.v1->boundaries[s.v1->boundaries.size() - 1];
}

void SessionTable::record_boundary(Session &s) {
  SessionV1 &v1 = *s.v1;
  // The buckets of this boundary's index updates start loading now, while
  // the caller ciphers the next 256 bytes; index_recorded() finds them in
  // the caches.
  const bool fetch = fetches_ahead();
  if (v1.boundaries.full()) {
    const uint64_t begin = s.out.resend().begin();
    if (v1.first_boundary < begin - begin % kBoundary) {
      if (v1.unindexed < v1.boundaries.size()) {
        leaving_.push_back(Leaving{v1.first_boundary, v1.boundaries[0], s.slot});
        if (fetch) prefetch(v1.first_boundary, v1.boundaries[0]);
      } else {
        --v1.unindexed;  // recorded in this send and already gone: never indexed
      }
      v1.boundaries.pop_front();
      v1.first_boundary += kBoundary;
    }
  }
  const Boundary b{v1.fp_cipher, v1.fp_plain};
  v1.boundaries.push_back(b);
  ++v1.unindexed;
  if (fetch) prefetch(v1.first_boundary + (v1.boundaries.size() - 1) * kBoundary, b);
}

void SessionTable::prepare_boundaries(const Session &s, size_t n) const {
  if (fetches_ahead()) s.v1->boundaries.prefetch(n / kBoundary + 1);
}

void SessionTable::prefetch(uint64_t pos, const Boundary &b) const {
  index_.prefetch(pos, b.cipher);
  if (b.plain != b.cipher) index_.prefetch(pos, b.plain);
}

void SessionTable::index_recorded(Session &s) {
  SessionV1 &v1 = *s.v1;
  const size_t n = v1.boundaries.size();
  const size_t first_new = n - std::min<size_t>(v1.unindexed, n);
  // Each update reads two random buckets of a table that may be far larger
  // than the caches: record_boundary() started loading them, each while the
  // next 256 bytes were ciphered.
  const size_t gone = leaving_.size();
  // What left the ring goes first: a rebuild of the index (reserve) sees
  // only what the rings hold.
  for (size_t u = 0; u < gone; ++u) unindex(leaving_[u].pos, leaving_[u].b, leaving_[u].slot);
  leaving_.clear();
  reserve_index(2 * (n - first_new));
  for (size_t k = first_new; k < n; ++k) {
    const uint64_t pos = v1.first_boundary + k * kBoundary;
    const Boundary &b = v1.boundaries[k];
    index_.insert(pos, b.cipher, s.slot);
    if (b.plain != b.cipher) index_.insert(pos, b.plain, s.slot);
    v1.unindexed = static_cast<uint32_t>(n - k - 1);
  }
  v1.unindexed = 0;
  trim_boundaries(s);
  v1.boundaries.shrink();
  sync(s);  // the hot record's copy of the newest boundary
}

void SessionTable::unindex(uint64_t pos, const Boundary &b, int slot) {
  index_.erase(pos, b.cipher, slot);
  if (b.plain != b.cipher) index_.erase(pos, b.plain, slot);
}

void SessionTable::unindex_boundary(Session &s, size_t k) {
  unindex(s.v1->first_boundary + k * kBoundary, s.v1->boundaries[k], s.slot);
}

void SessionTable::trim_boundaries(Session &s) {
  // A reuse request names the boundary at or below its position, and only
  // positions the stream still holds can be resumed.
  const uint64_t begin = s.out.resend().begin();
  const uint64_t lowest = begin - begin % kBoundary;
  SessionV1 &v1 = *s.v1;
  while (v1.first_boundary < lowest && v1.boundaries.size() > 0) {
    unindex_boundary(s, 0);
    v1.boundaries.pop_front();
    v1.first_boundary += kBoundary;
  }
}

void SessionTable::reserve_index(size_t more) {
  index_.reserve(more, [this](auto &&add) {
    for (const auto &kv : sessions_) {
      const Session &s = *kv.second;
      if (!s.v1 || s.slot == 0) continue;
      const SessionV1 &v1 = *s.v1;
      const size_t indexed = v1.boundaries.size() - std::min<size_t>(v1.unindexed, v1.boundaries.size());
      for (size_t k = 0; k < indexed; ++k) {
        const uint64_t pos = v1.first_boundary + k * kBoundary;
        const Boundary &b = v1.boundaries[k];
        add(pos, b.cipher, s.slot);
        if (b.plain != b.cipher) add(pos, b.plain, s.slot);
      }
    }
  });
}

bool SessionTable::recorded(int slot, uint64_t pos, uint32_t fp) const {
  const HotRecord &h = hot_[static_cast<size_t>(slot)];
  if (pos == h.sent - h.sent % kBoundary) return h.newest.cipher == fp || h.newest.plain == fp;
  const SessionV1 *v1 = older_[static_cast<size_t>(slot)];
  if (!v1 || pos < v1->first_boundary) return false;
  const uint64_t k = (pos - v1->first_boundary) / kBoundary;
  if (k >= v1->boundaries.size()) return false;
  const Boundary &b = v1->boundaries[static_cast<size_t>(k)];
  return b.cipher == fp || b.plain == fp;
}

SessionTable::Candidate SessionTable::find_reusable(uint64_t recv_count, uint32_t fp, Reason *why) {
  // The index gives candidates; a session counts if it recorded `fp` at
  // `boundary` (its boundaries below the window are gone, as are their index
  // entries) and still holds what the client misses. Two sessions may share a
  // 32-bit fingerprint at one position: one of them is picked at random, so a
  // client turned away by a wrong pick succeeds on a later attempt.
  const uint64_t boundary = recv_count - recv_count % kBoundary;
  constexpr size_t kMaxCandidates = 8;
  int candidates[kMaxCandidates];
  size_t count = 0;
  index_.find(boundary, fp, [&](int slot) {
    if (!recorded(slot, boundary, fp)) return false;
    const HotRecord &h = hot_[static_cast<size_t>(slot)];
    if (!within_held(recv_count, h.sent, h.held)) {
      *why = Reason::kWindowExceeded;
      return false;
    }
    candidates[count++] = slot;
    return count == kMaxCandidates;
  });
  if (count == 0) return Candidate{};
  const int slot = count == 1 ? candidates[0] : candidates[random_u64(RandomSide::kServer) % count];
  const HotRecord &h = hot_[static_cast<size_t>(slot)];
  return Candidate{h.id, h.received};
}

}  // namespace sc
