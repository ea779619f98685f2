// The primitives over OpenSSL's libcrypto (3.0 or later).
#include "crypto/primitives.h"

// SHA-256 goes through libcrypto's own SHA256_* functions where the library
// still has them (3.0 deprecates them in favour of EVP without removing
// them): see HmacSha256 below.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/opensslconf.h>
#if !defined(OPENSSL_NO_DEPRECATED_3_0)
#define SC_SHA256_STATE 1
#include <openssl/sha.h>
#endif

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/random.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace sc {
namespace crypto {
namespace {

constexpr size_t kNonceSize = 12;
// libcrypto's AVX-512 Poly1305 runs a text of whole 16-byte blocks eight
// blocks at a time only when the blocks left over from the eights are fewer
// than four; otherwise the whole text goes four at a time. Measured here
// (one seal, 2 bytes of associated data): 16,450 bytes 4.71 us, 65,519 bytes
// 17.1 us; the same texts given as their whole 128-byte groups and then the
// rest, 3.71 and 13.2 us. Short texts lose more to the second call than they
// gain (1,023 bytes: 0.70 us whole, 0.78 split), and texts with fewer than
// four blocks left over gain nothing, so only the others are split.
constexpr size_t kPolyBlock = 16;
constexpr size_t kGroupBlocks = 8;   // blocks libcrypto's fast path takes at once
constexpr size_t kSlowLeftover = 4;  // this many blocks left over send all of it the slow way
constexpr size_t kPolyGroup = kGroupBlocks * kPolyBlock;
constexpr size_t kSplitFrom = 2048;

// Where to cut a text of n bytes into two updates, or n for one.
size_t poly_friendly_cut(size_t n) {
  if (n < kSplitFrom || (n / kPolyBlock) % kGroupBlocks < kSlowLeftover) return n;
  return n - n % kPolyGroup;
}

// Fetched once: passing EVP_chacha20_poly1305() to every init would look the
// implementation up again each time.
const EVP_CIPHER *aead_cipher() {
  static EVP_CIPHER *const cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return cipher;
}

#if !SC_SHA256_STATE
const EVP_MD *sha256_md() {
  static EVP_MD *const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}
#endif

// Objects a thread makes once and keeps: looking an algorithm up by its
// name, as the library's one-shot calls do each time, costs more than the
// short computations of a handshake themselves.
class ThreadObjects {
 public:
  ~ThreadObjects() {
#if !SC_SHA256_STATE
    EVP_MD_CTX_free(digest_);  // wipes its state
#endif
    EVP_PKEY_CTX_free(x25519_);
    EVP_PKEY_free(base_point_);
    EVP_PKEY_free(peer_);
  }

#if !SC_SHA256_STATE
  // SHA-256 of a || b || c on the thread's digest context: a context kept
  // and started again costs a third less per hash than a new one, which
  // for the two-block inputs of a handshake is most of the difference.
  bool digest(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, const uint8_t *c, size_t c_len,
              uint8_t out[kHashSize]) {
    if (!digest_) digest_ = EVP_MD_CTX_new();
    unsigned int len = 0;
    return digest_ && EVP_DigestInit_ex2(digest_, sha256_md(), nullptr) == 1 &&
           (a_len == 0 || EVP_DigestUpdate(digest_, a, a_len) == 1) &&
           (b_len == 0 || EVP_DigestUpdate(digest_, b, b_len) == 1) &&
           (c_len == 0 || EVP_DigestUpdate(digest_, c, c_len) == 1) && EVP_DigestFinal_ex(digest_, out, &len) == 1 &&
           len == kHashSize;
  }

  // Starts the digest context again, which overwrites what the last hash
  // left in it.
  void wipe_digest() {
    if (digest_) EVP_DigestInit_ex2(digest_, sha256_md(), nullptr);
  }

#endif

  // An X25519 public key object, or null if the library failed.
  EVP_PKEY *public_key(const uint8_t pub[kDhSize]) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t *>(pub), kDhSize),
        OSSL_PARAM_construct_end()};
    return from_data(EVP_PKEY_PUBLIC_KEY, params);
  }

  // A key object holding the private key `priv` beside the public half
  // `pub`, taken as given (nothing checks that they belong together).
  EVP_PKEY *key_pair(const uint8_t priv[kDhSize], const uint8_t pub[kDhSize]) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, const_cast<uint8_t *>(priv), kDhSize),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t *>(pub), kDhSize),
        OSSL_PARAM_construct_end()};
    return from_data(EVP_PKEY_KEYPAIR, params);
  }

  // The thread's peer key object, holding `pub` now: made once and given
  // each new peer's key in place. A derivation context it was handed to
  // keeps referring to it, which is harmless: every derivation sets its peer
  // first.
  EVP_PKEY *peer(const uint8_t pub[kDhSize]) {
    if (!peer_) {
      peer_ = public_key(pub);
      return peer_;
    }
    if (EVP_PKEY_set_octet_string_param(peer_, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, const_cast<uint8_t *>(pub),
                                        kDhSize) != 1) {
      EVP_PKEY_free(peer_);
      peer_ = nullptr;
    }
    return peer_;
  }

  // The public key object of the base point (u = 9), made once.
  EVP_PKEY *base_point() {
    if (!base_point_) base_point_ = public_key(kBasePoint);
    return base_point_;
  }

  static constexpr uint8_t kBasePoint[kDhSize] = {9};

 private:
  EVP_PKEY *from_data(int selection, OSSL_PARAM *params) {
    if (!x25519_) {
      EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr);
      if (ctx && EVP_PKEY_fromdata_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ctx = nullptr;
      }
      x25519_ = ctx;
      if (!ctx) return nullptr;
    }
    EVP_PKEY *key = nullptr;
    if (EVP_PKEY_fromdata(x25519_, &key, selection, params) != 1) return nullptr;
    return key;
  }

#if !SC_SHA256_STATE
  EVP_MD_CTX *digest_ = nullptr;
#endif
  EVP_PKEY_CTX *x25519_ = nullptr;
  EVP_PKEY *base_point_ = nullptr;
  EVP_PKEY *peer_ = nullptr;
};

thread_local ThreadObjects t_objects;

// HMAC-SHA-256 (RFC 2104) under a key of kHashSize bytes, shorter than
// SHA-256's block, so used as it is, padded with zeros. A handshake makes
// several MACs under one key (HKDF's expansion), so the key is taken once.
//
// With SHA256_* the state is a plain structure: the hashes of the two
// padded key blocks are made once per key and copied for each MAC, and no
// call goes through EVP's dispatch. Measured on an AMD EPYC (Zen 5): an
// HKDF of two outputs 0.61 us against 1.10 through an EVP digest context,
// itself two thirds of what libcrypto's HMAC cost (it copies digest contexts
// for every computation, an allocation each). Without them (a libcrypto
// built without its deprecated functions, or a build that defines
// OPENSSL_NO_DEPRECATED), the MAC runs over the thread's EVP digest context.
constexpr size_t kHashBlockSize = 64;

void pad_key(const uint8_t key[kHashSize], uint8_t with, uint8_t pad[kHashBlockSize]) {
  for (size_t i = 0; i < kHashBlockSize; ++i) pad[i] = static_cast<uint8_t>((i < kHashSize ? key[i] : 0) ^ with);
}

#if SC_SHA256_STATE
// Hashes a || b into c (either may be empty).
bool update(SHA256_CTX &c, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  return (a_len == 0 || SHA256_Update(&c, a, a_len) == 1) && (b_len == 0 || SHA256_Update(&c, b, b_len) == 1);
}

class HmacSha256 {
 public:
  explicit HmacSha256(const uint8_t key[kHashSize]) {
    uint8_t pad[kHashBlockSize];
    pad_key(key, 0x36, pad);
    ok_ = SHA256_Init(&inner_) == 1 && SHA256_Update(&inner_, pad, sizeof pad) == 1;
    pad_key(key, 0x5c, pad);
    ok_ = ok_ && SHA256_Init(&outer_) == 1 && SHA256_Update(&outer_, pad, sizeof pad) == 1;
    cleanse(pad, sizeof pad);
  }
  ~HmacSha256() {
    cleanse(&inner_, sizeof inner_);
    cleanse(&outer_, sizeof outer_);
  }
  HmacSha256(const HmacSha256 &) = delete;
  HmacSha256 &operator=(const HmacSha256 &) = delete;

  // The MAC of a || b.
  bool mac(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[kHashSize]) const {
    SHA256_CTX c = inner_;
    uint8_t inner[kHashSize];
    bool ok = ok_ && update(c, a, a_len, b, b_len) && SHA256_Final(inner, &c) == 1;
    c = outer_;
    ok = ok && SHA256_Update(&c, inner, sizeof inner) == 1 && SHA256_Final(out, &c) == 1;
    cleanse(&c, sizeof c);
    cleanse(inner, sizeof inner);
    return ok;
  }

 private:
  SHA256_CTX inner_, outer_;  // after the key's padded block, 0x36 and 0x5c
  bool ok_ = false;
};

bool sha256_of(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[kHashSize]) {
  SHA256_CTX c;
  const bool ok = SHA256_Init(&c) == 1 && update(c, a, a_len, b, b_len) && SHA256_Final(out, &c) == 1;
  cleanse(&c, sizeof c);
  return ok;
}

void wipe_hash_state() {}  // each state above is wiped where it was used
#else
class HmacSha256 {
 public:
  explicit HmacSha256(const uint8_t key[kHashSize]) { std::memcpy(key_, key, kHashSize); }
  ~HmacSha256() { cleanse(key_, sizeof key_); }
  HmacSha256(const HmacSha256 &) = delete;
  HmacSha256 &operator=(const HmacSha256 &) = delete;

  bool mac(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[kHashSize]) const {
    uint8_t pad[kHashBlockSize], inner[kHashSize];
    pad_key(key_, 0x36, pad);
    bool ok = t_objects.digest(pad, sizeof pad, a, a_len, b, b_len, inner);
    pad_key(key_, 0x5c, pad);
    ok = ok && t_objects.digest(pad, sizeof pad, inner, sizeof inner, nullptr, 0, out);
    cleanse(pad, sizeof pad);
    cleanse(inner, sizeof inner);
    return ok;
  }

 private:
  uint8_t key_[kHashSize];
};

bool sha256_of(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[kHashSize]) {
  return t_objects.digest(a, a_len, b, b_len, nullptr, 0, out);
}

void wipe_hash_state() { t_objects.wipe_digest(); }
#endif

}  // namespace

bool DhKey::set(const uint8_t priv[kDhSize]) {
  clear();
  // Imported alone, a private key gets its public key from the library's
  // fixed-base multiplication, which in OpenSSL 3.0 is slower than a shared
  // secret (its generic field code against the optimised one). The public
  // key is X25519(priv, 9): it is computed here as a shared secret with the
  // base point instead, the object made with the base point as a stand-in
  // public half. Only the private half of the object is ever used (a
  // derivation reads the peer's public key, not ours); pub_ is the real one.
  EVP_PKEY *key = t_objects.key_pair(priv, ThreadObjects::kBasePoint);
  if (!key) return false;
  key_ = key;
  if (!agree(t_objects.base_point(), pub_)) {
    clear();
    return false;
  }
  return true;
}

bool DhKey::agree(void *peer, uint8_t out[kDhSize]) const {
  EVP_PKEY_CTX *ctx = static_cast<EVP_PKEY_CTX *>(derive_);
  if (!ctx && key_) {
    ctx = EVP_PKEY_CTX_new(static_cast<EVP_PKEY *>(key_), nullptr);
    if (ctx && EVP_PKEY_derive_init(ctx) != 1) {
      EVP_PKEY_CTX_free(ctx);
      ctx = nullptr;
    }
    derive_ = ctx;
  }
  size_t len = kDhSize;
  // Every 32 bytes are an X25519 public key: the library's check of the
  // peer's key has nothing to refuse; the all-zero test of derive() is the
  // one that matters.
  return ctx && peer && EVP_PKEY_derive_set_peer_ex(ctx, static_cast<EVP_PKEY *>(peer), 0) == 1 &&
         EVP_PKEY_derive(ctx, out, &len) == 1 && len == kDhSize;
}

DhKey &DhKey::operator=(DhKey &&other) noexcept {
  if (this != &other) {
    clear();
    key_ = other.key_;
    derive_ = other.derive_;
    std::memcpy(pub_, other.pub_, sizeof pub_);
    other.key_ = nullptr;
    other.derive_ = nullptr;
    other.clear();
  }
  return *this;
}

void DhKey::clear() {
  EVP_PKEY_CTX_free(static_cast<EVP_PKEY_CTX *>(derive_));
  derive_ = nullptr;
  EVP_PKEY_free(static_cast<EVP_PKEY *>(key_));  // libcrypto wipes the private key it held
  key_ = nullptr;
  std::memset(pub_, 0, sizeof pub_);
}

bool DhKey::derive(const uint8_t peer[kDhSize], uint8_t out[kDhSize]) const {
  bool ok = key_ && agree(t_objects.peer(peer), out);
  if (ok) {
    // A small-order peer key gives all zeros (OpenSSL also refuses it).
    uint8_t any = 0;
    for (size_t i = 0; i < kDhSize; ++i) any |= out[i];
    ok = any != 0;
  }
  if (!ok) cleanse(out, kDhSize);
  return ok;
}

bool x25519_public(const uint8_t priv[kDhSize], uint8_t pub[kDhSize]) {
  DhKey key;
  if (!key.set(priv)) return false;
  std::memcpy(pub, key.public_key(), kDhSize);
  return true;
}

bool x25519(const uint8_t priv[kDhSize], const uint8_t peer[kDhSize], uint8_t out[kDhSize]) {
  DhKey key;
  if (!key.set(priv)) {
    cleanse(out, kDhSize);
    return false;
  }
  return key.derive(peer, out);
}

void sha256(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[kHashSize]) {
  // Hashing fails only when the library cannot allocate: callers cannot go on.
  if (!sha256_of(a, a_len, b, b_len, out)) std::memset(out, 0, kHashSize);
}

bool hkdf_sha256(const uint8_t salt[kHashSize], const uint8_t *ikm, size_t n, uint8_t out1[kHashSize],
                 uint8_t out2[kHashSize], uint8_t *out3) {
  // Extract, then expand into T(1) = HMAC(prk, 1), T(2) = HMAC(prk, T(1) || 2)
  // and so on.
  uint8_t prk[kHashSize];
  const uint8_t one = 1, two = 2, three = 3;
  bool ok = HmacSha256(salt).mac(ikm, n, nullptr, 0, prk);
  if (ok) {
    const HmacSha256 expand(prk);
    ok = expand.mac(&one, 1, nullptr, 0, out1) && expand.mac(out1, kHashSize, &two, 1, out2) &&
         (!out3 || expand.mac(out2, kHashSize, &three, 1, out3));
  }
  cleanse(prk, sizeof prk);
  wipe_hash_state();
  if (!ok) {
    cleanse(out1, kHashSize);
    cleanse(out2, kHashSize);
    if (out3) cleanse(out3, kHashSize);
  }
  return ok;
}

bool random_bytes(uint8_t *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

void cleanse(void *p, size_t n) { OPENSSL_cleanse(p, n); }

bool equal(const uint8_t *a, const uint8_t *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

// ---------------------------------------------------------------- Aead

namespace {

// A thread's AEAD contexts: a few, each keyed by one Aead (its owner), used
// in turn so that the keys a thread alternates between stay keyed. Keying
// costs about as much as sealing a short record, and one exchange already
// alternates between four keys when both ends share a thread (each side's
// sealing and opening key), or two in a server (a session's two
// directions). When all are taken, the one used longest ago is rekeyed.
class ThreadContext {
 public:
  ~ThreadContext() {
    for (Slot &s : slots_) EVP_CIPHER_CTX_free(s.ctx);  // wipes the keys they hold
  }

  // A context keyed with `key` (its holder `owner`) and `iv`, or null.
  EVP_CIPHER_CTX *start(const void *owner, const uint8_t *key, const uint8_t *iv, bool sealing) {
    ++clock_;
    Slot *slot = nullptr;
    for (Slot &s : slots_) {
      if (s.owner == owner && s.ctx) {
        slot = &s;
        break;
      }
    }
    const uint8_t *k = nullptr;  // the key only when it changes
    const EVP_CIPHER *cipher = nullptr;
    if (!slot) {
      slot = &slots_[0];
      for (Slot &s : slots_)
        if (s.used < slot->used) slot = &s;
      if (!slot->ctx) {
        cipher = aead_cipher();
        if (!cipher || !(slot->ctx = EVP_CIPHER_CTX_new())) return nullptr;
      }
      k = key;
    }
    slot->owner = nullptr;
    if (EVP_CipherInit_ex2(slot->ctx, cipher, k, iv, sealing ? 1 : 0, nullptr) != 1) return nullptr;
    slot->owner = owner;
    slot->used = clock_;
    return slot->ctx;
  }

  // `owner`'s key is going away: none of it stays in a context.
  void forget(const void *owner) {
    for (Slot &s : slots_) {
      if (s.owner != owner || !s.ctx) continue;
      const uint8_t zero[kKeySize] = {};
      EVP_CipherInit_ex2(s.ctx, nullptr, zero, nullptr, 1, nullptr);
      s.owner = nullptr;
      s.used = 0;
    }
  }

 private:
  struct Slot {
    EVP_CIPHER_CTX *ctx = nullptr;
    const void *owner = nullptr;  // whose key it holds, if any
    uint64_t used = 0;            // clock_ when last used
  };
  static constexpr size_t kSlots = 4;
  Slot slots_[kSlots];
  uint64_t clock_ = 0;
};

thread_local ThreadContext t_context;

}  // namespace

Aead::~Aead() { clear(); }

void Aead::clear() {
  if (has_key_) t_context.forget(this);
  cleanse(key_, sizeof key_);
  has_key_ = false;
}

bool Aead::set_key(const uint8_t key[kKeySize]) {
  clear();
  if (!aead_cipher()) return false;
  std::memcpy(key_, key, kKeySize);
  has_key_ = true;
  return true;
}

bool Aead::crypt(bool sealing, uint64_t nonce, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n,
                 uint8_t *out) {
  if (!has_key_ || n > INT_MAX || ad_len > INT_MAX) return false;
  uint8_t iv[kNonceSize] = {};
  for (int i = 0; i < 8; ++i) iv[4 + i] = static_cast<uint8_t>(nonce >> (8 * i));
  EVP_CIPHER_CTX *ctx = t_context.start(this, key_, iv, sealing);
  if (!ctx) return false;
  uint8_t tag[kTagSize];
  if (!sealing) {
    std::memcpy(tag, in + n, kTagSize);  // before the plaintext may overwrite anything
    OSSL_PARAM set[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
                        OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(ctx, set) != 1) return false;
  }
  int len = 0;
  if (ad_len && EVP_CipherUpdate(ctx, nullptr, &len, ad, static_cast<int>(ad_len)) != 1) return false;
  // The associated data is padded to whole Poly1305 blocks before the text
  // starts, so the text's first byte begins a block.
  const size_t cut = poly_friendly_cut(n);
  if (cut && EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(cut)) != 1) return false;
  if (n > cut && EVP_CipherUpdate(ctx, out + cut, &len, in + cut, static_cast<int>(n - cut)) != 1) return false;
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) return false;  // opening: the tag did not verify
  if (!sealing) return true;
  OSSL_PARAM get[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out + n, kTagSize),
                      OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_get_params(ctx, get) == 1;
}

bool Aead::seal(uint64_t nonce, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out) {
  return crypt(true, nonce, ad, ad_len, in, n, out);
}

bool Aead::open(uint64_t nonce, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out) {
  if (n < kTagSize) return false;
  if (!crypt(false, nonce, ad, ad_len, in, n - kTagSize, out)) {
    cleanse(out, n - kTagSize);
    return false;
  }
  return true;
}

}  // namespace crypto
}  // namespace sc
