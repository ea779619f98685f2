// FingerprintIndex: a compact candidate index from (position, fingerprint) to
// ids, checked against std::multimap. The index keeps only a tag of each key,
// so a lookup may also visit ids stored under other keys; what it must never
// do is miss one, lose one, or count wrongly.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "v1/fingerprint_index.h"

namespace {

using sc::FingerprintIndex;
using Key = std::pair<uint64_t, uint32_t>;
using Model = std::multimap<Key, int>;

// Every id find() visits under (pos, fp), in order.
std::vector<int> visited(const FingerprintIndex &index, uint64_t pos, uint32_t fp) {
  std::vector<int> ids;
  const int found = index.find(pos, fp, [&](int id) {
    ids.push_back(id);
    return false;
  });
  EXPECT_EQ(0, found) << "find returned an id although the visitor never accepted one";
  return ids;
}

// Whether find() visits every id the model holds under (pos, fp), as many
// times as the model holds it; `extra` counts the visits beyond those.
::testing::AssertionResult finds_all(const FingerprintIndex &index, const Model &model, uint64_t pos, uint32_t fp,
                                     size_t *extra = nullptr) {
  std::vector<int> got = visited(index, pos, fp);
  std::sort(got.begin(), got.end());
  std::vector<int> want;
  auto range = model.equal_range(Key{pos, fp});
  for (auto it = range.first; it != range.second; ++it) want.push_back(it->second);
  std::sort(want.begin(), want.end());
  if (std::includes(got.begin(), got.end(), want.begin(), want.end())) {
    if (extra) *extra += got.size() - want.size();
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure();
  failure << "under (" << pos << ", " << fp << ") visited {";
  for (int id : got) failure << id << ' ';
  failure << "} which lacks some of {";
  for (int id : want) failure << id << ' ';
  return failure << "}";
}

// What SessionTable gives reserve(): every entry of the model.
auto from(const Model &model) {
  return [&model](auto &&add) {
    for (const auto &kv : model) add(kv.first.first, kv.first.second, kv.second);
  };
}

TEST(FingerprintIndex, EmptyFindsNothing) {
  FingerprintIndex index;
  EXPECT_EQ(0u, index.size());
  EXPECT_EQ(0u, index.memory_bytes());
  int visits = 0;
  EXPECT_EQ(0, index.find(0, 0, [&](int) {
    ++visits;
    return true;
  }));
  EXPECT_EQ(0, visits);
  EXPECT_FALSE(index.erase(0, 0, 1));
  EXPECT_FALSE(index.erase(256, 12345, 7));
}

TEST(FingerprintIndex, InsertFindErase) {
  FingerprintIndex index;
  index.insert(0, 0xdeadbeef, 1);
  index.insert(256, 0xdeadbeef, 2);
  index.insert(0, 0xfeedface, 3);
  EXPECT_EQ(3u, index.size());
  EXPECT_EQ(1, index.find(0, 0xdeadbeef, [](int id) { return id == 1; }));
  EXPECT_EQ(2, index.find(256, 0xdeadbeef, [](int id) { return id == 2; }));
  EXPECT_EQ(3, index.find(0, 0xfeedface, [](int id) { return id == 3; }));
  // An id that was never inserted is never erased.
  EXPECT_FALSE(index.erase(256, 0xdeadbeef, 9));
  EXPECT_TRUE(index.erase(256, 0xdeadbeef, 2));
  EXPECT_EQ(0, index.find(256, 0xdeadbeef, [](int id) { return id == 2; }));
  EXPECT_FALSE(index.erase(256, 0xdeadbeef, 2));
  EXPECT_EQ(2u, index.size());
  EXPECT_TRUE(index.erase(0, 0xdeadbeef, 1));
  EXPECT_TRUE(index.erase(0, 0xfeedface, 3));
  EXPECT_EQ(0u, index.size());
  EXPECT_EQ(0u, index.memory_bytes()) << "an empty index holds no table";
  index.insert(768, 5, 9);
  EXPECT_EQ(9, index.find(768, 5, [](int id) { return id == 9; }));
}

TEST(FingerprintIndex, TheLargestIdRoundTrips) {
  FingerprintIndex index;
  index.insert(512, 77, FingerprintIndex::kMaxId);
  index.insert(512, 77, 1);
  EXPECT_EQ(FingerprintIndex::kMaxId, index.find(512, 77, [](int id) { return id == FingerprintIndex::kMaxId; }));
  EXPECT_TRUE(index.erase(512, 77, FingerprintIndex::kMaxId));
  EXPECT_EQ(1, index.find(512, 77, [](int id) { return id != 0; }));
}

TEST(FingerprintIndex, FindStopsAtTheAcceptedId) {
  FingerprintIndex index;
  for (int id = 1; id <= 5; ++id) index.insert(512, 77, id);
  index.insert(512, 78, 6);
  std::vector<int> seen;
  const int found = index.find(512, 77, [&](int id) {
    seen.push_back(id);
    return id == 3;
  });
  EXPECT_EQ(3, found);
  EXPECT_EQ(3, seen.back());
  EXPECT_EQ(0, index.find(512, 77, [](int) { return false; }));
  EXPECT_EQ(6, index.find(512, 78, [](int id) { return id == 6; }));
}

TEST(FingerprintIndex, MoreCopiesOfOneKeyThanItsTwoBucketsHold) {
  // Two buckets of eight take sixteen; the rest wait in the stash, and every
  // copy is still found, counted and erased.
  FingerprintIndex index;
  Model model;
  for (int k = 0; k < 20; ++k) {
    index.insert(256, 42, 7);
    model.emplace(Key{256, 42}, 7);
    index.insert(256, 42, 100 + k);
    model.emplace(Key{256, 42}, 100 + k);
  }
  EXPECT_EQ(40u, index.size());
  ASSERT_TRUE(finds_all(index, model, 256, 42));
  index.reserve(10, from(model));  // a rebuild cannot separate them either
  ASSERT_TRUE(finds_all(index, model, 256, 42));
  for (int k = 0; k < 20; ++k) {
    EXPECT_TRUE(index.erase(256, 42, 7)) << k;
    EXPECT_TRUE(index.erase(256, 42, 100 + k)) << k;
  }
  EXPECT_FALSE(index.erase(256, 42, 7));
  EXPECT_EQ(0u, index.size());
}

TEST(FingerprintIndex, ReserveRebuildsFromTheCallerAndStaysSmall) {
  FingerprintIndex index;
  Model model;
  const int n = 200000;
  std::mt19937 gen(11);
  for (int k = 0; k < n; k += 1000) {
    // Batches, as a send indexes its boundaries: room first, then inserts.
    index.reserve(1000, from(model));
    for (int j = k; j < k + 1000; ++j) {
      const uint64_t pos = uint64_t(j % 4096) * 256;
      const uint32_t fp = static_cast<uint32_t>(gen());
      const int id = j / 512 + 1;
      index.insert(pos, fp, id);
      model.emplace(Key{pos, fp}, id);
    }
  }
  EXPECT_EQ(size_t(n), index.size());
  // Four bytes an entry, at 72% to 90% full.
  EXPECT_LE(index.memory_bytes(), size_t(n) * 4 * 100 / 70) << index.memory_bytes();
  size_t extra = 0, lookups = 0;
  size_t k = 0;
  for (const auto &kv : model) {
    if (k++ % 97 != 0) continue;
    ASSERT_TRUE(finds_all(index, model, kv.first.first, kv.first.second, &extra));
    ++lookups;
  }
  // A visit that is not the key's takes the same 8-bit tag in one of 16 ways
  // (two buckets of eight): about 6% of lookups.
  EXPECT_LT(extra * 10, lookups) << extra << " extra visits in " << lookups << " lookups";
  for (const auto &kv : model) ASSERT_TRUE(index.erase(kv.first.first, kv.first.second, kv.second));
  EXPECT_EQ(0u, index.size());
  EXPECT_EQ(0u, index.memory_bytes());
}

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
TEST(FingerprintIndex, AFailedRebuildLeavesTheIndexAsItWas) {
  FingerprintIndex index;
  Model model;
  index.reserve(4, from(model));
  for (int id = 1; id <= 4; ++id) {
    index.insert(uint64_t(id) * 256, 1000u + id, id);
    model.emplace(Key{uint64_t(id) * 256, 1000u + id}, id);
  }
  const size_t bytes = index.memory_bytes();
  EXPECT_THROW(index.reserve(100000,
                             [&](auto &&add) {
                               add(256, 1001, 1);
                               throw std::runtime_error("out of memory, say");
                             }),
               std::runtime_error);
  EXPECT_EQ(4u, index.size());
  EXPECT_EQ(bytes, index.memory_bytes());
  for (int id = 1; id <= 4; ++id) ASSERT_TRUE(finds_all(index, model, uint64_t(id) * 256, 1000u + id));
}
#endif

// Random operations over a small key space (so keys repeat, ids repeat, and
// buckets fill and overflow), with and without reserve(), against a multimap.
class FingerprintIndexModel : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FingerprintIndexModel, RandomOperationsFindEverythingTheModelHolds) {
  std::mt19937 gen(GetParam());
  const uint32_t positions = GetParam() % 3 == 0 ? 512 : 6;
  const uint32_t fps = GetParam() % 3 == 0 ? 512 : 4;
  const int ids = GetParam() % 3 == 0 ? 60 : 6;
  const bool reserving = GetParam() % 2 == 0;
  FingerprintIndex index;
  Model model;
  auto random_key = [&] {
    return std::make_tuple(uint64_t(gen() % positions) * 256, static_cast<uint32_t>(gen() % fps) * 0x01000193u,
                           static_cast<int>(gen() % ids) + 1);
  };
  for (int step = 0; step < 8000; ++step) {
    uint64_t pos;
    uint32_t fp;
    int id;
    std::tie(pos, fp, id) = random_key();
    // Grow for the first half, then empty through erases.
    const bool grow_phase = step < 4000;
    const bool do_insert = gen() % 10 < (grow_phase ? 6u : 3u);
    if (do_insert) {
      if (reserving) index.reserve(1, from(model));
      index.insert(pos, fp, id);
      model.emplace(Key{pos, fp}, id);
    } else if (!model.empty()) {
      // Erase an entry the model holds (erasing what was never inserted is
      // not something the caller does: see the header).
      auto it = model.begin();
      std::advance(it, gen() % model.size());
      pos = it->first.first;
      fp = it->first.second;
      id = it->second;
      model.erase(it);
      ASSERT_TRUE(index.erase(pos, fp, id)) << "step " << step;
    }
    ASSERT_EQ(model.size(), index.size()) << "step " << step;
    ASSERT_TRUE(finds_all(index, model, pos, fp)) << "step " << step;
    if (step % 500 == 0 || step == 7999) {
      for (const auto &kv : model) ASSERT_TRUE(finds_all(index, model, kv.first.first, kv.first.second)) << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, FingerprintIndexModel, ::testing::Values(1u, 2u, 3u, 4u, 5u, 6u));

}  // namespace
