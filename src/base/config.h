// Defaults and limits of the core; the extension header repeats them for C.
#ifndef SC_BASE_CONFIG_H
#define SC_BASE_CONFIG_H

#include <cstddef>
#include <cstdint>

namespace sc {

constexpr uint64_t kDefaultHandshakeTimeoutMs = 30000;
constexpr uint64_t kDefaultReuseTimeoutMs = 300000;
constexpr size_t kDefaultWindow = 64 * 1024;
// Version 2 sessions when no window is set: the window caps what one session
// moves per round trip, and memory follows what is in flight, not the window.
constexpr size_t kDefaultWindowV2 = 256 * 1024;
constexpr size_t kMinWindow = 1;
constexpr size_t kMaxWindow = size_t{1} << 30;

// Fingerprints are recorded every kBoundary bytes of the server->client stream.
constexpr uint64_t kBoundary = 256;

inline bool valid_window(size_t w) { return w >= kMinWindow && w <= kMaxWindow; }

}  // namespace sc

#endif
