// Runs the network simulator under seeded random schedules. On failure the
// test prints the seed, the number of operations that reproduce it, and the
// last operations. SC_SIM_SEED and SC_SIM_OPS replay or lengthen a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "simulator.h"

namespace {

uint64_t env_or(const char *name, uint64_t fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

void run(const sim::Config &config, uint64_t seed, uint64_t operations) {
  sim::Simulator simulator(config);
  sim::SeededChoices choices(seed);
  for (uint64_t k = 0; k < operations; ++k) {
    if (!simulator.step(choices)) break;
  }
  if (simulator.failure().empty()) simulator.settle();
  const sim::Stats &st = simulator.stats();
  ASSERT_TRUE(simulator.failure().empty())
      << simulator.failure() << "\nreproduce: SC_SIM_SEED=" << seed << " SC_SIM_OPS=" << st.operations
      << " with clients=" << config.clients << " old_clients=" << config.old_clients
      << " v2_clients=" << config.v2_clients << " tamper=" << config.tamper << " window=" << config.window
      << "\nlast operations:\n"
      << simulator.recent_operations();
  std::printf(
      "simulated %llu operations: %llu+%llu bytes verified, %llu socket deaths, %llu reuses, "
      "%llu sessions, %llu refusals, %llu closes, %llu client restarts\n",
      static_cast<unsigned long long>(st.operations), static_cast<unsigned long long>(st.bytes_client_to_server),
      static_cast<unsigned long long>(st.bytes_server_to_client), static_cast<unsigned long long>(st.socket_deaths),
      static_cast<unsigned long long>(st.reuses), static_cast<unsigned long long>(st.sessions_opened),
      static_cast<unsigned long long>(st.refusals), static_cast<unsigned long long>(st.sessions_closed),
      static_cast<unsigned long long>(st.client_restarts));
  std::printf("refusals by reason:");
  for (int r = 0; r <= SC_REASON_MAX; ++r)
    std::printf(" %llu", static_cast<unsigned long long>(st.refusals_by_reason[r]));
  std::printf("\ncloses by reason:");
  for (int r = 0; r <= SC_REASON_MAX; ++r)
    std::printf(" %llu", static_cast<unsigned long long>(st.closes_by_reason[r]));
  std::printf("\nversion 2: %llu sessions, %llu resumes, %llu bytes changed in flight, %llu caught\n",
              static_cast<unsigned long long>(st.v2_sessions), static_cast<unsigned long long>(st.v2_reuses),
              static_cast<unsigned long long>(st.tampers), static_cast<unsigned long long>(st.tampers_caught));
  // A run that never reconnected would prove nothing.
  EXPECT_GT(st.reuses, operations / 1000);
  EXPECT_GT(st.socket_deaths, operations / 1000);
}

TEST(Simulator, FewClientsSmallWindow) {
  sim::Config config;
  config.clients = 4;
  config.old_clients = 2;
  config.window = 1024;
  run(config, env_or("SC_SIM_SEED", 1), env_or("SC_SIM_OPS", 300000));
}

TEST(Simulator, HundredsOfClientsHalfOfThemReferenceStyle) {
  sim::Config config;
  config.clients = 300;
  config.old_clients = 150;
  config.window = 4096;
  run(config, env_or("SC_SIM_SEED", 2), env_or("SC_SIM_OPS", 1000000));
}

#ifdef SC_WITH_V2
// Both versions on one pool, reference-style clients too, and bytes changed
// in flight on version 2 connections.
TEST(Simulator, BothVersionsWithTampering) {
  sim::Config config;
  config.clients = 40;
  config.old_clients = 10;
  config.v2_clients = 20;
  config.tamper = true;
  config.window = 4096;
  run(config, env_or("SC_SIM_SEED", 3), env_or("SC_SIM_OPS", 400000));
}

TEST(Simulator, VersionTwoOnlySmallWindow) {
  sim::Config config;
  config.clients = 4;
  config.v2_clients = 4;
  config.tamper = true;
  config.window = 4096;
  run(config, env_or("SC_SIM_SEED", 4), env_or("SC_SIM_OPS", 200000));
}
#endif

}  // namespace
