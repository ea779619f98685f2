// The client side of a stable connection: opens a session, and after the
// application connects a new socket, resumes it, resending what the server
// missed. Sans-IO like the pool.
#ifndef SC_CLIENT_CLIENT_H
#define SC_CLIENT_CLIENT_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/config.h"
#include "core/events.h"
#include "core/message_queue.h"
#include "core/send_state.h"
#include "v1/client_handshake.h"
#include "v1/stream_cipher.h"

namespace sc {

class Client {
 public:
  // kOut: bytes for the socket; kIn: data, or with size 0 the end of the
  // connection; kEvent: event.
  // connection_message.sz is an int: no message may be larger than 1 GiB.
  static constexpr size_t kMaxMessage = size_t{1} << 30;
  using Queue = MessageQueue<ClientEvent, kMaxMessage, 4>;
  using Message = Queue::Polled;
  using Kind = Message::Kind;
  enum class State { kOpening, kResuming, kEstablished, kDead };
  // Which stream a reuse request's fingerprint is computed over. This library
  // sends the ciphertext form, which every server accepts; the reference client
  // used the plaintext, which only this library's server accepts.
  enum class FingerprintForm { kCiphertext, kPlaintext };

  // Queues a new-connection handshake at once.
  explicit Client(size_t window = kDefaultWindow);
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  // A new socket replaces the old one: unsent output is dropped and a reuse
  // request (or, if nothing was ever received, a new handshake) is queued.
  void handshake();
  void send(const uint8_t *data, size_t n);
  void receive(const uint8_t *data, size_t n);
  // The application gives up: one final IN message of size 0, input ignored.
  void drop();
  // One message per call; the data stays valid until the next poll(). Queued
  // events are returned only when `with_events`, and skipped otherwise.
  Message poll(bool with_events = false);

  // False once data has been sent: the window can no longer change.
  bool set_window(size_t bytes);
  void set_fingerprint_form(FingerprintForm form) { form_ = form; }
  // Events are queued only while enabled.
  void enable_events(bool on) { events_enabled_ = on; }

  State state() const { return state_; }
  uint64_t sent() const { return out_.sent(); }
  uint64_t received() const { return received_; }
  size_t held() const { return out_.held(); }
  // Application bytes not yet handed to a socket: still queued, or sent while
  // the handshake was in flight.
  uint64_t backlog() const { return out_.backlog(pending_.size()); }
  const ClientCounters &counters() const { return counters_; }
  // The reason of the last refusal (kNone if none).
  Reason last_failure() const { return last_failure_; }

 private:
  void start_new_session();
  void on_new_reply();
  void on_reuse_reply();
  void encrypt_and_queue(const uint8_t *data, size_t n);
  void flush_pending();
  void deliver(const uint8_t *data, size_t n);
  void die(Reason why);
  void emit(const ClientEvent &e);
  std::vector<uint8_t> &out_buffer();
  // Marks the end of the last OUT message as the current stream position.
  void mark_out_end();

  State state_ = State::kOpening;
  FingerprintForm form_ = FingerprintForm::kCiphertext;
  size_t window_;
  bool has_session_ = false;
  v1::ClientHandshake hs_;
  SendState out_;                 // client->server: ciphertext held for resending
  uint64_t received_ = 0;
  std::vector<uint8_t> pending_;  // plaintext sent before the handshake completed
  // Version 1 protection of the session's stream.
  uint64_t secret_ = 0;
  StreamCipher encoder_;      // client->server
  StreamCipher decoder_;      // server->client
  uint32_t fp_running_ = 0;   // server->client fingerprint, current position
  uint32_t fp_boundary_ = 0;  // ... at the last 256-byte boundary <= received_

  bool events_enabled_ = false;
  Reason last_failure_ = Reason::kNone;
  ClientCounters counters_;
  Queue queue_;
};

}  // namespace sc

#endif
