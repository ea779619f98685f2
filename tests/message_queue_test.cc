// The message queue both sides poll through, and the send state with its
// backlog and resend rules.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/events.h"
#include "core/message_queue.h"
#include "core/send_state.h"

namespace {

using namespace sc;
using Queue = MessageQueue<PoolEvent>;

std::string str(const Queue::Polled &m) {
  return m.size ? std::string(reinterpret_cast<const char *>(m.data), m.size) : std::string();
}

void put(std::vector<uint8_t> &v, const std::string &s) { v.insert(v.end(), s.begin(), s.end()); }

auto ignore = [](const OutMessage &, bool) {};

TEST(MessageQueue, OutputBeforeInputAndConsecutiveWritesJoin) {
  Queue q;
  bool created = false;
  put(q.input_for(7), "in-a");
  put(q.output_for(3, &created), "ab");
  EXPECT_TRUE(created);
  created = false;
  put(q.output_for(3, &created), "cd");
  EXPECT_FALSE(created) << "a second write to the same fd joins the last message";
  put(q.output_for(4, &created), "ef");
  EXPECT_TRUE(created);
  put(q.input_for(7), "in-b");

  Queue::Polled m = q.poll(false, ignore);
  EXPECT_EQ(Queue::Polled::Kind::kOut, m.kind);
  EXPECT_EQ(3, m.id);
  EXPECT_EQ("abcd", str(m));
  m = q.poll(false, ignore);
  EXPECT_EQ(4, m.id);
  EXPECT_EQ("ef", str(m));
  m = q.poll(false, ignore);
  EXPECT_EQ(Queue::Polled::Kind::kIn, m.kind);
  EXPECT_EQ(7, m.id);
  EXPECT_EQ("in-ain-b", str(m)) << "data for one session joins too";
  EXPECT_EQ(Queue::Polled::Kind::kEmpty, q.poll(false, ignore).kind);
}

TEST(MessageQueue, CloseIsItsOwnMessageAndNothingJoinsIt) {
  Queue q;
  put(q.output_for(5, nullptr), "x");
  q.push_close(5);
  bool created = false;
  put(q.output_for(5, &created), "y");
  EXPECT_TRUE(created);
  EXPECT_EQ("x", str(q.poll(false, ignore)));
  const Queue::Polled c = q.poll(false, ignore);
  EXPECT_TRUE(c.close);
  EXPECT_EQ(0u, c.size);
  EXPECT_EQ(nullptr, c.data);
  EXPECT_EQ("y", str(q.poll(false, ignore)));
}

TEST(MessageQueue, EventsOnlyWhenAskedForAndInOrderWithData) {
  Queue q;
  PoolEvent e;
  e.type = PoolEventType::kSessionDetached;
  e.id = 9;
  put(q.input_for(9), "before");
  q.push_event(9, e);
  put(q.input_for(9), "after");
  EXPECT_EQ("before", str(q.poll(true, ignore)));
  const Queue::Polled ev = q.poll(true, ignore);
  EXPECT_EQ(Queue::Polled::Kind::kEvent, ev.kind);
  EXPECT_EQ(PoolEventType::kSessionDetached, ev.event.type);
  EXPECT_EQ(9, ev.id);
  EXPECT_EQ("after", str(q.poll(true, ignore))) << "an event splits the data around it";

  q.push_event(9, e);
  put(q.input_for(9), "z");
  EXPECT_EQ("z", str(q.poll(false, ignore))) << "skipped without events";
}

TEST(MessageQueue, DequeuedSeesEveryOutgoingMessageAndSkipsEmptyOnes) {
  Queue q;
  q.output_for(1, nullptr);  // left empty, as by a failed allocation
  put(q.output_for(2, nullptr), "b");
  q.last_output().session_id = 4;
  q.last_output().stream_end = 77;
  std::vector<std::string> seen;
  const Queue::Polled m = q.poll(false, [&](const OutMessage &o, bool handed) {
    seen.push_back(std::to_string(o.fd) + (handed ? " handed" : " skipped") + " " + std::to_string(o.stream_end));
  });
  EXPECT_EQ(2, m.id);
  EXPECT_EQ((std::vector<std::string>{"1 skipped 0", "2 handed 77"}), seen);
}

TEST(MessageQueue, DropOutputAndTheEnd) {
  MessageQueue<ClientEvent, 4> q;
  put(q.output_for(-1, nullptr), "abcdef");
  bool created = false;
  put(q.output_for(-1, &created), "g");
  EXPECT_TRUE(created) << "a full message is not joined";
  q.drop_output_if([](const OutMessage &o) { return o.bytes.size() > 1; });
  auto none = [](const OutMessage &, bool) {};
  EXPECT_EQ(1u, q.poll(false, none).size);
  q.push_end();
  const auto end = q.poll(false, none);
  EXPECT_EQ(decltype(q)::Polled::Kind::kIn, end.kind);
  EXPECT_EQ(0u, end.size);
  put(q.output_for(-1, nullptr), "x");
  q.drop_output();
  EXPECT_EQ(decltype(q)::Polled::Kind::kEmpty, q.poll(false, none).kind);
}

TEST(MessageQueue, DataStaysValidUntilTheNextPoll) {
  Queue q;
  put(q.input_for(1), std::string(100, 'a'));
  put(q.output_for(2, nullptr), std::string(50, 'b'));
  const Queue::Polled first = q.poll(false, ignore);
  const std::string copy = str(first);
  put(q.output_for(3, nullptr), std::string(70, 'c'));  // queued after the poll
  EXPECT_EQ(copy, str(first));
  EXPECT_EQ(std::string(70, 'c'), str(q.poll(false, ignore)));
  EXPECT_EQ(std::string(100, 'a'), str(q.poll(false, ignore)));
}

TEST(SendState, BacklogIsWhatNoSocketGotYet) {
  SendState s(100);
  const std::vector<uint8_t> data(60, 1);
  s.resend().append(data.data(), data.size());
  EXPECT_EQ(60u, s.sent());
  EXPECT_EQ(60u, s.backlog());
  EXPECT_EQ(65u, s.backlog(5)) << "plus what is not in the stream yet";
  s.handed_out_to(40);
  EXPECT_EQ(20u, s.backlog());
  s.handed_out_to(10);
  EXPECT_EQ(20u, s.backlog()) << "handing out never goes back";
  s.restart_from(10);
  EXPECT_EQ(50u, s.backlog()) << "after a reconnect the peer has only what it said";
}

TEST(SendState, ResendableFromWhatIsHeld) {
  SendState s(100);
  const std::vector<uint8_t> data(150, 2);
  s.resend().append(data.data(), data.size());
  EXPECT_EQ(100u, s.held());
  EXPECT_FALSE(s.can_resend_from(49));
  EXPECT_TRUE(s.can_resend_from(50));
  EXPECT_TRUE(s.can_resend_from(150));
  EXPECT_FALSE(s.can_resend_from(151));
  EXPECT_FALSE(s.backlog_resendable()) << "nothing handed out: 150 bytes missing, 100 held";
  s.handed_out_to(50);
  EXPECT_TRUE(s.backlog_resendable());
  EXPECT_TRUE(within_held(50, 150, 100));
  EXPECT_FALSE(within_held(49, 150, 100));
  s.reset(10);
  EXPECT_EQ(0u, s.sent());
  EXPECT_EQ(0u, s.handed_out());
  EXPECT_EQ(10u, s.window());
}

}  // namespace
