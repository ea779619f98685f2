// The Noise layer and the primitives under it: both patterns against the
// cacophony test vectors (tests/data/noise_cacophony.json), every handshake
// message, the handshake hash and the transport messages byte for byte; and
// the failures the protocol depends on.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/primitives.h"
#include "json.h"
#include "noise/noise.h"

namespace {

using Bytes = std::vector<uint8_t>;
using sc::noise::CipherState;
using sc::noise::HandshakeState;
using sc::noise::Pattern;
using testjson::hex_bytes;

const testjson::Value &vectors() {
  static const testjson::Value v =
      testjson::load_file(std::string(SC_TEST_DATA_DIR) + "/noise_cacophony.json")["vectors"];
  return v;
}

std::string hex(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
std::string hex(const Bytes &b) { return hex(b.data(), b.size()); }

Pattern pattern_of(const std::string &name) {
  if (name == sc::noise::protocol_name(Pattern::kNK)) return Pattern::kNK;
  if (name == sc::noise::protocol_name(Pattern::kNNpsk0)) return Pattern::kNNpsk0;
  ADD_FAILURE() << "unexpected protocol " << name;
  return Pattern::kNK;
}

// Sets both sides of a vector up.
void start(const testjson::Value &v, HandshakeState &init, HandshakeState &resp) {
  const Pattern p = pattern_of(v["protocol_name"].str());
  const Bytes ip = hex_bytes(v["init_prologue"].str()), rp = hex_bytes(v["resp_prologue"].str());
  Bytes rs, s, ipsk, rpsk;
  if (v.has("init_remote_static")) rs = hex_bytes(v["init_remote_static"].str());
  if (v.has("resp_static")) s = hex_bytes(v["resp_static"].str());
  if (v.has("init_psks")) ipsk = hex_bytes(v["init_psks"][0].str());
  if (v.has("resp_psks")) rpsk = hex_bytes(v["resp_psks"][0].str());
  ASSERT_TRUE(init.initialize(p, true, ip.data(), ip.size(), nullptr, rs.empty() ? nullptr : rs.data(),
                              ipsk.empty() ? nullptr : ipsk.data()));
  ASSERT_TRUE(resp.initialize(p, false, rp.data(), rp.size(), s.empty() ? nullptr : s.data(), nullptr,
                              rpsk.empty() ? nullptr : rpsk.data()));
}

TEST(Noise, BothPatternsReproduceTheCacophonyVectors) {
  ASSERT_EQ(vectors().size(), 2u);
  for (size_t k = 0; k < vectors().size(); ++k) {
    const auto &v = vectors()[k];
    SCOPED_TRACE(v["protocol_name"].str());
    HandshakeState init, resp;
    start(v, init, resp);
    const Bytes ie = hex_bytes(v["init_ephemeral"].str()), re = hex_bytes(v["resp_ephemeral"].str());
    const auto &msgs = v["messages"];
    ASSERT_GE(msgs.size(), 4u);
    CipherState i_c1, i_c2, r_c1, r_c2;
    for (size_t m = 0; m < msgs.size(); ++m) {
      SCOPED_TRACE("message " + std::to_string(m));
      const Bytes payload = hex_bytes(msgs[m]["payload"].str());
      const Bytes expected = hex_bytes(msgs[m]["ciphertext"].str());
      Bytes got, read_back(expected.size());
      if (m < 2) {
        HandshakeState &writer = m == 0 ? init : resp;
        HandshakeState &reader = m == 0 ? resp : init;
        got.resize(HandshakeState::message_size(payload.size()));
        ASSERT_TRUE(writer.write_message(m == 0 ? ie.data() : re.data(), payload.data(), payload.size(), got.data()));
        EXPECT_EQ(hex(got), hex(expected));
        ASSERT_TRUE(reader.read_message(expected.data(), expected.size(), read_back.data()));
        read_back.resize(payload.size());
        EXPECT_EQ(hex(read_back), hex(payload));
        if (m == 1) {
          ASSERT_TRUE(init.finished() && resp.finished());
          EXPECT_EQ(hex(init.handshake_hash(), 32), v["handshake_hash"].str());
          EXPECT_EQ(hex(resp.handshake_hash(), 32), v["handshake_hash"].str());
          ASSERT_TRUE(init.split(i_c1, i_c2));
          ASSERT_TRUE(resp.split(r_c1, r_c2));
        }
        continue;
      }
      // Transport messages alternate, the initiator first, with an empty AD.
      CipherState &enc = m % 2 == 0 ? i_c1 : r_c2;
      CipherState &dec = m % 2 == 0 ? r_c1 : i_c2;
      got.resize(payload.size() + sc::noise::kTagSize);
      ASSERT_TRUE(enc.encrypt_with_ad(nullptr, 0, payload.data(), payload.size(), got.data()));
      EXPECT_EQ(hex(got), hex(expected));
      ASSERT_TRUE(dec.decrypt_with_ad(nullptr, 0, expected.data(), expected.size(), read_back.data()));
      read_back.resize(payload.size());
      EXPECT_EQ(hex(read_back), hex(payload));
    }
  }
}

// A first message changed anywhere does not verify at the responder.
TEST(Noise, AnyChangedByteOfTheFirstMessageFails) {
  for (size_t k = 0; k < vectors().size(); ++k) {
    const auto &v = vectors()[k];
    const Bytes msg = hex_bytes(v["messages"][0]["ciphertext"].str());
    for (size_t i = 0; i < msg.size(); ++i) {
      HandshakeState init, resp;
      start(v, init, resp);
      Bytes bad = msg, out(msg.size());
      bad[i] ^= 0x01;
      EXPECT_FALSE(resp.read_message(bad.data(), bad.size(), out.data())) << v["protocol_name"].str() << " byte " << i;
    }
  }
}

TEST(Noise, WrongPresharedKeyFails) {
  const auto &v = vectors()[1];
  ASSERT_EQ(pattern_of(v["protocol_name"].str()), Pattern::kNNpsk0);
  const Bytes prologue = hex_bytes(v["init_prologue"].str());
  Bytes psk = hex_bytes(v["resp_psks"][0].str());
  psk[31] ^= 0x80;
  HandshakeState resp;
  ASSERT_TRUE(resp.initialize(Pattern::kNNpsk0, false, prologue.data(), prologue.size(), nullptr, nullptr, psk.data()));
  const Bytes msg = hex_bytes(v["messages"][0]["ciphertext"].str());
  Bytes out(msg.size());
  EXPECT_FALSE(resp.read_message(msg.data(), msg.size(), out.data()));
}

TEST(Noise, WrongServerKeyFailsAtTheResponder) {
  const auto &v = vectors()[0];
  ASSERT_EQ(pattern_of(v["protocol_name"].str()), Pattern::kNK);
  const Bytes prologue = hex_bytes(v["init_prologue"].str());
  Bytes other_priv(32, 0x42), other_pub(32);
  ASSERT_TRUE(sc::crypto::x25519_public(other_priv.data(), other_pub.data()));
  HandshakeState init, resp;
  ASSERT_TRUE(
      init.initialize(Pattern::kNK, true, prologue.data(), prologue.size(), nullptr, other_pub.data(), nullptr));
  const Bytes s = hex_bytes(v["resp_static"].str());
  ASSERT_TRUE(resp.initialize(Pattern::kNK, false, prologue.data(), prologue.size(), s.data(), nullptr, nullptr));
  const Bytes e = hex_bytes(v["init_ephemeral"].str());
  Bytes msg(HandshakeState::message_size(0)), out(msg.size());
  ASSERT_TRUE(init.write_message(e.data(), nullptr, 0, msg.data()));
  EXPECT_FALSE(resp.read_message(msg.data(), msg.size(), out.data()));
}

TEST(Noise, MessagesOutOfTurnAreRefused) {
  const auto &v = vectors()[0];
  HandshakeState init, resp;
  start(v, init, resp);
  const Bytes e(32, 7);
  Bytes msg(HandshakeState::message_size(0)), out(msg.size());
  EXPECT_FALSE(resp.write_message(e.data(), nullptr, 0, msg.data()));  // the initiator speaks first
  EXPECT_FALSE(init.read_message(msg.data(), msg.size(), out.data()));
  EXPECT_FALSE(init.finished());
}

TEST(Noise, ASmallOrderEphemeralKeyFails) {
  // The all-zero point has small order: X25519 with it gives 32 zero bytes.
  const auto &v = vectors()[0];
  HandshakeState init, resp;
  start(v, init, resp);
  Bytes msg(HandshakeState::message_size(0), 0), out(msg.size());
  EXPECT_FALSE(resp.read_message(msg.data(), msg.size(), out.data()));
  uint8_t zero[32] = {}, priv[32], shared[32];
  for (int i = 0; i < 32; ++i) priv[i] = static_cast<uint8_t>(i + 1);
  EXPECT_FALSE(sc::crypto::x25519(priv, zero, shared));
}

TEST(Aead, SealsAndOpensInPlaceAndRefusesAnyChange) {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(3 * i);
  sc::crypto::Aead a, b;
  ASSERT_TRUE(a.set_key(key));
  ASSERT_TRUE(b.set_key(key));
  const uint8_t ad[2] = {0x20, 0x00};
  Bytes text(100);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>(i);
  Bytes buf = text;
  buf.resize(text.size() + sc::crypto::kTagSize);
  ASSERT_TRUE(a.seal(5, ad, 2, buf.data(), text.size(), buf.data()));
  EXPECT_NE(Bytes(buf.begin(), buf.begin() + 100), text);
  for (size_t i = 0; i < buf.size(); ++i) {  // every byte, tag included
    Bytes bad = buf, out(buf.size());
    bad[i] ^= 0x10;
    EXPECT_FALSE(b.open(5, ad, 2, bad.data(), bad.size(), out.data())) << "byte " << i;
  }
  Bytes out(buf.size());
  EXPECT_FALSE(b.open(6, ad, 2, buf.data(), buf.size(), out.data())) << "another nonce";
  const uint8_t other_ad[2] = {0x21, 0x00};
  EXPECT_FALSE(b.open(5, other_ad, 2, buf.data(), buf.size(), out.data())) << "another AD";
  EXPECT_FALSE(b.open(5, ad, 2, buf.data(), sc::crypto::kTagSize - 1, out.data())) << "shorter than a tag";
  ASSERT_TRUE(b.open(5, ad, 2, buf.data(), buf.size(), buf.data()));  // in place
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + 100), text);
}

TEST(Aead, AnEmptyPlaintextStillCarriesATag) {
  uint8_t key[32] = {1};
  sc::crypto::Aead a;
  ASSERT_TRUE(a.set_key(key));
  uint8_t tag[sc::crypto::kTagSize], out[1];
  ASSERT_TRUE(a.seal(0, nullptr, 0, nullptr, 0, tag));
  EXPECT_TRUE(a.open(0, nullptr, 0, tag, sizeof tag, out));
  tag[0] ^= 1;
  EXPECT_FALSE(a.open(0, nullptr, 0, tag, sizeof tag, out));
}

// libcrypto's own one-call seal, the reference for the wrapper: the nonce as
// Noise lays it out (four zero bytes, then the counter little-endian).
Bytes libcrypto_seal(const uint8_t key[32], uint64_t nonce, const Bytes &ad, const Bytes &text) {
  uint8_t iv[12] = {};
  for (int i = 0; i < 8; ++i) iv[4 + i] = static_cast<uint8_t>(nonce >> (8 * i));
  Bytes out(text.size() + sc::crypto::kTagSize);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, iv) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1 &&
            EVP_EncryptUpdate(ctx, out.data(), &len, text.data(), static_cast<int>(text.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, out.data() + text.size(), &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(sc::crypto::kTagSize),
                                out.data() + text.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) out.clear();
  return out;
}

TEST(Aead, TextsOfEveryShapeSealAsLibcryptoAloneDoes) {
  // The wrapper hands some long texts to libcrypto in two pieces: lengths
  // below, at and above where it starts to, with every count of 16-byte
  // blocks left over from the groups of eight, and a tail of loose bytes.
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(101 + 5 * i);
  sc::crypto::Aead sealer, opener;
  ASSERT_TRUE(sealer.set_key(key));
  ASSERT_TRUE(opener.set_key(key));
  const Bytes ad = {0x13, 0x10};
  std::vector<size_t> lengths = {1, 127, 128, 2047, 2048, 16387, 65519, 65535};
  for (size_t left = 0; left < 8; ++left) {
    lengths.push_back(2048 + 16 * left + 5);
    lengths.push_back(32768 + 16 * left);
  }
  uint64_t nonce = 1000;
  for (size_t n : lengths) {
    Bytes text(n);
    for (size_t i = 0; i < n; ++i) text[i] = static_cast<uint8_t>(i * 131 + (i >> 8));
    const Bytes want = libcrypto_seal(key, nonce, ad, text);
    ASSERT_EQ(want.size(), n + sc::crypto::kTagSize);
    Bytes got(n + sc::crypto::kTagSize);
    ASSERT_TRUE(sealer.seal(nonce, ad.data(), ad.size(), text.data(), n, got.data())) << n;
    EXPECT_EQ(got, want) << n << " bytes";
    Bytes back(n);
    ASSERT_TRUE(opener.open(nonce, ad.data(), ad.size(), want.data(), want.size(), back.data())) << n;
    EXPECT_EQ(back, text) << n << " bytes";
    // A change in the last byte of the text, wherever the wrapper cut it,
    // and in the first, does not verify.
    for (size_t at : {size_t{0}, n - 1}) {
      Bytes bad = want;
      bad[at] ^= 0x80;
      EXPECT_FALSE(opener.open(nonce, ad.data(), ad.size(), bad.data(), bad.size(), back.data())) << n << " at " << at;
    }
    ++nonce;
  }
}

// What one Aead under `key` seals, alone in a thread of its own (so that no
// other key shares that thread's contexts).
Bytes sealed_alone(const uint8_t key[32], uint64_t nonce, const Bytes &text) {
  Bytes out(text.size() + sc::crypto::kTagSize);
  std::thread([&] {
    sc::crypto::Aead a;
    if (!a.set_key(key) || !a.seal(nonce, nullptr, 0, text.data(), text.size(), out.data())) out.clear();
  }).join();
  return out;
}

TEST(Aead, ManyKeysInOneThreadEachKeepTheirOwn) {
  // More keys than a thread keeps keyed contexts, used in an order that
  // evicts and rekeys, and one Aead replaced by another at the same address:
  // every record must be what its own key alone makes.
  constexpr int kKeys = 9;
  uint8_t keys[kKeys + 1][32];
  for (int k = 0; k <= kKeys; ++k)
    for (int i = 0; i < 32; ++i) keys[k][i] = static_cast<uint8_t>(k * 37 + i);
  std::optional<sc::crypto::Aead> sealers[kKeys], openers[kKeys];
  for (int k = 0; k < kKeys; ++k) {
    ASSERT_TRUE(sealers[k].emplace().set_key(keys[k]));
    ASSERT_TRUE(openers[k].emplace().set_key(keys[k]));
  }
  const int order[] = {0, 1, 0, 2, 3, 4, 1, 5, 0, 6, 7, 8, 8, 3, 0, 2, 4, 6, 1, 7, 5};
  uint64_t nonce = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int k : order) {
      const uint8_t *key = keys[k];
      if (pass == 1 && k == 3) key = keys[kKeys];  // the second pass: sealer 3 holds another key
      Bytes text(20 + k, static_cast<uint8_t>(k));
      Bytes rec(text.size() + sc::crypto::kTagSize);
      ASSERT_TRUE(sealers[k]->seal(nonce, nullptr, 0, text.data(), text.size(), rec.data()));
      EXPECT_EQ(rec, sealed_alone(key, nonce, text)) << "key " << k << " nonce " << nonce;
      Bytes got(text.size());
      if (key == keys[k]) {
        ASSERT_TRUE(openers[k]->open(nonce, nullptr, 0, rec.data(), rec.size(), got.data())) << k;
        EXPECT_EQ(got, text);
      } else {
        EXPECT_FALSE(openers[k]->open(nonce, nullptr, 0, rec.data(), rec.size(), got.data())) << k;
      }
      ++nonce;
    }
    sealers[3].reset();  // the same storage, a new Aead, another key
    ASSERT_TRUE(sealers[3].emplace().set_key(keys[kKeys]));
  }
}

TEST(Crypto, HkdfMatchesRfc5869) {
  // RFC 5869 test case 3 (SHA-256, no salt, no info): HMAC pads an empty
  // salt with zeros, so 32 zero bytes are the same salt. The third output
  // continues the expansion (T(3)), computed with Python's hmac module.
  const uint8_t salt[32] = {};
  const Bytes ikm(22, 0x0b);
  uint8_t o1[32], o2[32], o3[32];
  ASSERT_TRUE(sc::crypto::hkdf_sha256(salt, ikm.data(), ikm.size(), o1, o2, o3));
  EXPECT_EQ(hex(o1, 32) + hex(o2, 10),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_EQ(hex(o2, 32), "9d201395faa4b61a96c8b2fb61057244b36c6ddd287f634795e7d80d5fe26bfc");
  EXPECT_EQ(hex(o3, 32), "36def6dc129c29271a0eb7ab14bd2ca88259f8a3a92ac2ec0e3e4fa046a4b90b");
  uint8_t p1[32], p2[32];
  ASSERT_TRUE(sc::crypto::hkdf_sha256(salt, ikm.data(), ikm.size(), p1, p2, nullptr));
  EXPECT_EQ(hex(p1, 32) + hex(p2, 32), hex(o1, 32) + hex(o2, 32));
}

TEST(Crypto, HkdfWithLongAndEmptyInput) {
  // A salt of its own, input key material that spans two SHA-256 blocks
  // behind HMAC's padded key, and none at all (as Noise's Split uses it);
  // the expected outputs come from Python's hmac and hashlib.
  uint8_t salt[32];
  for (int i = 0; i < 32; ++i) salt[i] = static_cast<uint8_t>(0x40 + i);
  Bytes ikm(100);
  for (size_t i = 0; i < ikm.size(); ++i) ikm[i] = static_cast<uint8_t>(7 * i + 1);
  uint8_t o1[32], o2[32], o3[32];
  ASSERT_TRUE(sc::crypto::hkdf_sha256(salt, ikm.data(), ikm.size(), o1, o2, o3));
  EXPECT_EQ(hex(o1, 32), "81f125f197ab10adeb4a23620e82df043a73a1cff55b464ebd7eacb9f6e013a0");
  EXPECT_EQ(hex(o2, 32), "3a2377eb194bd38412d6dabd9464ed4d18972a18cddef29b027a578356ca5886");
  EXPECT_EQ(hex(o3, 32), "fe1188242839b36cacced9dc931a057ec93d8e957f4d426f11a8ceb02338fd6e");
  ASSERT_TRUE(sc::crypto::hkdf_sha256(salt, nullptr, 0, o1, o2, o3));
  EXPECT_EQ(hex(o1, 32), "750df07ce9f271ed73984e7f151064bd94751c68a4d24b713144ce57276252ff");
  EXPECT_EQ(hex(o2, 32), "9e01c34fb88cef24b469314c2bd760c8638a9dd026b386628b45aab9c1a5f8eb");
  EXPECT_EQ(hex(o3, 32), "405e7884c8e253aec6a08e32a973202bcecd3efd4264aea4a7972cdfe7e52c77");
  // A hash between two HKDFs shares the thread's digest context with them.
  uint8_t h[32];
  sc::crypto::sha256(salt, sizeof salt, ikm.data(), ikm.size(), h);
  EXPECT_EQ(hex(h, 32), "bfe7d46d36d54f79cb5a3b992eae757e5eb567847534a5b7cffa5b6b2dd38285");
  uint8_t again[32];
  ASSERT_TRUE(sc::crypto::hkdf_sha256(salt, nullptr, 0, again, o2, nullptr));
  EXPECT_EQ(hex(again, 32), hex(o1, 32));
}

TEST(Crypto, OneDhKeyDerivesWithManyPeers) {
  // RFC 7748 section 6.1: Alice's key with Bob's public key, then other
  // peers, then Bob again: the kept derivation context takes each new peer.
  const Bytes alice = hex_bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob = hex_bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  sc::crypto::DhKey a, b;
  ASSERT_TRUE(a.set(alice.data()));
  ASSERT_TRUE(b.set(bob.data()));
  EXPECT_EQ(hex(a.public_key(), 32), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex(b.public_key(), 32), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  uint8_t out[32];
  ASSERT_TRUE(a.derive(b.public_key(), out));
  EXPECT_EQ(hex(out, 32), shared);
  const uint8_t zero[32] = {};
  EXPECT_FALSE(a.derive(zero, out)) << "a small-order peer";
  for (int k = 0; k < 3; ++k) {
    uint8_t priv[32];
    for (int i = 0; i < 32; ++i) priv[i] = static_cast<uint8_t>(k * 11 + i);
    sc::crypto::DhKey c;
    ASSERT_TRUE(c.set(priv));
    uint8_t mine[32], theirs[32];
    ASSERT_TRUE(a.derive(c.public_key(), mine));
    ASSERT_TRUE(c.derive(a.public_key(), theirs));
    EXPECT_EQ(hex(mine, 32), hex(theirs, 32)) << k;
    EXPECT_NE(hex(mine, 32), shared);
  }
  // The same key in another thread (whose peer key object is its own),
  // then back in this one.
  std::string there;
  std::thread([&] {
    uint8_t o[32];
    if (a.derive(b.public_key(), o)) there = hex(o, 32);
  }).join();
  EXPECT_EQ(there, shared);
  ASSERT_TRUE(a.derive(b.public_key(), out));
  EXPECT_EQ(hex(out, 32), shared);
  sc::crypto::DhKey moved(std::move(a));
  EXPECT_FALSE(a.is_set());
  EXPECT_FALSE(a.derive(b.public_key(), out));
  ASSERT_TRUE(moved.derive(b.public_key(), out));
  EXPECT_EQ(hex(out, 32), shared);
  ASSERT_TRUE(b.derive(moved.public_key(), out));
  EXPECT_EQ(hex(out, 32), shared);
}

TEST(Crypto, ConstantTimeEqualAndRandomBytes) {
  const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
  EXPECT_TRUE(sc::crypto::equal(a, a, 4));
  EXPECT_FALSE(sc::crypto::equal(a, b, 4));
  uint8_t r1[32] = {}, r2[32] = {};
  ASSERT_TRUE(sc::crypto::random_bytes(r1, sizeof r1));
  ASSERT_TRUE(sc::crypto::random_bytes(r2, sizeof r2));
  EXPECT_FALSE(sc::crypto::equal(r1, r2, 32));
}

}  // namespace
