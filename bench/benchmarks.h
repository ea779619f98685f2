// The groups of benchmarks, registered by main(): memory first (while the heap
// is fresh), then the cipher ceiling, then the figures compared with it.
#ifndef SC_BENCH_BENCHMARKS_H
#define SC_BENCH_BENCHMARKS_H

#include <cstddef>

namespace bench {

// Block size of the cipher ceiling run.
constexpr size_t kCeilingBlock = 4096;

void register_cipher_benchmarks();
void register_stream_benchmarks();
void register_handshake_benchmarks();
void register_memory_benchmarks();
void register_scale_benchmarks();
void register_tcp_benchmarks();

// Frees the sessions the reuse benchmarks keep between runs.
void release_handshake_state();

}  // namespace bench

#endif
