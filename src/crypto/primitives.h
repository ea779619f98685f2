// The four primitives protocol version 2 is built on (X25519, ChaCha20-Poly1305,
// SHA-256, HKDF over HMAC-SHA-256) and the operating system's randomness, behind one
// small interface. The only implementation is over OpenSSL's libcrypto
// (primitives_openssl.cc); nothing here is written by hand.
#ifndef SC_CRYPTO_PRIMITIVES_H
#define SC_CRYPTO_PRIMITIVES_H

#include <cstddef>
#include <cstdint>

namespace sc {
namespace crypto {

constexpr size_t kDhSize = 32;    // X25519 private keys, public keys and outputs
constexpr size_t kKeySize = 32;   // ChaCha20-Poly1305 keys
constexpr size_t kTagSize = 16;   // Poly1305 tags
constexpr size_t kHashSize = 32;  // SHA-256 and HMAC-SHA-256 outputs

// The public key of an X25519 private key. False if the library failed.
bool x25519_public(const uint8_t priv[kDhSize], uint8_t pub[kDhSize]);

// The X25519 shared secret. False if the library failed or the output is 32
// zero bytes (a peer key of small order), which the protocol refuses.
bool x25519(const uint8_t priv[kDhSize], const uint8_t peer[kDhSize], uint8_t out[kDhSize]);

// An X25519 private key held for several operations. The library computes
// the public key of every private key it imports, a scalar multiplication as
// costly as a shared secret; held here, a key is imported once, and each
// shared secret afterwards costs one multiplication. Its derivation context
// is made on the first derive() and kept with the key, so one DhKey is not
// for use by several threads at once.
class DhKey {
 public:
  DhKey() = default;
  ~DhKey() { clear(); }
  DhKey(const DhKey &) = delete;
  DhKey &operator=(const DhKey &) = delete;
  // Take the other's key; the other is left unset.
  DhKey(DhKey &&other) noexcept { *this = static_cast<DhKey &&>(other); }
  DhKey &operator=(DhKey &&other) noexcept;

  // False if the library failed (the key is then unset).
  bool set(const uint8_t priv[kDhSize]);
  bool is_set() const { return key_ != nullptr; }
  const uint8_t *public_key() const { return pub_; }
  // As x25519(): false if the key is unset, the library failed or the output
  // is all zeros.
  bool derive(const uint8_t peer[kDhSize], uint8_t out[kDhSize]) const;
  // Frees the library's copy of the key (which wipes it).
  void clear();

 private:
  // The shared secret with `peer` (the library's public key object) into
  // out; false if the library failed.
  bool agree(void *peer, uint8_t out[kDhSize]) const;

  void *key_ = nullptr;             // the library's key object
  mutable void *derive_ = nullptr;  // its derivation context, once one was needed
  uint8_t pub_[kDhSize] = {};
};

// SHA-256 of a || b (either may be empty).
void sha256(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[kHashSize]);

// The Noise HKDF: HKDF-SHA-256 (RFC 5869) with `salt` as its salt, `ikm`
// (n bytes, n may be 0) as input key material and no info, giving two or
// three outputs of kHashSize bytes (out3 may be null). False if the library
// failed; the outputs are then zeros.
bool hkdf_sha256(const uint8_t salt[kHashSize], const uint8_t *ikm, size_t n, uint8_t out1[kHashSize],
                 uint8_t out2[kHashSize], uint8_t *out3);

// Fills `out` from the operating system's CSPRNG. False if it gave nothing.
bool random_bytes(uint8_t *out, size_t n);

// Overwrites secrets in a way the compiler keeps.
void cleanse(void *p, size_t n);

// Compares in time that depends only on n.
bool equal(const uint8_t *a, const uint8_t *b, size_t n);

// ChaCha20-Poly1305 (RFC 8439) under one key, with the protocol's nonce: 32
// zero bits, then the 64-bit counter little-endian. Holds only the key: a
// record borrows one of a few library contexts its thread keeps (made on
// first use, kept until the thread ends, the keys used most recently left
// keyed), so that a record costs no allocation and a session does not carry
// contexts of its own (over a kilobyte each).
class Aead {
 public:
  Aead() = default;
  ~Aead();
  Aead(const Aead &) = delete;
  Aead &operator=(const Aead &) = delete;

  // False if the library could not make its context; the key is then unset.
  bool set_key(const uint8_t key[kKeySize]);
  bool has_key() const { return has_key_; }
  void clear();

  // out receives n + kTagSize bytes; out == in is allowed. False if the
  // library failed (nothing usable in out).
  bool seal(uint64_t nonce, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out);
  // `in` holds n bytes, the tag last; out receives n - kTagSize bytes; out ==
  // in is allowed. False if n < kTagSize or the tag does not verify (then out
  // holds nothing to use).
  bool open(uint64_t nonce, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out);

 private:
  bool crypt(bool seal, uint64_t nonce, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out);

  uint8_t key_[kKeySize] = {};
  bool has_key_ = false;
};

}  // namespace crypto
}  // namespace sc

#endif
