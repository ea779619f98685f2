// SessionTable: what a version 1 reuse lookup finds, given an index that
// only offers candidates; and the ring of boundaries a session records.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "pool/session_table.h"

namespace sc {

struct SessionTableTestPeer {
  static const FingerprintIndex &index(const SessionTable &t) { return t.index_; }
};

namespace {

constexpr size_t kWindow = 65536;

// The session's stream grows by n bytes (no boundary recorded).
void send(SessionTable &table, Session &s, size_t n) {
  const std::vector<uint8_t> bytes(n, 0x5a);
  s.out.resend().append(bytes.data(), n);
  table.sync(s);
}

// A fingerprint other than `fp` under which the index offers `slot` at
// position `pos`: its key shares tag and buckets with (pos, fp).
uint32_t lookalike(const SessionTable &table, uint64_t pos, uint32_t fp, int slot) {
  for (uint32_t other = 1; other != 0; ++other) {
    if (other == fp) continue;
    if (SessionTableTestPeer::index(table).find(pos, other, [slot](int id) { return id == slot; }) == slot)
      return other;
  }
  return 0;
}

TEST(SessionTable, AReuseLookupFindsTheSessionThatRecordedTheFingerprint) {
  SessionTable table;
  Session &s = table.add(table.allocate_id(), 0x1234567890abcdefull, kWindow);
  const uint32_t fp = s.v1->fp_cipher;  // at boundary 0, both forms alike
  send(table, s, 300);
  Reason why = Reason::kNone;
  EXPECT_EQ(s.id, table.find_reusable(10, fp, &why).id);
  EXPECT_EQ(0, table.find_reusable(10, fp ^ 1, &why).id);
  EXPECT_EQ(0, table.find_reusable(300, fp, &why).id) << "boundary 256 was never recorded";
}

TEST(SessionTable, ACandidateThatDidNotRecordTheFingerprintIsNotTaken) {
  SessionTable table;
  Session &s = table.add(table.allocate_id(), 42, kWindow);
  const uint32_t fp = s.v1->fp_cipher;
  send(table, s, 100);
  const uint32_t other = lookalike(table, 0, fp, s.slot);
  ASSERT_NE(0u, other) << "no fingerprint shares the entry's tag and buckets";
  Reason why = Reason::kNone;
  EXPECT_EQ(0, table.find_reusable(10, other, &why).id) << "the index offered it; the session never recorded it";
  EXPECT_EQ(Reason::kNone, why);
  EXPECT_EQ(s.id, table.find_reusable(10, fp, &why).id);
}

TEST(SessionTable, AnOlderBoundaryIsCheckedInTheRing) {
  // Boundary 0, then 256 as the stream crosses it: a request that names 0
  // is checked against the ring rather than the copy of the newest.
  SessionTable table;
  Session &s = table.add(table.allocate_id(), 7, kWindow);
  const uint32_t fp0 = s.v1->fp_cipher;
  send(table, s, 256);
  s.v1->fp_cipher = s.v1->fp_plain = fp0 ^ 0x5555;  // as if the cipher had run
  table.record_boundary(s);
  table.index_recorded(s);
  send(table, s, 100);
  Reason why = Reason::kNone;
  EXPECT_EQ(s.id, table.find_reusable(10, fp0, &why).id);
  EXPECT_EQ(s.id, table.find_reusable(300, fp0 ^ 0x5555, &why).id);
  EXPECT_EQ(0, table.find_reusable(300, fp0, &why).id);
  EXPECT_EQ(0, table.find_reusable(10, fp0 ^ 0x5555, &why).id);
  const uint32_t other = lookalike(table, 0, fp0, s.slot);
  ASSERT_NE(0u, other);
  EXPECT_EQ(0, table.find_reusable(10, other, &why).id);
}

TEST(BoundaryRing, KeepsOrderThroughWrapsGrowthAndShrink) {
  BoundaryRing ring(kWindow);  // needs at most 258
  uint32_t next = 0, oldest = 0;
  auto check = [&] {
    ASSERT_EQ(next - oldest, ring.size());
    for (size_t k = 0; k < ring.size(); ++k) {
      const uint32_t want = static_cast<uint32_t>(oldest + k);
      ASSERT_EQ(want, ring[k].cipher) << k;
      ASSERT_EQ(~want, ring[k].plain) << k;
    }
  };
  // A full window in steady state: one in, one out, many times round a ring
  // whose capacity is not a power of two.
  for (; next < 258; ++next) ring.push_back(Boundary{next, ~next});
  for (int k = 0; k < 1000; ++k, ++next, ++oldest) {
    ring.push_back(Boundary{next, ~next});
    ring.pop_front();
  }
  check();
  // One large send: far more than the window needs, then trimmed and shrunk.
  for (int k = 0; k < 3000; ++k, ++next) ring.push_back(Boundary{next, ~next});
  check();
  for (; next - oldest > 258; ++oldest) ring.pop_front();
  ring.shrink();
  check();
  for (int k = 0; k < 600; ++k, ++next, ++oldest) {
    ring.push_back(Boundary{next, ~next});
    ring.pop_front();
  }
  check();
}

}  // namespace
}  // namespace sc
