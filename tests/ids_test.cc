// Session ids: positive, counting up from 1, skipping ids still in use, and
// wrapping back to 1 before INT_MAX.
#include <gtest/gtest.h>

#include <climits>
#include <vector>

#include "client/client.h"
#include "pool/server.h"

namespace sc {

struct ServerTestPeer {
  static void set_next_id(Server &s, int id) { s.sessions_.next_id_ = id; }
};

namespace {

// Opens one session with a fresh client on `fd` and returns its id.
int open_session(Server &server, int fd) {
  Client client;
  for (int round = 0; round < 10; ++round) {
    std::vector<uint8_t> up, down;
    for (Client::Message m; (m = client.poll()).kind != Client::Kind::kEmpty;)
      if (m.kind == Client::Kind::kOut) up.insert(up.end(), m.data, m.data + m.size);
    if (!up.empty()) server.receive(fd, up.data(), up.size());
    for (Server::Message m; (m = server.poll()).kind != Server::Kind::kEmpty;)
      if (m.kind == Server::Kind::kOut && m.id == fd) down.insert(down.end(), m.data, m.data + m.size);
    if (!down.empty()) client.receive(down.data(), down.size());
    if (up.empty() && down.empty()) break;
  }
  const uint8_t hello[] = {'h', 'i'};
  client.send(hello, sizeof hello);
  for (Client::Message m; (m = client.poll()).kind != Client::Kind::kEmpty;)
    if (m.kind == Client::Kind::kOut) server.receive(fd, m.data, m.size);
  for (Server::Message m; (m = server.poll()).kind != Server::Kind::kEmpty;)
    if (m.kind == Server::Kind::kIn) return m.id;
  return 0;
}

TEST(SessionIds, CountUpFromOne) {
  Server server;
  EXPECT_EQ(open_session(server, 3), 1);
  EXPECT_EQ(open_session(server, 4), 2);
  server.close_session(1);
  EXPECT_EQ(open_session(server, 5), 3);  // freed ids are not reused at once
}

TEST(SessionIds, WrapBeforeIntMaxAndSkipIdsInUse) {
  Server server;
  EXPECT_EQ(open_session(server, 3), 1);
  EXPECT_EQ(open_session(server, 4), 2);
  ServerTestPeer::set_next_id(server, INT_MAX - 2);
  EXPECT_EQ(open_session(server, 5), INT_MAX - 2);
  EXPECT_EQ(open_session(server, 6), INT_MAX - 1);
  // INT_MAX is never used; 1 and 2 are taken, so the next id is 3.
  EXPECT_EQ(open_session(server, 7), 3);
  EXPECT_EQ(open_session(server, 8), 4);
  EXPECT_EQ(server.session_count(), 6u);
}

}  // namespace
}  // namespace sc
