// The random source: kernel randomness handed out without repeats, fresh
// values in a forked child, and test overrides per side.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "base/random.h"

namespace {

TEST(Random, ValuesDoNotRepeat) {
  std::set<uint64_t> seen;
  for (int k = 0; k < 1000; ++k) EXPECT_TRUE(seen.insert(sc::random_u64(sc::RandomSide::kServer)).second);
}

TEST(Random, ForkedChildDrawsDifferentValues) {
#if defined(SC_TESTS_CANNOT_FORK)
  GTEST_SKIP() << "fork does not work under this build's emulator";
#endif
  sc::random_u64(sc::RandomSide::kServer);  // the parent has a block in hand
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const uint64_t v = sc::random_u64(sc::RandomSide::kServer);
    _exit(write(fds[1], &v, sizeof v) == sizeof v ? 0 : 1);
  }
  // Closed here first, so that a child that dies without writing gives an end
  // of file rather than a read that waits forever.
  close(fds[1]);
  const uint64_t mine = sc::random_u64(sc::RandomSide::kServer);
  uint64_t child = 0;
  const ssize_t got = read(fds[0], &child, sizeof child);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof child));
  EXPECT_NE(mine, child);
}

uint64_t seven(void *) { return 7; }

TEST(Random, OverridesArePerSideAndRemovable) {
  sc::set_random_source(sc::RandomSide::kClient, seven, nullptr);
  EXPECT_EQ(sc::random_u64(sc::RandomSide::kClient), 7u);
  EXPECT_NE(sc::random_u64(sc::RandomSide::kServer), 7u);
  sc::set_random_source(sc::RandomSide::kClient, nullptr, nullptr);
  EXPECT_NE(sc::random_u64(sc::RandomSide::kClient), 7u);
}

}  // namespace
