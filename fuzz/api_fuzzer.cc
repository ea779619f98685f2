// The whole API, driven from the fuzz data: the network simulator of the test
// suite (one pool, three clients, reconnects, losses, splits, clock jumps,
// closes) takes every decision from a FuzzedDataProvider and checks its stream
// invariants after every operation. An input whose first byte has its top bit
// set runs two version 2 clients beside a version 1 one, with bytes changed
// in flight on version 2 connections. (The provider takes its choices from
// the end of the input, so that byte only picks the mode.)
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>

#include "fuzz_common.h"
#include "simulator.h"

namespace {

class FuzzChoices : public sim::ChoiceSource {
 public:
  FuzzChoices(const uint8_t *data, size_t size) : fdp_(data, size) {}
  uint32_t below(uint32_t n) override { return fdp_.ConsumeIntegralInRange<uint32_t>(0, n - 1); }
  bool more() const override { return const_cast<FuzzedDataProvider &>(fdp_).remaining_bytes() > 0; }

 private:
  FuzzedDataProvider fdp_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::FixedRandom random;
  FuzzChoices choices(data, size);
  sim::Config config;
  config.clients = 3;
  config.window = 600;
  config.max_message = 300;
#if SC_HAVE_PROTOCOL_2
  if (size > 0 && (data[0] & 0x80) != 0) {
    config.v2_clients = 2;
    config.tamper = true;
  }
#endif
  sim::Simulator simulator(config);
  while (choices.more()) {
    if (!simulator.step(choices)) break;
  }
  if (simulator.failure().empty()) simulator.settle();
  if (!simulator.failure().empty()) {
    std::fprintf(stderr, "%s\nlast operations:\n%s", simulator.failure().c_str(),
                 simulator.recent_operations().c_str());
    std::abort();
  }
  return 0;
}
