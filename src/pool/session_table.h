// The pool's sessions: the map from id to session, the dense hot records a
// reuse lookup reads, and the version 1 fingerprint index, kept in step with
// each other here and nowhere else. It also owns the one rule of whether a
// session can still resume.
#ifndef SC_POOL_SESSION_TABLE_H
#define SC_POOL_SESSION_TABLE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/events.h"
#include "pool/session.h"
#include "v1/fingerprint_index.h"

namespace sc {

class SessionTable {
 public:
  // A session a reuse request may name, as its hot record shows it.
  struct Candidate {
    int id = 0;             // 0: none
    uint64_t received = 0;  // client->server bytes the session has
  };

  size_t size() const { return sessions_.size(); }
  bool contains(int id) const { return sessions_.count(id) != 0; }
  Session *find(int id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
  }
  const Session *find(int id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
  }

  // The next id not in use, counting up from 1 and wrapping before INT_MAX.
  int allocate_id();
  // A new session with its stream at position 0, findable by reuse requests.
  Session &add(int id, uint64_t secret, size_t window);
  // A session that version 1 lookups must never find (a version 2 session):
  // no hot record, nothing in the fingerprint index.
  Session &add_unindexed(int id);
  // Forgets session `id` and everything that finds it.
  void remove(int id);

  // After a session's stream grew or was trimmed: its hot record follows.
  void sync(const Session &s);
  // After a session received data.
  void note_received(const Session &s) {
    if (s.slot) hot_[static_cast<size_t>(s.slot)].received = s.received;
  }

  // Version 1 fingerprints. The session's stream has just reached a 256-byte
  // boundary: record both fingerprints there (in the session; the index
  // follows in index_recorded). A ring holding all the window needs first
  // lets its oldest boundary go, which the stream no longer holds.
  void record_boundary(Session &s);
  // Before `n` bytes are sent: starts loading the entries of the session's
  // ring of boundaries that recording them will read (the oldest, which
  // leave) and write (the slots after the newest), cold in a large pool by
  // the time the session sends again.
  void prepare_boundaries(const Session &s, size_t n) const;
  // Whether the pool is large enough for its sessions' state (index buckets,
  // rings) to be cold by the time a session sends again, and so worth
  // fetching ahead. Below that it sits in the caches, where fetching ahead
  // is work for nothing (for the index, every key hashed a second time).
  bool fetches_ahead() const { return index_.memory_bytes() >= kFetchFromBytes; }
  // Indexes the boundaries recorded since the last call, then forgets those
  // no reuse request can name any more: all of one send's index updates
  // together, in memory record_boundary() started fetching, rather than one
  // miss after another. Ends with sync(s).
  void index_recorded(Session &s);

  // ---- the resume rule: a session can resume from a position its stream
  // still holds for resending.
  // The session a version 1 reuse request names: one that recorded `fp` at
  // the boundary at or below `recv_count` and still holds the stream from
  // there. None: *why says whether a session matched but no longer holds it.
  Candidate find_reusable(uint64_t recv_count, uint32_t fp, Reason *why);
  static bool can_resume_from(const Session &s, uint64_t pos) { return s.out.can_resend_from(pos); }
  // A detached session whose client will miss bytes it no longer holds can
  // never resume.
  static bool can_resume_later(const Session &s) { return s.out.backlog_resendable(); }

  // ---- detached sessions, the longest detached first
  void on_detached(Session &s);  // s has just lost its socket
  void on_attached(Session &s);  // s has a socket again
  size_t detached_count() const { return detached_; }
  // The session detached the longest, or nullptr. Only while the order is
  // tracked (a pool with a budget): otherwise nullptr.
  Session *longest_detached();
  // Keeps the detach order from now on (rebuilt from what is detached now),
  // or stops keeping it; a pool without a budget pays nothing for it.
  void track_detach_order(bool on);

  template <typename Visit>
  void for_each(Visit &&visit) const {
    for (const auto &kv : sessions_) visit(*kv.second);
  }

 private:
  friend struct ServerTestPeer;        // tests reach the id counter through it
  friend struct SessionTableTestPeer;  // and the index

  // What a reuse lookup reads, packed densely by slot, so that with 100k
  // sessions a lookup reads a few megabytes (index and these records) rather
  // than the sessions themselves. Slot 0 is unused. Half a cache line each,
  // aligned, so that checking a candidate is one miss, never two.
  struct alignas(32) HotRecord {
    uint64_t received = 0;  // client->server bytes decrypted
    uint64_t sent = 0;      // server->client stream position
    uint32_t held = 0;      // bytes held for resending (window <= 1 GiB)
    int32_t id = 0;
    // Version 1: the newest boundary it recorded, at the last multiple of
    // 256 not above `sent`. A client that missed nothing names it, so that
    // check reads nothing beyond this record; older ones are in the
    // session's ring (older_).
    Boundary newest = {0, 0};
  };
  static_assert(sizeof(HotRecord) == 32, "a hot record is half a cache line");

  int take_slot(Session &s);
  void release_slot(int slot);
  // Room in hot_ and older_ for n slots, so that adding one cannot leave
  // them of different sizes.
  void reserve_slots(size_t n);
  void unindex_boundary(Session &s, size_t k);  // the k-th recorded boundary
  // Room in the index for `more` entries (rebuilt from the sessions if it
  // must grow).
  void reserve_index(size_t more);
  // Whether s recorded `fp` (either form) at boundary `pos`: the check of a
  // candidate the index gives.
  bool recorded(int slot, uint64_t pos, uint32_t fp) const;
  void trim_boundaries(Session &s);
  // An entry of the detach order that no longer names a detached session.
  bool stale(const std::pair<int, uint64_t> &entry) const;

  // Boundaries record_boundary() let go that are still in the index, until
  // index_recorded() erases them with the rest of the send's updates.
  struct Leaving {
    uint64_t pos;
    Boundary b;
    int slot;
  };
  void unindex(uint64_t pos, const Boundary &b, int slot);
  // Starts loading the index buckets of both forms of b at pos.
  void prefetch(uint64_t pos, const Boundary &b) const;

  // The index's size from which fetches_ahead() holds.
  static constexpr size_t kFetchFromBytes = size_t{1} << 20;

  std::unordered_map<int, std::unique_ptr<Session>> sessions_;
  std::vector<Leaving> leaving_;
  FingerprintIndex index_;  // (boundary, fingerprint) -> slots in hot_ (candidates)
  std::vector<HotRecord> hot_;
  // By slot beside hot_: the version 1 state whose ring holds the older
  // boundaries (null for version 2), read only when a client names one.
  std::vector<const SessionV1 *> older_;
  std::vector<int> free_slots_;
  // (id, detach serial) in the order sessions lost their sockets. Attaching
  // touches only the session itself: entries it leaves stale are skipped when
  // read and dropped when they outnumber the live ones.
  RingQueue<std::pair<int, uint64_t>> detach_order_;
  uint64_t next_serial_ = 1;
  size_t detached_ = 0;
  bool tracking_ = false;
  int next_id_ = 1;
};

}  // namespace sc

#endif
