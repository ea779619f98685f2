#include "noise/noise.h"

#include <cstring>

namespace sc {
namespace noise {
namespace {

constexpr uint64_t kMaxNonce = UINT64_MAX;  // reserved by the specification

}  // namespace

const char *protocol_name(Pattern p) {
  return p == Pattern::kNK ? "Noise_NK_25519_ChaChaPoly_SHA256" : "Noise_NNpsk0_25519_ChaChaPoly_SHA256";
}

// ---------------------------------------------------------------- CipherState

bool CipherState::initialize_key(const uint8_t key[kKeySize]) {
  n_ = 0;
  return aead_.set_key(key);
}

void CipherState::reset() {
  aead_.clear();
  n_ = 0;
}

bool CipherState::encrypt_with_ad(const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out) {
  if (!has_key()) {
    if (n) std::memmove(out, in, n);
    return true;
  }
  if (n_ == kMaxNonce || !aead_.seal(n_, ad, ad_len, in, n, out)) return false;
  ++n_;
  return true;
}

bool CipherState::decrypt_with_ad(const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t n, uint8_t *out) {
  if (!has_key()) {
    if (n) std::memmove(out, in, n);
    return true;
  }
  if (n_ == kMaxNonce || !aead_.open(n_, ad, ad_len, in, n, out)) return false;
  ++n_;
  return true;
}

// ---------------------------------------------------------------- SymmetricState

SymmetricState::~SymmetricState() {
  crypto::cleanse(ck_, sizeof ck_);
  crypto::cleanse(h_, sizeof h_);
}

void SymmetricState::initialize(Pattern p) {
  const char *name = protocol_name(p);
  const size_t len = std::strlen(name);
  std::memset(h_, 0, sizeof h_);
  if (len <= kHashSize)
    std::memcpy(h_, name, len);
  else
    crypto::sha256(reinterpret_cast<const uint8_t *>(name), len, nullptr, 0, h_);
  std::memcpy(ck_, h_, kHashSize);
  cipher_.reset();
}

void SymmetricState::mix_hash(const uint8_t *data, size_t n) {
  uint8_t h[kHashSize];
  crypto::sha256(h_, kHashSize, data, n, h);
  std::memcpy(h_, h, kHashSize);
}

bool SymmetricState::mix_key(const uint8_t *ikm, size_t n) {
  uint8_t ck[kHashSize], k[kHashSize];
  bool ok = crypto::hkdf_sha256(ck_, ikm, n, ck, k, nullptr);
  std::memcpy(ck_, ck, kHashSize);
  ok = ok && cipher_.initialize_key(k);
  crypto::cleanse(ck, sizeof ck);
  crypto::cleanse(k, sizeof k);
  return ok;
}

bool SymmetricState::mix_key_and_hash(const uint8_t *ikm, size_t n) {
  uint8_t ck[kHashSize], h[kHashSize], k[kHashSize];
  bool ok = crypto::hkdf_sha256(ck_, ikm, n, ck, h, k);
  std::memcpy(ck_, ck, kHashSize);
  mix_hash(h, kHashSize);
  ok = ok && cipher_.initialize_key(k);
  crypto::cleanse(ck, sizeof ck);
  crypto::cleanse(h, sizeof h);
  crypto::cleanse(k, sizeof k);
  return ok;
}

bool SymmetricState::encrypt_and_hash(const uint8_t *in, size_t n, uint8_t *out) {
  if (!cipher_.encrypt_with_ad(h_, kHashSize, in, n, out)) return false;
  mix_hash(out, n + (cipher_.has_key() ? kTagSize : 0));
  return true;
}

bool SymmetricState::decrypt_and_hash(const uint8_t *in, size_t n, uint8_t *out) {
  // The hash covers the ciphertext, which decrypting in place overwrites.
  uint8_t h[kHashSize];
  crypto::sha256(h_, kHashSize, in, n, h);
  if (!cipher_.decrypt_with_ad(h_, kHashSize, in, n, out)) return false;
  std::memcpy(h_, h, kHashSize);
  return true;
}

bool SymmetricState::split(CipherState &first, CipherState &second) {
  uint8_t k1[kHashSize], k2[kHashSize];
  const bool ok =
      crypto::hkdf_sha256(ck_, nullptr, 0, k1, k2, nullptr) && first.initialize_key(k1) && second.initialize_key(k2);
  crypto::cleanse(k1, sizeof k1);
  crypto::cleanse(k2, sizeof k2);
  return ok;
}

// ---------------------------------------------------------------- HandshakeState

HandshakeState::~HandshakeState() {
  crypto::cleanse(psk_, sizeof psk_);  // s_ and e_ wipe themselves
}

bool HandshakeState::initialize(Pattern p, bool initiator, const uint8_t *prologue, size_t prologue_len,
                                const uint8_t *s, const uint8_t *rs, const uint8_t *psk) {
  pattern_ = p;
  initiator_ = initiator;
  turn_ = 0;
  ss_.initialize(p);
  ss_.mix_hash(prologue, prologue_len);
  if (p == Pattern::kNK) {
    // The pre-message: the responder's static public key.
    if (initiator) {
      if (!rs) return false;
      std::memcpy(rs_, rs, kDhSize);
    } else {
      if (!s) return false;
      if (!s_.set(s)) return false;
      std::memcpy(rs_, s_.public_key(), kDhSize);  // rs_ holds our own public key here
    }
    ss_.mix_hash(rs_, kDhSize);
  } else {
    if (!psk) return false;
    std::memcpy(psk_, psk, kPskSize);
  }
  return true;
}

bool HandshakeState::initialize_responder(const uint8_t *prologue, size_t prologue_len, const crypto::DhKey &s) {
  if (!s.is_set()) return false;
  pattern_ = Pattern::kNK;
  initiator_ = false;
  turn_ = 0;
  s_key_ = &s;
  ss_.initialize(Pattern::kNK);
  ss_.mix_hash(prologue, prologue_len);
  std::memcpy(rs_, s.public_key(), kDhSize);  // rs_ holds our own public key here
  ss_.mix_hash(rs_, kDhSize);
  return true;
}

bool HandshakeState::write_message(const uint8_t e[kDhSize], const uint8_t *payload, size_t payload_len, uint8_t *out) {
  if (turn_ > 1 || (turn_ == 0) != initiator_) return false;
  if (pattern_ == Pattern::kNNpsk0 && turn_ == 0 && !ss_.mix_key_and_hash(psk_, kPskSize)) return false;
  // e
  if (!e_.set(e)) return false;
  std::memcpy(out, e_.public_key(), kDhSize);
  ss_.mix_hash(out, kDhSize);
  if (pattern_ == Pattern::kNNpsk0 && !ss_.mix_key(out, kDhSize)) return false;
  if (!dh_tokens()) return false;
  if (!ss_.encrypt_and_hash(payload, payload_len, out + kDhSize)) return false;
  ++turn_;
  return true;
}

bool HandshakeState::read_message(const uint8_t *in, size_t n, uint8_t *payload) {
  if (turn_ > 1 || (turn_ == 0) == initiator_ || n < kDhSize + kTagSize) return false;
  if (pattern_ == Pattern::kNNpsk0 && turn_ == 0 && !ss_.mix_key_and_hash(psk_, kPskSize)) return false;
  // e
  std::memcpy(re_, in, kDhSize);
  ss_.mix_hash(re_, kDhSize);
  if (pattern_ == Pattern::kNNpsk0 && !ss_.mix_key(re_, kDhSize)) return false;
  if (!dh_tokens()) return false;
  if (!ss_.decrypt_and_hash(in + kDhSize, n - kDhSize, payload)) return false;
  ++turn_;
  return true;
}

// The DH tokens of the current message: es in NK's first, ee in every second.
bool HandshakeState::dh_tokens() {
  uint8_t dh[kDhSize];
  bool ok = true;
  if (turn_ == 0 && pattern_ == Pattern::kNK) {
    ok = initiator_ ? e_.derive(rs_, dh) : s_key_->derive(re_, dh);
    ok = ok && ss_.mix_key(dh, kDhSize);
  } else if (turn_ == 1) {
    ok = e_.derive(re_, dh) && ss_.mix_key(dh, kDhSize);
  }
  crypto::cleanse(dh, sizeof dh);
  return ok;
}

}  // namespace noise
}  // namespace sc
