// The client state machine through the C API, against hand-made server bytes
// computed here from known keys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.h"

namespace {

using namespace harness;

struct Polled {
  int kind;
  std::string bytes;
};

// Every message the client has, in order.
std::vector<Polled> poll_all(connection *c) {
  std::vector<Polled> out;
  connection_message m;
  for (int kind; (kind = cc_poll(c, &m)) != MESSAGE_EMPTY;) {
    EXPECT_GE(m.sz, 0);
    out.push_back(Polled{kind, m.sz > 0 ? std::string(m.buffer, static_cast<size_t>(m.sz)) : std::string()});
  }
  return out;
}

std::string all_out(const std::vector<Polled> &msgs) {
  std::string s;
  for (const Polled &p : msgs)
    if (p.kind == MESSAGE_OUT) s += p.bytes;
  return s;
}

std::string all_in(const std::vector<Polled> &msgs) {
  std::string s;
  for (const Polled &p : msgs)
    if (p.kind == MESSAGE_IN) s += p.bytes;
  return s;
}

int count_kind(const std::vector<Polled> &msgs, int kind) {
  int n = 0;
  for (const Polled &p : msgs) n += p.kind == kind;
  return n;
}

std::string crypt(sc::StreamCipher &cipher, const std::string &in) {
  std::string out(in.size(), '\0');
  cipher.apply(reinterpret_cast<const uint8_t *>(in.data()), reinterpret_cast<uint8_t *>(&out[0]), in.size());
  return out;
}

void feed(connection *c, const std::string &bytes) { cc_recv(c, bytes.data(), bytes.size()); }

// A server played by hand: a fixed private key and challenge.
struct HandServer {
  uint64_t private_key = 0x1d2c3b4a59687766ull;
  uint64_t challenge = 0x0badc0ffee0ddf00ull;
  uint64_t secret = 0;
  sc::StreamCipher to_client;    // server->client encryption
  sc::StreamCipher from_client;  // client->server decryption

  // The reply to a new-connection request; sets up both ciphers.
  std::string reply_to(const std::string &request) {
    EXPECT_EQ(16u, request.size());
    EXPECT_EQ(le64(0), request.substr(0, 8));
    secret = sc::dh64::shared_secret(get_le64(request, 8), private_key);
    to_client = sc::StreamCipher(secret);
    from_client = sc::StreamCipher(secret);
    return le64(sc::dh64::public_key(private_key)) + le64(challenge);
  }
  std::string auth() const { return le64(sc::hash64(challenge, secret)); }
};

class Client : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(nullptr, c_); }
  void TearDown() override { cc_close(c_); }

  // Completes the new-connection handshake by hand.
  void establish() {
    const std::vector<Polled> first = poll_all(c_);
    ASSERT_EQ(1u, first.size());
    ASSERT_EQ(MESSAGE_OUT, first[0].kind);
    feed(c_, server_.reply_to(first[0].bytes));
    const std::vector<Polled> second = poll_all(c_);
    ASSERT_EQ(server_.auth(), all_out(second).substr(0, 8));
    c2s_after_auth_ = all_out(second).substr(8);
  }

  FixedRandom random_{31};
  connection *c_ = cc_open();
  HandServer server_;
  std::string c2s_after_auth_;
};

TEST_F(Client, OpenQueuesTheNewConnectionRequest) {
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(1u, msgs.size());
  EXPECT_EQ(MESSAGE_OUT, msgs[0].kind);
  ASSERT_EQ(1u, random_.client_draws().size());
  EXPECT_EQ(le64(0) + le64(sc::dh64::public_key(random_.client_draws()[0])), msgs[0].bytes);
}

TEST_F(Client, DataQueuedBeforeTheHandshakeFollowsTheAuthCodeEncrypted) {
  cc_send(c_, "hello ", 6);
  cc_send(c_, "world", 5);
  const std::vector<Polled> first = poll_all(c_);
  ASSERT_EQ(1u, first.size()) << "nothing but the request before the reply";
  EXPECT_EQ(16u, first[0].bytes.size());
  // The secret agrees both ways.
  const std::string reply = server_.reply_to(first[0].bytes);
  EXPECT_EQ(server_.secret, sc::dh64::shared_secret(sc::dh64::public_key(server_.private_key),
                                                     random_.client_draws()[0]));
  feed(c_, reply);
  const std::vector<Polled> second = poll_all(c_);
  EXPECT_EQ(0, count_kind(second, MESSAGE_IN));
  const std::string out = all_out(second);
  ASSERT_EQ(8u + 11u, out.size());
  EXPECT_EQ(server_.auth(), out.substr(0, 8));
  EXPECT_EQ("hello world", crypt(server_.from_client, out.substr(8)));
  // Later data continues the same keystream.
  cc_send(c_, "!", 1);
  EXPECT_EQ("!", crypt(server_.from_client, all_out(poll_all(c_))));
}

TEST_F(Client, ReplySplitIntoSingleBytesAndCoalescedWithData) {
  const std::vector<Polled> first = poll_all(c_);
  ASSERT_EQ(1u, first.size());
  const std::string reply = server_.reply_to(first[0].bytes);
  const std::string data = crypt(server_.to_client, "server says hi");
  const std::string wire = reply + data;
  for (size_t k = 0; k < 15; ++k) {
    feed(c_, wire.substr(k, 1));
    EXPECT_TRUE(poll_all(c_).empty()) << "after " << k + 1 << " bytes of the reply";
  }
  feed(c_, wire.substr(15));  // the last reply byte and the data in one read
  const std::vector<Polled> msgs = poll_all(c_);
  EXPECT_EQ(server_.auth(), all_out(msgs));
  EXPECT_EQ("server says hi", all_in(msgs));
  // OUT came before IN.
  ASSERT_EQ(2u, msgs.size());
  EXPECT_EQ(MESSAGE_OUT, msgs[0].kind);
  EXPECT_EQ(MESSAGE_IN, msgs[1].kind);
}

TEST_F(Client, OutBeforeIn) {
  establish();
  feed(c_, crypt(server_.to_client, "incoming"));
  cc_send(c_, "outgoing", 8);
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(2u, msgs.size());
  EXPECT_EQ(MESSAGE_OUT, msgs[0].kind);
  EXPECT_EQ("outgoing", crypt(server_.from_client, msgs[0].bytes));
  EXPECT_EQ(MESSAGE_IN, msgs[1].kind);
  EXPECT_EQ("incoming", msgs[1].bytes);
}

TEST_F(Client, InMessagesAreNeverEmptyWhileAlive) {
  establish();
  for (size_t n : {1u, 255u, 256u, 257u, 1000u}) {
    feed(c_, crypt(server_.to_client, make_bytes(n, n)));
  }
  const std::vector<Polled> msgs = poll_all(c_);
  size_t total = 0;
  for (const Polled &p : msgs) {
    EXPECT_EQ(MESSAGE_IN, p.kind);
    EXPECT_FALSE(p.bytes.empty());
    total += p.bytes.size();
  }
  EXPECT_EQ(1u + 255 + 256 + 257 + 1000, total);
}

TEST_F(Client, HandshakeDropsUnpolledOutput) {
  establish();
  feed(c_, crypt(server_.to_client, "abc"));
  poll_all(c_);
  cc_send(c_, "never polled", 12);
  cc_handshake(c_);
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(1u, msgs.size());
  EXPECT_EQ(MESSAGE_OUT, msgs[0].kind);
  ASSERT_EQ(12u, msgs[0].bytes.size()) << "only the reuse request";
  EXPECT_EQ(3u, get_le64(msgs[0].bytes, 0));
  // The dropped data is still owed to the server: a reply saying it has
  // received nothing gets the auth code and all 12 bytes, once.
  feed(c_, le64(0) + le64(server_.challenge));
  const std::string out = all_out(poll_all(c_));
  ASSERT_EQ(8u + 12u, out.size());
  EXPECT_EQ(server_.auth(), out.substr(0, 8));
  EXPECT_EQ("never polled", crypt(server_.from_client, out.substr(8)));
}

TEST_F(Client, HandshakeBeforeAnyReplyStartsOverWithANewKey) {
  cc_handshake(c_);
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(1u, msgs.size()) << "the first request was dropped, unpolled";
  ASSERT_EQ(2u, random_.client_draws().size());
  EXPECT_EQ(le64(0) + le64(sc::dh64::public_key(random_.client_draws()[1])), msgs[0].bytes);
}

TEST_F(Client, SendOfZeroBytesIsAHandshake) {
  establish();
  feed(c_, crypt(server_.to_client, make_bytes(300, 1)));
  poll_all(c_);
  cc_send(c_, "unpolled", 8);
  cc_send(c_, "x", 0);
  const std::vector<Polled> by_send = poll_all(c_);
  cc_handshake(c_);
  const std::vector<Polled> by_handshake = poll_all(c_);
  ASSERT_EQ(1u, by_send.size());
  EXPECT_EQ(12u, by_send[0].bytes.size());
  EXPECT_EQ(300u, get_le64(by_send[0].bytes, 0));
  ASSERT_EQ(1u, by_handshake.size());
  EXPECT_EQ(by_handshake[0].bytes, by_send[0].bytes);
  // With a NULL buffer too.
  cc_send(c_, nullptr, 0);
  const std::vector<Polled> by_null = poll_all(c_);
  ASSERT_EQ(1u, by_null.size());
  EXPECT_EQ(by_send[0].bytes, by_null[0].bytes);
}

TEST_F(Client, SendOfZeroBytesBeforeAnyReplyIsANewHandshake) {
  cc_send(c_, nullptr, 0);
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(1u, msgs.size());
  ASSERT_EQ(2u, random_.client_draws().size());
  EXPECT_EQ(le64(0) + le64(sc::dh64::public_key(random_.client_draws()[1])), msgs[0].bytes);
}

TEST_F(Client, RecvNullGivesOneEmptyInThenIgnoresEverything) {
  establish();
  feed(c_, crypt(server_.to_client, "before"));
  cc_recv(c_, nullptr, 0);
  std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(2u, msgs.size());
  EXPECT_EQ(MESSAGE_IN, msgs[0].kind);
  EXPECT_EQ("before", msgs[0].bytes) << "data received before the end is still delivered";
  EXPECT_EQ(MESSAGE_IN, msgs[1].kind);
  EXPECT_TRUE(msgs[1].bytes.empty());
  // Everything afterwards is ignored, including a second drop.
  feed(c_, crypt(server_.to_client, "after"));
  cc_send(c_, "data", 4);
  cc_handshake(c_);
  cc_send(c_, nullptr, 0);
  cc_recv(c_, nullptr, 0);
  EXPECT_TRUE(poll_all(c_).empty());
}

TEST_F(Client, RecvNullInEveryState) {
  // Opening (the request not even polled), resuming, and right after open.
  for (int state = 0; state < 3; ++state) {
    SCOPED_TRACE(state);
    FixedRandom random(state);
    connection *c = cc_open();
    ASSERT_NE(nullptr, c);
    HandServer server;
    if (state >= 1) {
      const std::vector<Polled> first = poll_all(c);
      feed(c, server.reply_to(first.at(0).bytes));
      feed(c, crypt(server.to_client, "x"));
      poll_all(c);
    }
    if (state == 2) cc_handshake(c);
    cc_send(c, "pending", 7);
    cc_recv(c, nullptr, 0);
    const std::vector<Polled> msgs = poll_all(c);
    ASSERT_EQ(1u, msgs.size()) << "output is dropped; one final message";
    EXPECT_EQ(MESSAGE_IN, msgs[0].kind);
    EXPECT_TRUE(msgs[0].bytes.empty());
    cc_recv(c, "0123456789abcdef", 16);
    EXPECT_TRUE(poll_all(c).empty());
    cc_close(c);
  }
}

// cc_recv(c, buf, 0) with a real buffer (read()'s result passed straight
// through at end of file) drops the connection exactly like NULL, as the 2014
// module did.
TEST_F(Client, RecvOfSizeZeroWithABufferIsADrop) {
  establish();
  feed(c_, crypt(server_.to_client, "before"));
  const char buf[8] = {'u', 'n', 'u', 's', 'e', 'd'};
  cc_recv(c_, buf, 0);
  std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(2u, msgs.size());
  EXPECT_EQ("before", msgs[0].bytes);
  EXPECT_EQ(MESSAGE_IN, msgs[1].kind);
  EXPECT_TRUE(msgs[1].bytes.empty()) << "one MESSAGE_IN of size 0: the connection is dead";
  feed(c_, crypt(server_.to_client, "after"));
  cc_send(c_, "data", 4);
  cc_handshake(c_);
  EXPECT_TRUE(poll_all(c_).empty());
  sc_client_stats st{};
  ASSERT_EQ(SC_OK, sc_client_get_stats(c_, &st, sizeof st));
  EXPECT_EQ(SC_CLIENT_DEAD, st.state);
}

TEST_F(Client, RecvOfSizeZeroWithABufferInEveryState) {
  for (int state = 0; state < 3; ++state) {
    SCOPED_TRACE(state);
    FixedRandom random(state + 100);
    connection *c = cc_open();
    ASSERT_NE(nullptr, c);
    HandServer server;
    if (state >= 1) {
      const std::vector<Polled> first = poll_all(c);
      feed(c, server.reply_to(first.at(0).bytes));
      feed(c, crypt(server.to_client, "x"));
      poll_all(c);
    }
    if (state == 2) cc_handshake(c);
    cc_send(c, "pending", 7);
    cc_recv(c, "0123456789abcdef", 0);
    const std::vector<Polled> msgs = poll_all(c);
    ASSERT_EQ(1u, msgs.size());
    EXPECT_EQ(MESSAGE_IN, msgs[0].kind);
    EXPECT_TRUE(msgs[0].bytes.empty());
    cc_close(c);
  }
}

TEST_F(Client, RecvWithANullBufferAndASizeIsNotADrop) {
  establish();
  cc_recv(c_, nullptr, 5);
  EXPECT_TRUE(poll_all(c_).empty());
  feed(c_, crypt(server_.to_client, "still alive"));
  EXPECT_EQ("still alive", all_in(poll_all(c_)));
}

TEST_F(Client, ReuseReplyCompletesWithResendAndQueuedData) {
  establish();
  cc_send(c_, "0123456789", 10);
  const std::string first = crypt(server_.from_client, all_out(poll_all(c_)));
  ASSERT_EQ("0123456789", first);
  feed(c_, crypt(server_.to_client, make_bytes(600, 2)));
  poll_all(c_);
  cc_handshake(c_);
  cc_send(c_, "queued", 6);  // while the reuse is pending
  const std::vector<Polled> req = poll_all(c_);
  ASSERT_EQ(1u, req.size()) << "nothing but the request before the reply";
  ASSERT_EQ(12u, req[0].bytes.size());
  EXPECT_EQ(600u, get_le64(req[0].bytes, 0));
  // The server got 4 of the 10 bytes; the reply may come split.
  const std::string reply = le64(4) + le64(server_.challenge);
  for (char ch : reply) feed(c_, std::string(1, ch));
  const std::string out = all_out(poll_all(c_));
  ASSERT_EQ(8u + 6u + 6u, out.size());
  EXPECT_EQ(server_.auth(), out.substr(0, 8));
  // The resent bytes are the original ciphertext of bytes 4..9: decrypting
  // them with a cipher positioned at 4 gives "456789".
  sc::StreamCipher at4(server_.secret);
  crypt(at4, "0123");
  EXPECT_EQ("456789", crypt(at4, out.substr(8, 6)));
  EXPECT_EQ("queued", crypt(at4, out.substr(14)));
  // Data after the reply goes on in the same stream.
  feed(c_, crypt(server_.to_client, "more"));
  EXPECT_EQ("more", all_in(poll_all(c_)));
}

TEST_F(Client, ReuseReplyCoalescedWithResentServerData) {
  establish();
  feed(c_, crypt(server_.to_client, make_bytes(100, 3)));
  poll_all(c_);
  cc_handshake(c_);
  poll_all(c_);
  // Reply, then the 50 bytes the client missed, in one read.
  const std::string missed = make_bytes(50, 4);
  feed(c_, le64(0) + le64(server_.challenge) + crypt(server_.to_client, missed));
  const std::vector<Polled> msgs = poll_all(c_);
  EXPECT_EQ(server_.auth(), all_out(msgs));
  EXPECT_EQ(missed, all_in(msgs));
}

TEST_F(Client, ReuseReplyNamingBytesNeverSentKillsTheClient) {
  establish();
  cc_send(c_, "abc", 3);
  poll_all(c_);
  feed(c_, crypt(server_.to_client, "x"));
  poll_all(c_);
  cc_handshake(c_);
  poll_all(c_);
  feed(c_, le64(4) + le64(server_.challenge));
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(1u, msgs.size());
  EXPECT_EQ(MESSAGE_IN, msgs[0].kind);
  EXPECT_TRUE(msgs[0].bytes.empty());
  cc_handshake(c_);
  cc_send(c_, "y", 1);
  EXPECT_TRUE(poll_all(c_).empty());
}

TEST_F(Client, WindowLimitsWhatCanBeResent) {
  ASSERT_EQ(SC_OK, sc_client_set_window(c_, 100));
  establish();
  const std::string data = make_bytes(250, 5);
  cc_send(c_, data.data(), data.size());
  poll_all(c_);
  feed(c_, crypt(server_.to_client, "x"));
  poll_all(c_);
  EXPECT_EQ(SC_ERR_INVALID_STATE, sc_client_set_window(c_, 1000));
  // Holds 150..250: a reply of 150 is fine...
  cc_handshake(c_);
  poll_all(c_);
  feed(c_, le64(150) + le64(server_.challenge));
  EXPECT_EQ(8u + 100u, all_out(poll_all(c_)).size());
  // ...149 is not.
  cc_handshake(c_);
  poll_all(c_);
  feed(c_, le64(149) + le64(server_.challenge));
  const std::vector<Polled> msgs = poll_all(c_);
  ASSERT_EQ(1u, msgs.size());
  EXPECT_EQ(MESSAGE_IN, msgs[0].kind);
  EXPECT_TRUE(msgs[0].bytes.empty());
}

TEST_F(Client, NewSessionAfterNothingReceivedKeepsQueuedData) {
  establish();
  cc_send(c_, "lost with the old session", 25);
  poll_all(c_);
  cc_handshake(c_);  // nothing received: a new session
  cc_send(c_, "new", 3);
  const std::vector<Polled> req = poll_all(c_);
  ASSERT_EQ(1u, req.size());
  ASSERT_EQ(16u, req[0].bytes.size());
  EXPECT_EQ(le64(0), req[0].bytes.substr(0, 8));
  HandServer second;
  second.private_key = 77;
  feed(c_, second.reply_to(req[0].bytes));
  const std::string out = all_out(poll_all(c_));
  ASSERT_EQ(8u + 3u, out.size());
  EXPECT_EQ(second.auth(), out.substr(0, 8));
  EXPECT_EQ("new", crypt(second.from_client, out.substr(8)));
}

}  // namespace
