// FingerprintIndex: an open-addressing multimap from (position, fingerprint)
// to session ids, checked against std::multimap.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "v1/fingerprint_index.h"

namespace {

using sc::FingerprintIndex;
using Key = std::pair<uint64_t, uint32_t>;
using Model = std::multimap<Key, int>;

// Every id stored under (pos, fp), in the order find() visits them.
std::vector<int> all_ids(const FingerprintIndex &index, uint64_t pos, uint32_t fp) {
  std::vector<int> ids;
  const int found = index.find(pos, fp, [&](int id) {
    ids.push_back(id);
    return false;
  });
  EXPECT_EQ(0, found) << "find returned an id although the visitor never accepted one";
  return ids;
}

std::vector<int> model_ids(const Model &model, uint64_t pos, uint32_t fp) {
  std::vector<int> ids;
  auto range = model.equal_range(Key{pos, fp});
  for (auto it = range.first; it != range.second; ++it) ids.push_back(it->second);
  std::sort(ids.begin(), ids.end());
  return ids;
}

::testing::AssertionResult same_under(const FingerprintIndex &index, const Model &model, uint64_t pos, uint32_t fp) {
  std::vector<int> got = all_ids(index, pos, fp);
  std::sort(got.begin(), got.end());
  const std::vector<int> want = model_ids(model, pos, fp);
  if (got == want) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "under (" << pos << ", " << fp << ") got {";
  for (int id : got) failure << id << ' ';
  failure << "} want {";
  for (int id : want) failure << id << ' ';
  return failure << "}";
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
  EXPECT_GT(index.memory_bytes(), 0u);
  EXPECT_EQ(std::vector<int>{1}, all_ids(index, 0, 0xdeadbeef));
  EXPECT_EQ(std::vector<int>{2}, all_ids(index, 256, 0xdeadbeef));
  EXPECT_EQ(std::vector<int>{3}, all_ids(index, 0, 0xfeedface));
  EXPECT_TRUE(all_ids(index, 512, 0xdeadbeef).empty());
  EXPECT_TRUE(all_ids(index, 0, 0xdeadbeee).empty());
  EXPECT_EQ(2, index.find(256, 0xdeadbeef, [](int) { return true; }));

  // erase needs the exact triple.
  EXPECT_FALSE(index.erase(256, 0xdeadbeef, 1));
  EXPECT_FALSE(index.erase(0, 0xdeadbeef, 2));
  EXPECT_TRUE(index.erase(256, 0xdeadbeef, 2));
  EXPECT_FALSE(index.erase(256, 0xdeadbeef, 2));
  EXPECT_EQ(2u, index.size());
  EXPECT_TRUE(all_ids(index, 256, 0xdeadbeef).empty());
  EXPECT_EQ(std::vector<int>{1}, all_ids(index, 0, 0xdeadbeef));
  EXPECT_TRUE(index.erase(0, 0xdeadbeef, 1));
  EXPECT_TRUE(index.erase(0, 0xfeedface, 3));
  EXPECT_EQ(0u, index.size());
  EXPECT_EQ(0u, index.memory_bytes()) << "an empty index keeps no table";
  EXPECT_TRUE(all_ids(index, 0, 0xfeedface).empty());
  // Usable again after it emptied.
  index.insert(768, 5, 9);
  EXPECT_EQ(std::vector<int>{9}, all_ids(index, 768, 5));
}

TEST(FingerprintIndex, FindStopsAtTheAcceptedId) {
  FingerprintIndex index;
  for (int id = 1; id <= 5; ++id) index.insert(512, 77, id);
  index.insert(512, 78, 6);
  std::vector<int> visited;
  const int found = index.find(512, 77, [&](int id) {
    visited.push_back(id);
    return id == 3;
  });
  EXPECT_EQ(3, found);
  ASSERT_FALSE(visited.empty());
  EXPECT_EQ(3, visited.back());
  EXPECT_LE(visited.size(), 5u);
  for (int id : visited) EXPECT_TRUE(id >= 1 && id <= 5) << "visited " << id << " from another key";
  // The visitor may reject every id of the key.
  EXPECT_EQ(0, index.find(512, 77, [](int) { return false; }));
  EXPECT_EQ(6, index.find(512, 78, [](int) { return true; }));
}

TEST(FingerprintIndex, DuplicateEntriesAreCounted) {
  FingerprintIndex index;
  index.insert(256, 42, 7);
  index.insert(256, 42, 7);
  index.insert(256, 42, 7);
  EXPECT_EQ(3u, index.size());
  EXPECT_EQ((std::vector<int>{7, 7, 7}), all_ids(index, 256, 42));
  EXPECT_TRUE(index.erase(256, 42, 7));
  EXPECT_EQ((std::vector<int>{7, 7}), all_ids(index, 256, 42));
  EXPECT_TRUE(index.erase(256, 42, 7));
  EXPECT_TRUE(index.erase(256, 42, 7));
  EXPECT_FALSE(index.erase(256, 42, 7));
  EXPECT_EQ(0u, index.size());
}

TEST(FingerprintIndex, ManyIdsUnderOneKeyWithEraseInTheMiddle) {
  // Entries with one key share a home slot: one long probe cluster. Other
  // keys inserted in between land inside or after it.
  FingerprintIndex index;
  Model model;
  for (int id = 1; id <= 200; ++id) {
    index.insert(1024, 0xabcdef, id);
    model.emplace(Key{1024, 0xabcdef}, id);
    if (id % 10 == 0) {
      index.insert(uint64_t(id) * 256, 0xabcdef, 1000 + id);
      model.emplace(Key{uint64_t(id) * 256, 0xabcdef}, 1000 + id);
    }
  }
  ASSERT_EQ(model.size(), index.size());
  // Erase from the middle, the front and the back of the cluster in turn.
  std::vector<int> order;
  for (int k = 0; k < 100; ++k) order.push_back(100 + (k % 2 ? k / 2 + 1 : -(k / 2)));
  for (int id : {1, 200, 2, 199}) order.push_back(id);
  for (int id : order) {
    ASSERT_TRUE(index.erase(1024, 0xabcdef, id)) << id;
    auto range = model.equal_range(Key{1024, 0xabcdef});
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == id) {
        model.erase(it);
        break;
      }
    }
    ASSERT_TRUE(same_under(index, model, 1024, 0xabcdef)) << "after erasing " << id;
    for (int other = 10; other <= 200; other += 10)
      ASSERT_TRUE(same_under(index, model, uint64_t(other) * 256, 0xabcdef)) << "after erasing " << id;
  }
  EXPECT_EQ(model.size(), index.size());
}

TEST(FingerprintIndex, GrowsAndShrinksWithThousandsOfEntries) {
  FingerprintIndex index;
  const int n = 20000;
  for (int id = 1; id <= n; ++id) index.insert(uint64_t(id % 97) * 256, static_cast<uint32_t>(id * 2654435761u), id);
  EXPECT_EQ(size_t(n), index.size());
  for (int id = 1; id <= n; id += 123) {
    EXPECT_EQ(id, index.find(uint64_t(id % 97) * 256, static_cast<uint32_t>(id * 2654435761u),
                             [&](int candidate) { return candidate == id; }));
  }
  for (int id = 1; id <= n; ++id)
    ASSERT_TRUE(index.erase(uint64_t(id % 97) * 256, static_cast<uint32_t>(id * 2654435761u), id)) << id;
  EXPECT_EQ(0u, index.size());
  EXPECT_EQ(0u, index.memory_bytes());
}

// Random operations over a tiny key space (so keys repeat, ids repeat, and
// clusters overlap and wrap around the table) compared with a multimap.
class FingerprintIndexModel : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FingerprintIndexModel, RandomOperationsMatchAMultimap) {
  std::mt19937 gen(GetParam());
  // Few distinct positions and fingerprints: heavy collisions. One of the
  // seeds uses a wider key space so the table grows large.
  const uint32_t positions = GetParam() % 3 == 0 ? 64 : 6;
  const uint32_t fps = GetParam() % 3 == 0 ? 64 : 4;
  const int ids = 6;
  FingerprintIndex index;
  Model model;
  auto random_key = [&] {
    return std::make_tuple(uint64_t(gen() % positions) * 256, static_cast<uint32_t>(gen() % fps) * 0x01000193u,
                           static_cast<int>(gen() % ids) + 1);
  };
  for (int step = 0; step < 6000; ++step) {
    uint64_t pos;
    uint32_t fp;
    int id;
    std::tie(pos, fp, id) = random_key();
    // Insert more often than erase for the first half, then the reverse, so
    // the table grows, then empties through erases within clusters.
    const bool grow_phase = step < 3000;
    const bool do_insert = gen() % 10 < (grow_phase ? 6u : 3u);
    if (do_insert) {
      index.insert(pos, fp, id);
      model.emplace(Key{pos, fp}, id);
    } else {
      // Half of the erases target an entry that exists, picked from the model.
      if (!model.empty() && gen() % 2 == 0) {
        auto it = model.begin();
        std::advance(it, gen() % model.size());
        pos = it->first.first;
        fp = it->first.second;
        id = it->second;
      }
      bool in_model = false;
      auto range = model.equal_range(Key{pos, fp});
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second == id) {
          model.erase(it);
          in_model = true;
          break;
        }
      }
      ASSERT_EQ(in_model, index.erase(pos, fp, id)) << "step " << step;
    }
    ASSERT_EQ(model.size(), index.size()) << "step " << step;
    // Check the key just touched every time, and every key now and then.
    ASSERT_TRUE(same_under(index, model, pos, fp)) << "step " << step;
    if (step % 500 == 0 || step == 5999) {
      for (uint32_t p = 0; p < positions; ++p)
        for (uint32_t f = 0; f < fps; ++f)
          ASSERT_TRUE(same_under(index, model, uint64_t(p) * 256, f * 0x01000193u)) << "step " << step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, FingerprintIndexModel, ::testing::Values(1u, 2u, 3u, 4u, 5u, 6u));

}  // namespace
