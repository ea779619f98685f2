// The pool's sockets, by fd: what each is doing (in a handshake, carrying a
// session, or being closed by the pool), how many of its messages wait to be
// polled, and how many are in a handshake now.
#ifndef SC_POOL_SOCKET_TABLE_H
#define SC_POOL_SOCKET_TABLE_H

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "v1/server_handshake.h"

namespace sc {

enum class SocketKind : uint8_t { kHandshake, kAttached, kClosing };

struct Socket {
  SocketKind kind = SocketKind::kHandshake;
  uint32_t queued_out = 0;  // OUT messages for this fd not yet polled
  int session_id = 0;       // kAttached
  uint64_t started_ms = 0;  // when the pool learned of the socket
  v1::ServerHandshake hs;   // kHandshake
};

class SocketTable {
 public:
  Socket *find(int fd) {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? nullptr : &it->second;
  }
  // A socket the pool has not seen: in the handshake from `now_ms`.
  Socket &open(int fd, uint64_t now_ms) {
    Socket &sock = sockets_[fd];
    sock = Socket{};
    sock.started_ms = now_ms;
    ++handshakes_;
    return sock;
  }
  void set_kind(Socket &sock, SocketKind kind) {
    if (sock.kind == SocketKind::kHandshake) --handshakes_;
    if (kind == SocketKind::kHandshake) ++handshakes_;
    sock.kind = kind;
  }
  void erase(int fd) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    set_kind(it->second, SocketKind::kClosing);
    sockets_.erase(it);
  }
  // Sockets in the handshake now.
  size_t handshakes() const { return handshakes_; }

  template <typename Visit>
  void for_each(Visit &&visit) const {
    for (const auto &kv : sockets_) visit(kv.first, kv.second);
  }

 private:
  std::unordered_map<int, Socket> sockets_;
  size_t handshakes_ = 0;
};

}  // namespace sc

#endif
