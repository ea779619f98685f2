// The pool's sockets, by fd: what each is doing (in a handshake, carrying a
// session, or being closed by the pool), how many of its messages wait to be
// polled, and how many are in a handshake now.
#ifndef SC_POOL_SOCKET_TABLE_H
#define SC_POOL_SOCKET_TABLE_H

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include <memory>

#include "core/assembler.h"
#include "v1/server_handshake.h"
#ifdef SC_WITH_V2
#include "v2/link.h"
#include "v2/server_handshake.h"
#endif

namespace sc {

enum class SocketKind : uint8_t { kHandshake, kAttached, kClosing };

struct Socket {
  SocketKind kind = SocketKind::kHandshake;
  // OUT messages for this fd not yet polled: counted while they matter, in
  // the handshake (and the close); a session's stream is not counted.
  uint32_t queued_out = 0;
  int session_id = 0;       // kAttached
  uint64_t started_ms = 0;  // when the pool learned of the socket
  v1::ServerHandshake hs;   // kHandshake
  // The protocol version, once the first 8 bytes told it (0 until then).
  uint8_t version = 0;
  // Sockets the cap would refuse, in a pool that must first see whether
  // they speak version 2 (which answers "busy" after the whole request).
  bool over_cap = false;
  Assembler<v1::kKindSize> first;
#ifdef SC_WITH_V2
  std::unique_ptr<v2::ServerHandshake> hs2;
  // After the version 2 answer: this connection's records.
  std::unique_ptr<v2::Link> link;
  // Answered but not yet confirmed by the client's first record: a new
  // session (attached here already) or a resume (of pending_id, which moves
  // here at that record).
  bool pending_new = false;
  int pending_id = 0;
  uint64_t resume_from = 0;  // the client's count in the resume request
#endif
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
