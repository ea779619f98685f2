// The primitives over OpenSSL's libcrypto (3.0 or later).
#include "crypto/primitives.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace sc {
namespace crypto {
namespace {

constexpr size_t kNonceSize = 12;

// Fetched once: passing EVP_chacha20_poly1305() to every init would look the
// implementation up again each time.
const EVP_CIPHER *aead_cipher() {
  static EVP_CIPHER *const cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return cipher;
}

const EVP_MD *sha256_md() {
  static EVP_MD *const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX *c) const { EVP_PKEY_CTX_free(c); }
};

}  // namespace

bool DhKey::set(const uint8_t priv[kDhSize]) {
  clear();
  EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, kDhSize);
  if (!key) return false;
  size_t len = kDhSize;
  if (EVP_PKEY_get_raw_public_key(key, pub_, &len) != 1 || len != kDhSize) {
    EVP_PKEY_free(key);
    return false;
  }
  key_ = key;
  return true;
}

DhKey &DhKey::operator=(DhKey &&other) noexcept {
  if (this != &other) {
    clear();
    key_ = other.key_;
    std::memcpy(pub_, other.pub_, sizeof pub_);
    other.key_ = nullptr;
    other.clear();
  }
  return *this;
}

void DhKey::clear() {
  EVP_PKEY_free(static_cast<EVP_PKEY *>(key_));  // libcrypto wipes the private key it held
  key_ = nullptr;
  std::memset(pub_, 0, sizeof pub_);
}

bool DhKey::derive(const uint8_t peer[kDhSize], uint8_t out[kDhSize]) const {
  EVP_PKEY *mine = static_cast<EVP_PKEY *>(key_);
  EVP_PKEY *theirs = mine ? EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer, kDhSize) : nullptr;
  EVP_PKEY_CTX *ctx = theirs ? EVP_PKEY_CTX_new(mine, nullptr) : nullptr;
  size_t len = kDhSize;
  bool ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, theirs) == 1 &&
            EVP_PKEY_derive(ctx, out, &len) == 1 && len == kDhSize;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(theirs);
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
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int len = 0;
  const bool ok = ctx && EVP_DigestInit_ex(ctx, sha256_md(), nullptr) == 1 &&
                  (a_len == 0 || EVP_DigestUpdate(ctx, a, a_len) == 1) &&
                  (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len) == 1) && EVP_DigestFinal_ex(ctx, out, &len) == 1;
  EVP_MD_CTX_free(ctx);
  // Hashing fails only when the library cannot allocate: callers cannot go on.
  if (!ok || len != kHashSize) std::memset(out, 0, kHashSize);
}

void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                 uint8_t out[kHashSize]) {
  // The data of every HMAC the protocol computes is short: a hash, a DH
  // output or a key, and a counter byte.
  uint8_t data[2 * kHashSize + 1];
  unsigned int len = 0;
  bool ok = a_len + b_len <= sizeof data && key_len <= INT_MAX;
  if (ok) {
    if (a_len) std::memcpy(data, a, a_len);
    if (b_len) std::memcpy(data + a_len, b, b_len);
    ok = HMAC(sha256_md(), key, static_cast<int>(key_len), data, a_len + b_len, out, &len) != nullptr &&
         len == kHashSize;
  }
  cleanse(data, sizeof data);
  if (!ok) std::memset(out, 0, kHashSize);
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
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize), tag) != 1) return false;
  }
  int len = 0;
  if (ad_len && EVP_CipherUpdate(ctx, nullptr, &len, ad, static_cast<int>(ad_len)) != 1) return false;
  if (n && EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(n)) != 1) return false;
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) return false;  // opening: the tag did not verify
  if (sealing && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), out + n) != 1)
    return false;
  return true;
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
