// The Noise Protocol Framework (revision 34) with DH 25519, ChaChaPoly and
// SHA256, for the two patterns protocol version 2 uses:
//
//   NK      <- s            NNpsk0   -> psk, e
//           ...                      <- e, ee
//           -> e, es
//           <- e, ee
//
// The objects follow the specification's CipherState, SymmetricState and
// HandshakeState. Ephemeral private keys come from the caller (drawn from the
// system, or injected by tests), so that a handshake is a pure function of
// its inputs. Every secret is wiped when replaced or destroyed.
#ifndef SC_NOISE_NOISE_H
#define SC_NOISE_NOISE_H

#include <cstddef>
#include <cstdint>

#include "crypto/primitives.h"

namespace sc {
namespace noise {

constexpr size_t kDhSize = crypto::kDhSize;
constexpr size_t kHashSize = crypto::kHashSize;
constexpr size_t kKeySize = crypto::kKeySize;
constexpr size_t kTagSize = crypto::kTagSize;
constexpr size_t kPskSize = 32;

enum class Pattern { kNK, kNNpsk0 };

const char *protocol_name(Pattern p);

// A key and its nonce counter.
class CipherState {
 public:
  // False if the library could not set the key up (the state then has no key).
  bool initialize_key(const uint8_t key[kKeySize]);
  bool has_key() const { return aead_.has_key(); }
  uint64_t nonce() const { return n_; }
  void reset();

  // Without a key these copy the plaintext, as the specification says. out
  // receives n + kTagSize bytes (n without a key); out == in is allowed.
  // False when the nonce is used up or the library failed.
  bool encrypt_with_ad(const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out);
  // `in` holds n bytes, tag included. False when it does not verify; the
  // nonce then does not move.
  bool decrypt_with_ad(const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out);

 private:
  crypto::Aead aead_;
  uint64_t n_ = 0;
};

class SymmetricState {
 public:
  ~SymmetricState();
  void initialize(Pattern p);
  void mix_hash(const uint8_t *data, size_t n);
  bool mix_key(const uint8_t *ikm, size_t n);
  bool mix_key_and_hash(const uint8_t *ikm, size_t n);
  // out receives n (+ kTagSize once a key is set) bytes.
  bool encrypt_and_hash(const uint8_t *in, size_t n, uint8_t *out);
  bool decrypt_and_hash(const uint8_t *in, size_t n, uint8_t *out);
  // The two transport keys: c2s (initiator to responder) first.
  bool split(CipherState &first, CipherState &second);
  bool has_key() const { return cipher_.has_key(); }
  const uint8_t *handshake_hash() const { return h_; }

 private:
  uint8_t ck_[kHashSize] = {};
  uint8_t h_[kHashSize] = {};
  CipherState cipher_;
};

// One side of a handshake of either pattern. Message sizes follow from the
// pattern and the payload: message_size().
class HandshakeState {
 public:
  ~HandshakeState();

  // `s` is the responder's static private key (NK responder only), `rs` the
  // responder's static public key (NK initiator only), `psk` the pre-shared
  // key (NNpsk0 only); the others may be null. False if a key was missing or
  // the library failed.
  bool initialize(Pattern p, bool initiator, const uint8_t *prologue, size_t prologue_len, const uint8_t *s,
                  const uint8_t *rs, const uint8_t *psk);
  // The NK responder with its static key already held as a key object (a
  // pool's, made once for all its handshakes), which must stay as it is until
  // the first message has been read. False if the key is unset.
  bool initialize_responder(const uint8_t *prologue, size_t prologue_len, const crypto::DhKey &s);

  // Bytes of either message with a payload of `payload_len`.
  static constexpr size_t message_size(size_t payload_len) { return kDhSize + payload_len + kTagSize; }

  // Writes the next message with ephemeral private key `e`; out receives
  // message_size(payload_len) bytes. False on a wrong turn or a failure (the
  // handshake is then unusable).
  bool write_message(const uint8_t e[kDhSize], const uint8_t *payload, size_t payload_len, uint8_t *out);
  // Reads the next message of n bytes; payload receives n - kDhSize -
  // kTagSize bytes. False when it does not verify, or on a wrong turn.
  bool read_message(const uint8_t *in, size_t n, uint8_t *payload);

  // After both messages: the transport keys and the handshake hash.
  bool finished() const { return turn_ == 2; }
  bool split(CipherState &c2s, CipherState &s2c) { return finished() && ss_.split(c2s, s2c); }
  const uint8_t *handshake_hash() const { return ss_.handshake_hash(); }

 private:
  bool dh_tokens();

  SymmetricState ss_;
  Pattern pattern_ = Pattern::kNK;
  bool initiator_ = false;
  int turn_ = 0;     // messages done
  crypto::DhKey s_;  // ours, each imported once for all its operations
  crypto::DhKey e_;
  const crypto::DhKey *s_key_ = &s_;  // s_, or the caller's
  uint8_t rs_[kDhSize] = {};
  uint8_t re_[kDhSize] = {};
  uint8_t psk_[kPskSize] = {};
};

}  // namespace noise
}  // namespace sc

#endif
