// Tests of the msgpack codec (tenure/protocol/codec.h).
//
// Valid messages must survive Encode -> Decode unchanged. Everything else must
// come back as bad_request: the decoder faces the network, so it must never
// throw, crash, or allocate without bound, whatever the bytes. Malformed
// bodies are built with a small hand-written msgpack writer (below) rather
// than with msgpack-cxx, so the tests do not share the library's assumptions.
#include "tenure/protocol/codec.h"

#include <bit>
#include <cstdint>
#include <exception>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace tenure::protocol {
namespace {

using namespace tenure::literals;

// ------------------------------------------------------------ msgpack writer

// Writes msgpack in its smallest forms, as the codec does, so hand-built
// bodies of valid messages are byte-identical to Encode's output.
namespace mp {

std::string BigEndian(std::uint64_t value, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
  return out;
}

std::string Byte(unsigned value) { return std::string(1, static_cast<char>(value)); }

std::string Nil() { return Byte(0xc0); }
std::string Bool(bool value) { return Byte(value ? 0xc3 : 0xc2); }

std::string Uint(std::uint64_t v) {
  if (v < 0x80) return Byte(static_cast<unsigned>(v));
  if (v <= 0xff) return Byte(0xcc) + BigEndian(v, 1);
  if (v <= 0xffff) return Byte(0xcd) + BigEndian(v, 2);
  if (v <= 0xffffffff) return Byte(0xce) + BigEndian(v, 4);
  return Byte(0xcf) + BigEndian(v, 8);
}

std::string Int(std::int64_t v) {
  if (v >= 0) return Uint(static_cast<std::uint64_t>(v));
  const auto bits = static_cast<std::uint64_t>(v);
  if (v >= -32) return Byte(static_cast<unsigned>(bits & 0xff));
  if (v >= -128) return Byte(0xd0) + BigEndian(bits, 1);
  if (v >= -32768) return Byte(0xd1) + BigEndian(bits, 2);
  if (v >= std::numeric_limits<std::int32_t>::min()) return Byte(0xd2) + BigEndian(bits, 4);
  return Byte(0xd3) + BigEndian(bits, 8);
}

// A non-negative value in the signed int64 format, as some encoders write them.
std::string Int64Format(std::int64_t v) {
  return Byte(0xd3) + BigEndian(static_cast<std::uint64_t>(v), 8);
}

std::string F64(double value) {
  return Byte(0xcb) + BigEndian(std::bit_cast<std::uint64_t>(value), 8);
}

std::string StrHeader(std::uint64_t n) {
  if (n < 32) return Byte(0xa0 | static_cast<unsigned>(n));
  if (n <= 0xff) return Byte(0xd9) + BigEndian(n, 1);
  if (n <= 0xffff) return Byte(0xda) + BigEndian(n, 2);
  return Byte(0xdb) + BigEndian(n, 4);
}

std::string Str(std::string_view s) { return StrHeader(s.size()) + std::string(s); }

std::string Bin(std::string_view s) { return Byte(0xc4) + BigEndian(s.size(), 1) + std::string(s); }

std::string ArrayHeader(std::uint64_t n) {
  if (n < 16) return Byte(0x90 | static_cast<unsigned>(n));
  if (n <= 0xffff) return Byte(0xdc) + BigEndian(n, 2);
  return Byte(0xdd) + BigEndian(n, 4);
}

std::string MapHeader(std::uint64_t n) {
  if (n < 16) return Byte(0x80 | static_cast<unsigned>(n));
  if (n <= 0xffff) return Byte(0xde) + BigEndian(n, 2);
  return Byte(0xdf) + BigEndian(n, 4);
}

std::string Array(const std::vector<std::string>& items) {
  std::string out = ArrayHeader(items.size());
  for (const std::string& item : items) out += item;
  return out;
}

// Key -> already-encoded value, in order.
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Map(const Fields& fields) {
  std::string out = MapHeader(fields.size());
  for (const auto& [key, value] : fields) out += Str(key) + value;
  return out;
}

Fields Without(Fields fields, std::string_view key) {
  std::erase_if(fields, [&](const auto& kv) { return kv.first == key; });
  return fields;
}

Fields With(Fields fields, std::string_view key, std::string value) {
  for (auto& [k, v] : fields) {
    if (k == key) {
      v = std::move(value);
      return fields;
    }
  }
  fields.emplace_back(std::string(key), std::move(value));
  return fields;
}

}  // namespace mp

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

// ------------------------------------------------------------ helpers

// Decodes without letting an exception escape the test: the codec promises
// never to throw, so one that does is a failure, not a crash of the binary.
Result<Message> SafeDecode(std::string_view body) {
  try {
    return Decode(body);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "Decode threw: " << e.what() << " on " << Hex(body.substr(0, 64));
  } catch (...) {
    ADD_FAILURE() << "Decode threw a non-standard exception on " << Hex(body.substr(0, 64));
  }
  return Status::Unavailable("threw");
}

::testing::AssertionResult IsBadRequest(std::string_view body) {
  Result<Message> r = SafeDecode(body);
  if (r.ok()) {
    return ::testing::AssertionFailure()
           << "accepted " << (body.size() > 96 ? "(long body)" : Hex(body));
  }
  if (r.status().code() != ErrorCode::kBadRequest) {
    return ::testing::AssertionFailure() << "code " << r.status().ToString();
  }
  if (r.status().message().empty()) {
    return ::testing::AssertionFailure() << "bad_request without a message";
  }
  return ::testing::AssertionSuccess();
}

template <typename T>
T DecodeAs(std::string_view body) {
  Result<Message> r = SafeDecode(body);
  if (!r.ok()) {
    ADD_FAILURE() << "rejected: " << r.status().ToString();
    return T{};
  }
  const T* m = std::get_if<T>(&r.value());
  if (m == nullptr) {
    ADD_FAILURE() << "decoded to another message type (index " << r->index() << ")";
    return T{};
  }
  return *m;
}

template <typename T>
void ExpectRoundTrip(const T& original) {
  const std::string body = Encode(original);
  EXPECT_LE(body.size(), kBodyBytesMax);
  EXPECT_EQ(DecodeAs<T>(body), original) << Hex(body.substr(0, 200));
}

EntityView FullEntity(std::string id) {
  return {std::move(id), "working", Version{42}, "node-a", Epoch{7}};
}

NodeView FullNode(std::string id) {
  return {std::move(id), true, true, Incarnation{0xfeedfacecafebeefULL}, 12, 250};
}

TenureView FullTenure(Epoch epoch) {
  return {"node-a", epoch, "2024-05-01T12:00:00.000Z", "2024-05-01T12:10:00.250Z", "passivated"};
}

// The tenure that lasts: no end, no reason yet.
TenureView OpenTenure(Epoch epoch) { return {"node-b", epoch, "2024-05-01T12:10:00.300Z", "", ""}; }

Request FullRequest(Op op) {
  Request r;
  r.request_id = 99;
  r.op = op;
  r.entity_id = "entity_1";
  r.state = "working";
  r.expect = "initialized";
  r.if_version = Version{3};
  r.limit = 50;
  r.via = "node-b";
  r.forwarded = true;
  return r;
}

Reply FullReply() {
  Reply r;
  r.request_id = std::numeric_limits<std::uint64_t>::max();
  r.code = ErrorCode::kConflict;
  r.message = "state of 'entity_1' is working, expected initialized";
  r.owner = "node-a";
  r.entity = FullEntity("entity_1");
  r.entities = {FullEntity("a"), FullEntity("b")};
  r.nodes = {FullNode("node-a"), FullNode("node-b")};
  r.tenures = {FullTenure(1_epoch), OpenTenure(2_epoch)};
  r.actual_state = "working";
  r.actual_version = Version{0};  // Present although zero.
  return r;
}

Heartbeat FullHeartbeat() {
  return {"node-a",  Incarnation{0x0123456789abcdefULL},
          17,        -5,
          true,      3,
          "voter-b", "voters=@broker,node-a,voter-b lease=2000ms margin=50ms drift=0.01"};
}

Event FullEvent(Event::Kind kind) {
  return {kind, "entity_1", "finalized", Version{9}, Epoch{4}, "node-a", "passivated"};
}

// A lock message with several items, the holder set on some and absent on
// others (the codec does not tie `holder` to DENY; the voter does).
LockMessage FullLock(LockMessage::Kind kind) {
  LockMessage m;
  m.kind = kind;
  m.from = "node-a";
  m.from_incarnation = Incarnation{0x0123456789abcdefULL};
  m.to = "@broker";
  m.to_incarnation = Incarnation{0xfedcba9876543210ULL};
  m.seq = 17;
  m.sent_ms = 123456789;
  m.items = {{"entity_1", 3_claim, "node-b", 1900},
             {"entity_2", 4_claim, ""},
             {std::string("a\0b\xff", 4), ClaimNumber{std::numeric_limits<std::uint64_t>::max()},
              "node-c", std::numeric_limits<std::uint32_t>::max()},
             {"entity_4", 0_claim, ""}};
  m.settings = "voters=a,b,c lease=2000ms margin=50ms drift=0.01";
  return m;
}

// Only the required keys set: kind, from, from_inc, to.
LockMessage MinimalLock(LockMessage::Kind kind) {
  LockMessage m;
  m.kind = kind;
  m.from = "v";
  m.from_incarnation = 1_inc;
  m.to = "n";
  return m;
}

constexpr Op kAllOps[] = {Op::kGet,   Op::kSet,   Op::kCreate, Op::kList,
                          Op::kNodes, Op::kWhere, Op::kHistory};
constexpr LockMessage::Kind kAllLockKinds[] = {
    LockMessage::Kind::kHbAck,   LockMessage::Kind::kNack,     LockMessage::Kind::kMismatch,
    LockMessage::Kind::kClaim,   LockMessage::Kind::kGrant,    LockMessage::Kind::kDeny,
    LockMessage::Kind::kRelease, LockMessage::Kind::kReleased, LockMessage::Kind::kQuiet};
constexpr Event::Kind kAllKinds[] = {Event::Kind::kChanged, Event::Kind::kActivated,
                                     Event::Kind::kPassivated, Event::Kind::kNodeUp,
                                     Event::Kind::kNodeDown};
constexpr ErrorCode kAllCodes[] = {ErrorCode::kOk,           ErrorCode::kBadRequest,
                                   ErrorCode::kInvalidState, ErrorCode::kNotFound,
                                   ErrorCode::kConflict,     ErrorCode::kUnavailable,
                                   ErrorCode::kBusy,         ErrorCode::kStorageError};

// Valid bodies of every message type, for the truncation and mutation tests.
std::vector<std::string> ValidBodies() {
  std::vector<std::string> out;
  for (Op op : kAllOps) {
    out.push_back(Encode(FullRequest(op)));
    Request minimal;
    minimal.op = op;
    out.push_back(Encode(minimal));
  }
  out.push_back(Encode(FullReply()));
  for (ErrorCode code : kAllCodes) {
    Reply minimal;
    minimal.code = code;
    out.push_back(Encode(minimal));
  }
  Reply entity_only;
  entity_only.entity = EntityView{"x", "initialized", 1_version, "", 0_epoch};
  out.push_back(Encode(entity_only));
  out.push_back(Encode(FullHeartbeat()));
  out.push_back(Encode(Heartbeat{}));
  Reply history;
  history.tenures = {FullTenure(1_epoch), OpenTenure(2_epoch)};
  out.push_back(Encode(history));
  for (LockMessage::Kind kind : kAllLockKinds) {
    out.push_back(Encode(FullLock(kind)));
    out.push_back(Encode(MinimalLock(kind)));
  }
  for (Event::Kind kind : kAllKinds) {
    out.push_back(Encode(FullEvent(kind)));
    Event minimal;
    minimal.kind = kind;
    out.push_back(Encode(minimal));
  }
  return out;
}

// ------------------------------------------------------------ round trips

TEST(CodecRoundTrip, RequestOfEveryOpWithEveryOptionalField) {
  for (Op op : kAllOps) {
    SCOPED_TRACE(std::string(OpName(op)));
    ExpectRoundTrip(FullRequest(op));
  }
}

TEST(CodecRoundTrip, RequestOfEveryOpWithNoOptionalField) {
  for (Op op : kAllOps) {
    SCOPED_TRACE(std::string(OpName(op)));
    Request r;
    r.request_id = 1;
    r.op = op;
    ExpectRoundTrip(r);
    // Absent fields are left out of the body, not sent empty: t, rid, op only.
    EXPECT_EQ(static_cast<unsigned char>(Encode(r)[0]), 0x83);
  }
}

TEST(CodecRoundTrip, RequestWithEachOptionalFieldAlone) {
  Request base;
  base.request_id = 5;
  base.op = Op::kSet;
  std::vector<Request> cases(7, base);
  cases[0].entity_id = "e";
  cases[1].state = "working";
  cases[2].expect = "finalized";
  cases[3].if_version = 0_version;  // Zero is a real version to compare against, not "absent".
  cases[4].limit = 1;
  cases[5].via = "n";
  cases[6].forwarded = true;
  for (const Request& r : cases) ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, RequestIntegerExtremes) {
  Request r = FullRequest(Op::kList);
  r.request_id = std::numeric_limits<std::uint64_t>::max();
  r.if_version = Version{std::numeric_limits<std::uint64_t>::max()};
  r.limit = std::numeric_limits<std::uint32_t>::max();
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, RequestKeepsArbitraryBytesInStrings) {
  // The codec carries ids as bytes; validating them is the edges' job (ids.h).
  Request r = FullRequest(Op::kGet);
  r.entity_id = std::string("a\0b\xff\x1f", 5);
  r.via = std::string(300, 'v');
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, ReplyWithEveryOptionalField) { ExpectRoundTrip(FullReply()); }

TEST(CodecRoundTrip, ReplyOfEveryCodeWithNoOptionalField) {
  for (ErrorCode code : kAllCodes) {
    SCOPED_TRACE(std::string(ErrorName(code)));
    Reply r;
    r.request_id = 8;
    r.code = code;
    ExpectRoundTrip(r);
    EXPECT_EQ(static_cast<unsigned char>(Encode(r)[0]), 0x83);
  }
}

TEST(CodecRoundTrip, ReplyWithEntity) {
  Reply r;
  r.request_id = 1;
  r.owner = "node-a";
  r.entity = FullEntity("entity_1");
  ExpectRoundTrip(r);
  r.entity =
      EntityView{"entity_1", "initialized", 0_version, "", 0_epoch};  // No owner, zero epoch.
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, ReplyWithEntityList) {
  Reply r;
  r.request_id = 2;
  for (int i = 0; i < 20; ++i) r.entities.push_back(FullEntity("e" + std::to_string(i)));
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, ReplyWithNodeList) {
  Reply r;
  r.request_id = 3;
  r.nodes = {FullNode("a"), NodeView{"b", false, false, 0_inc, 0, -1},
             NodeView{"c", true, false, Incarnation{std::numeric_limits<std::uint64_t>::max()},
                      std::numeric_limits<std::uint32_t>::max(),
                      std::numeric_limits<std::int64_t>::min()}};
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, ConflictReplyWithActualStateAndVersion) {
  Reply r;
  r.request_id = 4;
  r.code = ErrorCode::kConflict;
  r.message = "version of 'x' is 3, expected 2";
  r.owner = "node-a";
  r.actual_state = "working";
  r.actual_version = 3_version;
  ExpectRoundTrip(r);
  r.actual_version.reset();
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, ListReplyWithExactlyTheMaximumRows) {
  Reply r;
  r.request_id = 5;
  r.entities.reserve(kListRowsMax);
  for (std::size_t i = 0; i < kListRowsMax; ++i) {
    r.entities.push_back(
        EntityView{"entity_" + std::to_string(i), "working", Version{i}, "node-a", 1_epoch});
  }
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, HeartbeatWithAndWithoutOptionalFields) {
  ExpectRoundTrip(FullHeartbeat());
  Heartbeat minimal;
  minimal.node = "n";
  ExpectRoundTrip(minimal);
  Heartbeat extremes{"n",
                     Incarnation{std::numeric_limits<std::uint64_t>::max()},
                     std::numeric_limits<std::uint64_t>::max(),
                     std::numeric_limits<std::int64_t>::min(),
                     false,
                     std::numeric_limits<std::uint32_t>::max(),
                     {}};
  ExpectRoundTrip(extremes);
  extremes.sent_ms = std::numeric_limits<std::int64_t>::max();
  ExpectRoundTrip(extremes);
}

TEST(CodecRoundTrip, EventOfEveryKindWithAndWithoutOptionalFields) {
  for (Event::Kind kind : kAllKinds) {
    SCOPED_TRACE(std::string(EventKindName(kind)));
    ExpectRoundTrip(FullEvent(kind));
    Event minimal;
    minimal.kind = kind;
    ExpectRoundTrip(minimal);
    EXPECT_EQ(static_cast<unsigned char>(Encode(minimal)[0]), 0x82);  // t and kind only.
  }
}

TEST(CodecRoundTrip, NodeEventAsTheBrokerPublishesIt) {
  ExpectRoundTrip(Event{Event::Kind::kNodeDown, {}, {}, {}, {}, "node-a", "session expired"});
}

TEST(CodecRoundTrip, HeartbeatToAVoterAndToTheBroker) {
  Heartbeat to_voter{"node-a", 5_inc, 6, 7, true, 2, "node-b"};
  ExpectRoundTrip(to_voter);
  EXPECT_EQ(static_cast<unsigned char>(Encode(to_voter)[0]), 0x88);  // Seven keys and `to`.
  to_voter.to = "@broker";  // The witness voter (lock::kWitnessId).
  ExpectRoundTrip(to_voter);
  Heartbeat to_broker = to_voter;
  to_broker.to.clear();
  ExpectRoundTrip(to_broker);
  // For the broker alone: `to` is left out, not sent empty.
  EXPECT_EQ(static_cast<unsigned char>(Encode(to_broker)[0]), 0x87);
  EXPECT_EQ(Encode(to_broker).find("\xa2to"), std::string::npos);
}

TEST(CodecRoundTrip, HeartbeatSettingsAreSentWhenSetAndAnAbsentKeyDecodesAsEmpty) {
  Heartbeat hb{
      "node-a", 5_inc, 6,        7,
      true,     2,     "node-b", "voters=@broker,bar,foo lease=2000ms margin=50ms drift=0.01"};
  ExpectRoundTrip(hb);
  EXPECT_EQ(static_cast<unsigned char>(Encode(hb)[0]), 0x89);  // Seven keys, `to`, `settings`.
  hb.to.clear();  // The broker heartbeat carries them too.
  ExpectRoundTrip(hb);
  EXPECT_EQ(static_cast<unsigned char>(Encode(hb)[0]), 0x88);
  // A sender from before the settings: the key is absent, the text empty
  // (which every receiver refuses, §10.2).
  const Heartbeat older = DecodeAs<Heartbeat>(mp::Map({{"t", mp::Str("hb")},
                                                       {"node", mp::Str("n")},
                                                       {"inc", mp::Uint(1)},
                                                       {"seq", mp::Uint(2)},
                                                       {"sent_ms", mp::Int(3)},
                                                       {"to", mp::Str("v")}}));
  EXPECT_EQ(older.settings, "");
  hb.settings.clear();
  EXPECT_EQ(Encode(hb).find("settings"), std::string::npos);  // Empty: left out.
}

TEST(CodecRoundTrip, MismatchCarriesTheRefusersSettings) {
  LockMessage m = MinimalLock(LockMessage::Kind::kMismatch);
  m.to_incarnation = 9_inc;
  m.seq = 4;
  m.settings = "voters=bar,baz,foo lease=2000ms margin=50ms drift=0.01";
  ExpectRoundTrip(m);
  EXPECT_EQ(static_cast<unsigned char>(Encode(m)[0]), 0x8a);  // The nine keys and `settings`.
  const LockMessage decoded = DecodeAs<LockMessage>(mp::Map({{"t", mp::Str("lock")},
                                                             {"kind", mp::Str("mismatch")},
                                                             {"from", mp::Str("@broker")},
                                                             {"from_inc", mp::Uint(0)},
                                                             {"to", mp::Str("n")}}));
  EXPECT_EQ(decoded.kind, LockMessage::Kind::kMismatch);
  EXPECT_EQ(decoded.settings, "");  // Absent: empty.
}

TEST(CodecRoundTrip, ForwardedRequestAsANodeSendsIt) {
  Request r;
  r.request_id = 41;
  r.op = Op::kSet;
  r.entity_id = "entity_1";
  r.state = "working";
  r.via = "node-b";  // The holder.
  r.forwarded = true;
  ExpectRoundTrip(r);
  EXPECT_EQ(Hex(Encode(r)), Hex(mp::Map({{"t", mp::Str("req")},
                                         {"rid", mp::Uint(41)},
                                         {"op", mp::Str("set")},
                                         {"id", mp::Str("entity_1")},
                                         {"state", mp::Str("working")},
                                         {"via", mp::Str("node-b")},
                                         {"forwarded", mp::Bool(true)}})));
  // Not forwarded: the key is left out, and an explicit false means the same.
  r.forwarded = false;
  ExpectRoundTrip(r);
  EXPECT_EQ(Encode(r).find("forwarded"), std::string::npos);
  const std::string explicit_false = mp::Map({{"t", mp::Str("req")},
                                              {"rid", mp::Uint(41)},
                                              {"op", mp::Str("get")},
                                              {"forwarded", mp::Bool(false)}});
  EXPECT_FALSE(DecodeAs<Request>(explicit_false).forwarded);
}

TEST(CodecRoundTrip, WhereAndHistoryRequests) {
  for (Op op : {Op::kWhere, Op::kHistory}) {
    SCOPED_TRACE(std::string(OpName(op)));
    Request r;
    r.request_id = 3;
    r.op = op;
    r.entity_id = "entity_1";
    ExpectRoundTrip(r);
    EXPECT_EQ(DecodeAs<Request>(Encode(r)).op, op);
  }
}

TEST(CodecRoundTrip, HistoryReplyWithTenures) {
  Reply r;
  r.request_id = 6;
  r.tenures = {FullTenure(1_epoch), FullTenure(2_epoch), OpenTenure(3_epoch)};
  r.tenures[1].reason = "lost";
  r.tenures[0].epoch = Epoch{std::numeric_limits<std::uint64_t>::max()};
  ExpectRoundTrip(r);
  const Reply decoded = DecodeAs<Reply>(Encode(r));
  ASSERT_EQ(decoded.tenures.size(), 3u);
  EXPECT_EQ(decoded.tenures[1].reason, "lost");  // Order kept: oldest first.
  EXPECT_TRUE(decoded.tenures[2].released_at.empty());
  EXPECT_FALSE(decoded.entity.has_value());
}

TEST(CodecRoundTrip, HistoryReplyWithExactlyTheMaximumTenures) {
  Reply r;
  r.request_id = 7;
  for (std::size_t i = 0; i < kListRowsMax; ++i) r.tenures.push_back(FullTenure(Epoch{i + 1}));
  ExpectRoundTrip(r);
}

TEST(CodecRoundTrip, LockMessageOfEveryKindWithSeveralItems) {
  for (LockMessage::Kind kind : kAllLockKinds) {
    SCOPED_TRACE(std::string(LockKindName(kind)));
    const LockMessage m = FullLock(kind);
    ExpectRoundTrip(m);
    const LockMessage decoded = DecodeAs<LockMessage>(Encode(m));
    EXPECT_EQ(decoded.kind, kind);
    ASSERT_EQ(decoded.items.size(), 4u);
    EXPECT_EQ(decoded.items[0].holder, "node-b");
    EXPECT_TRUE(decoded.items[1].holder.empty());
    EXPECT_EQ(decoded.items[2].claim.value(), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(decoded.items[0].lapse_ms, 1900u);
    EXPECT_EQ(decoded.items[1].lapse_ms, 0u);  // Left out: not said.
  }
}

TEST(CodecRoundTrip, LockMessageOfEveryKindWithOnlyRequiredFields) {
  for (LockMessage::Kind kind : kAllLockKinds) {
    SCOPED_TRACE(std::string(LockKindName(kind)));
    ExpectRoundTrip(MinimalLock(kind));
    // Every key but an empty `settings` is sent, zero or not; `items` is an
    // empty array.
    EXPECT_EQ(static_cast<unsigned char>(Encode(MinimalLock(kind))[0]), 0x89);
    // A peer that leaves the optional keys out is understood too.
    const LockMessage decoded =
        DecodeAs<LockMessage>(mp::Map({{"t", mp::Str("lock")},
                                       {"kind", mp::Str(LockKindName(kind))},
                                       {"from", mp::Str("v")},
                                       {"from_inc", mp::Uint(1)},
                                       {"to", mp::Str("n")}}));
    EXPECT_EQ(decoded, MinimalLock(kind));
  }
}

TEST(CodecRoundTrip, LockMessageIntegerExtremes) {
  LockMessage m = FullLock(LockMessage::Kind::kGrant);
  m.from_incarnation = Incarnation{std::numeric_limits<std::uint64_t>::max()};
  m.to_incarnation = Incarnation{std::numeric_limits<std::uint64_t>::max()};
  m.seq = std::numeric_limits<std::uint64_t>::max();
  m.sent_ms = std::numeric_limits<std::int64_t>::min();
  ExpectRoundTrip(m);
  m.sent_ms = std::numeric_limits<std::int64_t>::max();
  ExpectRoundTrip(m);
  m.sent_ms = -1;
  ExpectRoundTrip(m);
}

TEST(CodecRoundTrip, LockMessageWithExactlyTheMaximumItems) {
  LockMessage m = MinimalLock(LockMessage::Kind::kClaim);
  for (std::size_t i = 0; i < kListRowsMax; ++i) {
    m.items.push_back({"entity_" + std::to_string(i), ClaimNumber{i}, i % 2 == 0 ? "" : "node-b"});
  }
  ExpectRoundTrip(m);
}

TEST(CodecRoundTrip, BodyOfExactlyTheMaximumSizeIsAccepted) {
  Request r;
  r.request_id = 1;
  r.op = Op::kSet;
  const std::size_t base = Encode(r).size() + mp::Str("state").size();
  // A str32 header is 5 bytes.
  r.state = std::string(kBodyBytesMax - base - 5, 's');
  const std::string body = Encode(r);
  ASSERT_EQ(body.size(), kBodyBytesMax);
  EXPECT_EQ(DecodeAs<Request>(body), r);
}

TEST(CodecNames, OpNamesRoundTrip) {
  for (Op op : kAllOps) EXPECT_EQ(ParseOp(OpName(op)), op);
  EXPECT_EQ(OpName(Op::kGet), "get");
  EXPECT_EQ(OpName(Op::kSet), "set");
  EXPECT_EQ(OpName(Op::kCreate), "create");
  EXPECT_EQ(OpName(Op::kList), "list");
  EXPECT_EQ(OpName(Op::kNodes), "nodes");
  EXPECT_EQ(OpName(Op::kWhere), "where");
  EXPECT_EQ(OpName(Op::kHistory), "history");
  EXPECT_EQ(ParseOp("where"), Op::kWhere);
  EXPECT_EQ(ParseOp("history"), Op::kHistory);
  EXPECT_FALSE(ParseOp("watch").has_value());  // A subscription, not an op.
  EXPECT_FALSE(ParseOp("GET").has_value());
  EXPECT_FALSE(ParseOp("").has_value());
  EXPECT_FALSE(ParseOp("delete").has_value());
}

TEST(CodecNames, EventKindNames) {
  EXPECT_EQ(EventKindName(Event::Kind::kChanged), "changed");
  EXPECT_EQ(EventKindName(Event::Kind::kActivated), "activated");
  EXPECT_EQ(EventKindName(Event::Kind::kPassivated), "passivated");
  EXPECT_EQ(EventKindName(Event::Kind::kNodeUp), "node_up");
  EXPECT_EQ(EventKindName(Event::Kind::kNodeDown), "node_down");
}

TEST(CodecNames, LockKindNames) {
  EXPECT_EQ(LockKindName(LockMessage::Kind::kHbAck), "hb_ack");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kNack), "nack");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kMismatch), "mismatch");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kClaim), "claim");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kGrant), "grant");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kDeny), "deny");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kRelease), "release");
  EXPECT_EQ(LockKindName(LockMessage::Kind::kReleased), "released");
  // Each name decodes back to its kind.
  for (LockMessage::Kind kind : kAllLockKinds) {
    LockMessage m = MinimalLock(kind);
    EXPECT_EQ(DecodeAs<LockMessage>(mp::Map({{"t", mp::Str("lock")},
                                             {"kind", mp::Str(LockKindName(kind))},
                                             {"from", mp::Str("v")},
                                             {"from_inc", mp::Uint(1)},
                                             {"to", mp::Str("n")}}))
                  .kind,
              kind);
  }
}

// ------------------------------------------------------------ exact bytes

// The worked example of docs/PROTOCOL.md; if this changes, so must the doc.
TEST(CodecBytes, GetRequestMatchesTheProtocolDocument) {
  Request r;
  r.request_id = 1;
  r.op = Op::kGet;
  r.entity_id = "entity_1";
  EXPECT_EQ(Hex(Encode(r)),
            "84 a1 74 a3 72 65 71 a3 72 69 64 01 a2 6f 70 a3 67 65 74 a2 69 64 a8 65 6e 74 69 "
            "74 79 5f 31");
}

TEST(CodecBytes, GetReplyMatchesTheProtocolDocument) {
  Reply r;
  r.request_id = 1;
  r.owner = "foo";
  r.entity = EntityView{"entity_1", "working", 2_version, "foo", 1_epoch};
  EXPECT_EQ(Hex(Encode(r)),
            "85 a1 74 a3 72 65 70 a3 72 69 64 01 a4 63 6f 64 65 a2 6f 6b a5 6f 77 6e 65 72 a3 66 "
            "6f 6f a6 65 6e 74 69 74 79 85 a2 69 64 a8 65 6e 74 69 74 79 5f 31 a5 73 74 61 74 65 "
            "a7 77 6f 72 6b 69 6e 67 a7 76 65 72 73 69 6f 6e 02 a5 6f 77 6e 65 72 a3 66 6f 6f a5 "
            "65 70 6f 63 68 01");
}

// The CLAIM example of docs/PROTOCOL.md §10; if this changes, so must the doc.
TEST(CodecBytes, ClaimMatchesTheProtocolDocument) {
  LockMessage m;
  m.kind = LockMessage::Kind::kClaim;
  m.from = "foo";
  m.from_incarnation = 7_inc;
  m.to = "bar";
  m.sent_ms = 1000;
  m.items = {{"entity_1", 3_claim, ""}};
  EXPECT_EQ(Hex(Encode(m)),
            "89 a1 74 a4 6c 6f 63 6b a4 6b 69 6e 64 a5 63 6c 61 69 6d a4 66 72 6f 6d a3 66 6f 6f "
            "a8 66 72 6f 6d 5f 69 6e 63 07 a2 74 6f a3 62 61 72 a6 74 6f 5f 69 6e 63 00 a3 73 65 "
            "71 00 a7 73 65 6e 74 5f 6d 73 cd 03 e8 a5 69 74 65 6d 73 91 82 a4 6e 61 6d 65 a8 65 "
            "6e 74 69 74 79 5f 31 a5 63 6c 61 69 6d 03");
}

TEST(CodecBytes, LockMessageCarriesEveryKeyAndItemsLeaveAnAbsentHolderOut) {
  LockMessage m = MinimalLock(LockMessage::Kind::kDeny);
  m.items = {{"a", 1_claim, "node-b"}, {"b", 2_claim, ""}};
  const std::string expected =
      mp::Map({{"t", mp::Str("lock")},
               {"kind", mp::Str("deny")},
               {"from", mp::Str("v")},
               {"from_inc", mp::Uint(1)},
               {"to", mp::Str("n")},
               {"to_inc", mp::Uint(0)},
               {"seq", mp::Uint(0)},
               {"sent_ms", mp::Int(0)},
               {"items", mp::Array({mp::Map({{"name", mp::Str("a")},
                                             {"claim", mp::Uint(1)},
                                             {"holder", mp::Str("node-b")}}),
                                    mp::Map({{"name", mp::Str("b")}, {"claim", mp::Uint(2)}})})}});
  EXPECT_EQ(Hex(Encode(m)), Hex(expected));
}

TEST(CodecBytes, TenureObjectsCarryAllTheirKeys) {
  Reply r;
  r.request_id = 1;
  r.tenures = {OpenTenure(2_epoch)};
  const std::string expected =
      mp::Map({{"t", mp::Str("rep")},
               {"rid", mp::Uint(1)},
               {"code", mp::Str("ok")},
               {"tenures", mp::Array({mp::Map({{"node", mp::Str("node-b")},
                                               {"epoch", mp::Uint(2)},
                                               {"acquired_at", mp::Str("2024-05-01T12:10:00.300Z")},
                                               {"released_at", mp::Str("")},
                                               {"reason", mp::Str("")}})})}});
  EXPECT_EQ(Hex(Encode(r)), Hex(expected));
}

TEST(CodecBytes, EncodeUsesTheSmallestIntegerAndStringForms) {
  Request r;
  r.request_id = 300;  // uint16
  r.op = Op::kList;
  r.limit = 70000;  // uint32
  const std::string expected = mp::Map({{"t", mp::Str("req")},
                                        {"rid", mp::Byte(0xcd) + mp::BigEndian(300, 2)},
                                        {"op", mp::Str("list")},
                                        {"limit", mp::Byte(0xce) + mp::BigEndian(70000, 4)}});
  EXPECT_EQ(Hex(Encode(r)), Hex(expected));
}

// ------------------------------------------------------------ decoding variants

TEST(CodecDecode, AcceptsFieldsInAnyOrder) {
  const std::string body = mp::Map(
      {{"id", mp::Str("x")}, {"op", mp::Str("get")}, {"rid", mp::Uint(4)}, {"t", mp::Str("req")}});
  Request r = DecodeAs<Request>(body);
  EXPECT_EQ(r.request_id, 4u);
  EXPECT_EQ(r.op, Op::kGet);
  EXPECT_EQ(r.entity_id, "x");
}

TEST(CodecDecode, AcceptsAnyIntegerFormatWhoseValueIsInRange) {
  // Some encoders write every integer as int64 or in a wider form than needed.
  const std::string body = mp::Map({{"t", mp::Str("req")},
                                    {"rid", mp::Int64Format(77)},
                                    {"op", mp::Str("list")},
                                    {"limit", mp::Byte(0xcf) + mp::BigEndian(5, 8)}});
  Request r = DecodeAs<Request>(body);
  EXPECT_EQ(r.request_id, 77u);
  EXPECT_EQ(r.limit, 5u);
}

TEST(CodecDecode, AcceptsWideStringForms) {
  const std::string body = mp::Map({{"t", mp::Byte(0xda) + mp::BigEndian(3, 2) + "req"},
                                    {"rid", mp::Uint(1)},
                                    {"op", mp::Byte(0xdb) + mp::BigEndian(3, 4) + "get"}});
  EXPECT_EQ(DecodeAs<Request>(body).op, Op::kGet);
}

TEST(CodecDecode, IgnoresUnknownKeysOfAnyType) {
  // Forward compatibility: a newer peer may add fields an older one skips.
  const mp::Fields base = {
      {"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str("get")}, {"id", mp::Str("e")}};
  const std::vector<std::string> values = {
      mp::Str("x"),
      mp::Uint(1),
      mp::Int(-1),
      mp::Nil(),
      mp::Bool(true),
      mp::F64(0.5),
      mp::Bin("\x01\x02"),
      mp::Array({mp::Uint(1), mp::Str("two"), mp::Map({{"k", mp::Nil()}})}),
      mp::Map({{"nested", mp::Map({{"deeper", mp::Array({mp::Uint(1)})}})}}),
      mp::Byte(0xd4) + mp::Byte(0x01) + mp::Byte(0x00),  // fixext1
  };
  for (const std::string& value : values) {
    SCOPED_TRACE(Hex(value));
    Request r = DecodeAs<Request>(mp::Map(mp::With(base, "future_field", value)));
    EXPECT_EQ(r.entity_id, "e");
  }
}

TEST(CodecDecode, IgnoresUnknownKeysInsideNestedObjects) {
  const std::string entity = mp::Map({{"id", mp::Str("e")},
                                      {"state", mp::Str("working")},
                                      {"version", mp::Uint(1)},
                                      {"color", mp::Str("blue")}});
  const std::string node = mp::Map({{"id", mp::Str("n")}, {"rack", mp::Uint(3)}});
  const std::string body = mp::Map({{"t", mp::Str("rep")},
                                    {"rid", mp::Uint(1)},
                                    {"code", mp::Str("ok")},
                                    {"entity", entity},
                                    {"entities", mp::Array({entity})},
                                    {"nodes", mp::Array({node})}});
  Reply r = DecodeAs<Reply>(body);
  ASSERT_TRUE(r.entity.has_value());
  EXPECT_EQ(r.entity->id, "e");
  ASSERT_EQ(r.entities.size(), 1u);
  ASSERT_EQ(r.nodes.size(), 1u);
  EXPECT_EQ(r.nodes[0].id, "n");
}

TEST(CodecDecode, IgnoresUnknownKeysInLockBodiesItemsAndTenures) {
  const std::string item = mp::Map(
      {{"name", mp::Str("e")}, {"claim", mp::Uint(2)}, {"lease_hint", mp::Array({mp::Uint(1)})}});
  const std::string lock = mp::Map({{"t", mp::Str("lock")},
                                    {"kind", mp::Str("grant")},
                                    {"from", mp::Str("v")},
                                    {"from_inc", mp::Uint(1)},
                                    {"to", mp::Str("n")},
                                    {"term", mp::Uint(9)},
                                    {"items", mp::Array({item})}});
  const LockMessage m = DecodeAs<LockMessage>(lock);
  ASSERT_EQ(m.items.size(), 1u);
  EXPECT_EQ(m.items[0].name, "e");
  EXPECT_EQ(m.items[0].claim, 2_claim);
  const std::string tenure =
      mp::Map({{"node", mp::Str("n")}, {"epoch", mp::Uint(4)}, {"host", mp::Str("h")}});
  const Reply r = DecodeAs<Reply>(mp::Map({{"t", mp::Str("rep")},
                                           {"rid", mp::Uint(1)},
                                           {"code", mp::Str("ok")},
                                           {"tenures", mp::Array({tenure})}}));
  ASSERT_EQ(r.tenures.size(), 1u);
  EXPECT_EQ(r.tenures[0], (TenureView{"n", 4_epoch, "", "", ""}));
}

TEST(CodecDecode, EmptyListsAreTheSameAsAbsentOnes) {
  const std::string body = mp::Map({{"t", mp::Str("rep")},
                                    {"rid", mp::Uint(1)},
                                    {"code", mp::Str("ok")},
                                    {"entities", mp::Array({})},
                                    {"nodes", mp::Array({})},
                                    {"tenures", mp::Array({})}});
  Reply r = DecodeAs<Reply>(body);
  EXPECT_TRUE(r.entities.empty());
  EXPECT_TRUE(r.nodes.empty());
  EXPECT_TRUE(r.tenures.empty());
}

TEST(CodecDecode, TypeIsDecidedByTheTKeyOnly) {
  // A heartbeat body with request keys mixed in is still a heartbeat.
  const std::string body = mp::Map({{"t", mp::Str("hb")},
                                    {"node", mp::Str("n")},
                                    {"inc", mp::Uint(1)},
                                    {"seq", mp::Uint(2)},
                                    {"sent_ms", mp::Int(-3)},
                                    {"op", mp::Str("get")}});
  Heartbeat h = DecodeAs<Heartbeat>(body);
  EXPECT_EQ(h.sent_ms, -3);
}

// ------------------------------------------------------------ rejections: framing

TEST(CodecReject, EmptyBody) { EXPECT_TRUE(IsBadRequest("")); }

TEST(CodecReject, OversizedBody) {
  // One byte over the limit is refused before any parsing.
  std::string body = Encode(FullRequest(Op::kGet));
  body.resize(kBodyBytesMax + 1, '\0');
  EXPECT_TRUE(IsBadRequest(body));
}

TEST(CodecReject, EveryPrefixOfEveryValidBody) {
  for (const std::string& body : ValidBodies()) {
    ASSERT_TRUE(SafeDecode(body).ok()) << Hex(body);
    for (std::size_t n = 0; n < body.size(); ++n) {
      ASSERT_TRUE(IsBadRequest(std::string_view(body).substr(0, n)))
          << "prefix of " << n << " of " << body.size() << " bytes of " << Hex(body);
    }
  }
}

TEST(CodecReject, EveryPrefixOfAListReply) {
  Reply r;
  r.request_id = 1;
  r.entities = {FullEntity("a"), FullEntity("b")};
  r.nodes = {FullNode("n")};
  const std::string body = Encode(r);
  for (std::size_t n = 0; n < body.size(); ++n) {
    ASSERT_TRUE(IsBadRequest(std::string_view(body).substr(0, n))) << n;
  }
}

TEST(CodecReject, TrailingBytes) {
  for (const std::string& body : ValidBodies()) {
    EXPECT_TRUE(IsBadRequest(body + mp::Nil()));
    EXPECT_TRUE(IsBadRequest(body + body));  // Two messages in one body.
    EXPECT_TRUE(IsBadRequest(body + std::string(1, '\0')));
  }
}

TEST(CodecReject, BodyThatIsNotAMap) {
  const std::vector<std::string> bodies = {
      mp::Nil(),
      mp::Bool(true),
      mp::Uint(1),
      mp::Int(-1),
      mp::F64(1.0),
      mp::Str("req"),
      mp::Bin("x"),
      mp::Array({mp::Str("t"), mp::Str("req")}),
      mp::Array({mp::Map({{"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str("get")}})}),
  };
  for (const std::string& body : bodies) EXPECT_TRUE(IsBadRequest(body)) << Hex(body);
}

TEST(CodecReject, EmptyMap) { EXPECT_TRUE(IsBadRequest(mp::Map({}))); }

TEST(CodecReject, NonStringKey) {
  const std::string valid_fields =
      mp::Str("t") + mp::Str("req") + mp::Str("rid") + mp::Uint(1) + mp::Str("op") + mp::Str("get");
  const std::vector<std::string> keys = {
      mp::Uint(1), mp::Nil(),   mp::Bool(false), mp::Bin("t"), mp::Array({mp::Str("t")}),
      mp::Int(-2), mp::F64(2.0)};
  for (const std::string& key : keys) {
    SCOPED_TRACE(Hex(key));
    EXPECT_TRUE(IsBadRequest(mp::MapHeader(4) + valid_fields + key + mp::Str("x")));
    EXPECT_TRUE(IsBadRequest(mp::MapHeader(4) + key + mp::Str("x") + valid_fields));
  }
}

TEST(CodecReject, NonStringKeyInANestedEntity) {
  const std::string entity = mp::MapHeader(4) + mp::Str("id") + mp::Str("e") + mp::Str("state") +
                             mp::Str("working") + mp::Str("version") + mp::Uint(1) + mp::Uint(9) +
                             mp::Uint(9);
  EXPECT_TRUE(IsBadRequest(mp::Map(
      {{"t", mp::Str("rep")}, {"rid", mp::Uint(1)}, {"code", mp::Str("ok")}, {"entity", entity}})));
}

TEST(CodecReject, HugeDeclaredLengthsWithLittleData) {
  const std::string prefix = mp::MapHeader(4) + mp::Str("t") + mp::Str("req") + mp::Str("rid") +
                             mp::Uint(1) + mp::Str("op") + mp::Str("get") + mp::Str("id");
  const std::vector<std::string> bodies = {
      // Top-level headers claiming 2^32-1 entries.
      mp::Byte(0xdf) + "\xff\xff\xff\xff",
      mp::Byte(0xdf) + "\xff\xff\xff\xff" + mp::Str("t") + mp::Str("req"),
      mp::Byte(0xdd) + "\xff\xff\xff\xff",
      mp::Byte(0xdb) + "\xff\xff\xff\xff" + "abc",
      mp::Byte(0xc6) + "\xff\xff\xff\xff" + "abc",
      mp::Byte(0xc9) + "\xff\xff\xff\xff" + "\x01" + "abc",
      // Inside a valid-looking message.
      prefix + mp::Byte(0xdb) + "\xff\xff\xff\xff" + "entity_1",
      prefix + mp::Byte(0xdf) + "\xff\xff\xff\xff",
      prefix + mp::Byte(0xdd) + "\xff\xff\xff\xff",
      prefix + mp::Byte(0xc6) + "\xff\xff\xff\xff",
      prefix + mp::Byte(0xdd) + mp::BigEndian(65536, 4) + mp::Nil(),
      prefix + mp::Byte(0xde) + "\xff\xff",
      prefix + mp::Byte(0xdc) + "\xff\xff",
      prefix + mp::Byte(0xdb) + mp::BigEndian(kBodyBytesMax + 1, 4) + "x",
  };
  for (const std::string& body : bodies) EXPECT_TRUE(IsBadRequest(body)) << Hex(body);
}

TEST(CodecReject, ArrayClaimingMoreRowsThanItHolds) {
  const std::string entity =
      mp::Map({{"id", mp::Str("e")}, {"state", mp::Str("working")}, {"version", mp::Uint(1)}});
  const std::string body = mp::MapHeader(4) + mp::Str("t") + mp::Str("rep") + mp::Str("rid") +
                           mp::Uint(1) + mp::Str("code") + mp::Str("ok") + mp::Str("entities") +
                           mp::ArrayHeader(kListRowsMax) + entity + entity;
  EXPECT_TRUE(IsBadRequest(body));
}

TEST(CodecReject, ListReplyWithMoreThanTheMaximumRows) {
  Reply r;
  r.request_id = 5;
  r.entities.reserve(kListRowsMax + 1);
  for (std::size_t i = 0; i < kListRowsMax + 1; ++i) {
    r.entities.push_back(EntityView{"e" + std::to_string(i), "working", 1_version, "", 0_epoch});
  }
  const std::string body = Encode(r);
  ASSERT_LE(body.size(), kBodyBytesMax);
  EXPECT_TRUE(IsBadRequest(body));
}

TEST(CodecReject, NodeListWithMoreThanTheMaximumRows) {
  Reply r;
  r.request_id = 5;
  r.nodes.assign(kListRowsMax + 1, NodeView{"n", false, false, 0_inc, 0, 0});
  EXPECT_TRUE(IsBadRequest(Encode(r)));
}

TEST(CodecReject, NestedDepthBombs) {
  // Nesting is bounded; the decoder must refuse deep bodies without recursing
  // (no stack overflow) and without walking them to the end.
  for (unsigned header : {0x91u /* fixarray 1 */, 0x81u /* fixmap 1 */}) {
    SCOPED_TRACE(header);
    std::string bomb;
    for (int i = 0; i < 100000; ++i) {
      bomb += mp::Byte(header);
      if (header == 0x81) bomb += mp::Str("k");
    }
    bomb += mp::Nil();
    EXPECT_TRUE(IsBadRequest(bomb));
    const std::string in_message = mp::MapHeader(4) + mp::Str("t") + mp::Str("req") +
                                   mp::Str("rid") + mp::Uint(1) + mp::Str("op") + mp::Str("get") +
                                   mp::Str("future") + bomb;
    EXPECT_TRUE(IsBadRequest(in_message));
    // Unterminated: the same headers with nothing inside.
    EXPECT_TRUE(IsBadRequest(bomb.substr(0, bomb.size() - 1)));
  }
}

TEST(CodecReject, ModeratelyDeepUnknownFieldIsStillAccepted) {
  // The message map, then three levels inside an unknown key, is within the
  // nesting bound that list replies need (map > array > entity map).
  const std::string nested = mp::Array({mp::Array({mp::Array({mp::Uint(1)})})});
  Request r = DecodeAs<Request>(mp::Map(
      {{"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str("get")}, {"x", nested}}));
  EXPECT_EQ(r.request_id, 1u);
}

TEST(CodecReject, NestingIsBoundedAtSixLevels) {
  // Counting the body's own map (docs/PROTOCOL.md, limits).
  const auto nested = [](int levels) {
    std::string value = mp::Uint(1);
    for (int i = 0; i < levels; ++i) value = mp::Array({value});
    return mp::Map(
        {{"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str("get")}, {"x", value}});
  };
  EXPECT_TRUE(SafeDecode(nested(5)).ok());
  EXPECT_TRUE(IsBadRequest(nested(6)));
}

TEST(CodecReject, MapWithMoreThan64Entries) {
  // A map may hold at most 64 entries (docs/PROTOCOL.md, limits): room for
  // many future fields, but no hashing of thousands of keys per message.
  mp::Fields fields = {{"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str("get")}};
  for (int i = 0; fields.size() < 64; ++i) fields.emplace_back("k" + std::to_string(i), mp::Nil());
  EXPECT_TRUE(SafeDecode(mp::Map(fields)).ok());
  fields.emplace_back("one_more", mp::Nil());
  EXPECT_TRUE(IsBadRequest(mp::Map(fields)));
}

TEST(CodecReject, UnknownMessageType) {
  for (std::string_view t :
       {std::string_view(""), std::string_view("REQ"), std::string_view("request"),
        std::string_view("rep "), std::string_view("claim"), std::string_view("hb\0", 3)}) {
    EXPECT_TRUE(IsBadRequest(mp::Map({{"t", mp::Str(t)}, {"rid", mp::Uint(1)}}))) << t;
  }
}

TEST(CodecReject, UnknownOp) {
  for (std::string_view op : {"", "GET", "delete", "watch", "get ", "forward"}) {
    EXPECT_TRUE(
        IsBadRequest(mp::Map({{"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str(op)}})))
        << op;
  }
}

TEST(CodecReject, UnknownReplyCode) {
  for (std::string_view code : {"", "OK", "error", "not-found", "timeout", "ok\n"}) {
    EXPECT_TRUE(IsBadRequest(
        mp::Map({{"t", mp::Str("rep")}, {"rid", mp::Uint(1)}, {"code", mp::Str(code)}})))
        << code;
  }
}

TEST(CodecReject, UnknownEventKind) {
  for (std::string_view kind : {"", "Changed", "deleted", "node-up", "changed "}) {
    EXPECT_TRUE(IsBadRequest(mp::Map({{"t", mp::Str("ev")}, {"kind", mp::Str(kind)}}))) << kind;
  }
}

TEST(CodecReject, UnknownLockKind) {
  for (std::string_view kind : {"", "HB_ACK", "hb-ack", "ack", "heartbeat", "grant ", "Claim",
                                "releases", "nak", "forward"}) {
    EXPECT_TRUE(IsBadRequest(mp::Map({{"t", mp::Str("lock")},
                                      {"kind", mp::Str(kind)},
                                      {"from", mp::Str("v")},
                                      {"from_inc", mp::Uint(1)},
                                      {"to", mp::Str("n")}})))
        << kind;
  }
}

// ------------------------------------------------------------ rejections: lock bodies

// A valid CLAIM body with one item, as hand-built fields to break one by one.
mp::Fields LockFields(const std::string& items) {
  return {{"t", mp::Str("lock")},    {"kind", mp::Str("claim")}, {"from", mp::Str("node-a")},
          {"from_inc", mp::Uint(5)}, {"to", mp::Str("node-b")},  {"to_inc", mp::Uint(0)},
          {"seq", mp::Uint(0)},      {"sent_ms", mp::Int(1000)}, {"items", items}};
}

std::string ItemMap(const std::string& claim) {
  return mp::Map({{"name", mp::Str("entity_1")}, {"claim", claim}});
}

TEST(CodecLock, HandBuiltBodyIsValid) {
  const LockMessage m =
      DecodeAs<LockMessage>(mp::Map(LockFields(mp::Array({ItemMap(mp::Uint(3))}))));
  EXPECT_EQ(m.kind, LockMessage::Kind::kClaim);
  EXPECT_EQ(m.from, "node-a");
  EXPECT_EQ(m.from_incarnation, 5_inc);
  EXPECT_EQ(m.to, "node-b");
  EXPECT_EQ(m.sent_ms, 1000);
  ASSERT_EQ(m.items.size(), 1u);
  EXPECT_EQ(m.items[0], (LockItem{"entity_1", 3_claim, ""}));
}

TEST(CodecLock, RejectsAMissingKindFromFromIncOrTo) {
  const mp::Fields valid = LockFields(mp::Array({ItemMap(mp::Uint(3))}));
  for (std::string_view key : {"kind", "from", "from_inc", "to"}) {
    EXPECT_TRUE(IsBadRequest(mp::Map(mp::Without(valid, key)))) << key;
  }
  // The others may be left out.
  for (std::string_view key : {"to_inc", "seq", "sent_ms", "items"}) {
    EXPECT_TRUE(SafeDecode(mp::Map(mp::Without(valid, key))).ok()) << key;
  }
}

TEST(CodecLock, RejectsItemsThatAreNotAnArray) {
  for (const std::string& items :
       {mp::Nil(), mp::Map({}), ItemMap(mp::Uint(3)), mp::Str("entity_1"), mp::Uint(1),
        mp::Bin("x"), mp::Bool(true)}) {
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(items)))) << Hex(items);
  }
}

TEST(CodecLock, RejectsAnItemThatIsNotAMap) {
  for (const std::string& item : {mp::Str("entity_1"), mp::Uint(3), mp::Nil(),
                                  mp::Array({mp::Str("entity_1"), mp::Uint(3)}), mp::Bool(false)}) {
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(mp::Array({item}))))) << Hex(item);
    // Also after a valid item: every item is checked, not just the first.
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(mp::Array({ItemMap(mp::Uint(3)), item})))))
        << Hex(item);
  }
}

TEST(CodecLock, RejectsAnItemWithoutNameOrClaim) {
  const std::string no_name = mp::Map({{"claim", mp::Uint(3)}, {"holder", mp::Str("node-b")}});
  const std::string no_claim = mp::Map({{"name", mp::Str("e")}, {"holder", mp::Str("node-b")}});
  for (const std::string& item : {no_name, no_claim, mp::Map({})}) {
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(mp::Array({item}))))) << Hex(item);
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(mp::Array({ItemMap(mp::Uint(1)), item})))))
        << Hex(item);
  }
}

TEST(CodecLock, RejectsAClaimNumberThatIsNotANonNegativeInteger) {
  EXPECT_TRUE(SafeDecode(mp::Map(LockFields(mp::Array({ItemMap(mp::Uint(0))})))).ok());
  for (const std::string& claim :
       {mp::Int(-1), mp::Int(-32), mp::Int(std::numeric_limits<std::int64_t>::min()), mp::F64(3.0),
        mp::Str("3"), mp::Bool(true), mp::Nil(), mp::Array({mp::Uint(3)})}) {
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(mp::Array({ItemMap(claim)}))))) << Hex(claim);
  }
}

TEST(CodecLock, RejectsANonStringNameOrHolder) {
  for (const std::string& bad : {mp::Uint(1), mp::Nil(), mp::Bin("e"), mp::Array({})}) {
    EXPECT_TRUE(IsBadRequest(
        mp::Map(LockFields(mp::Array({mp::Map({{"name", bad}, {"claim", mp::Uint(1)}})})))))
        << Hex(bad);
    EXPECT_TRUE(IsBadRequest(mp::Map(LockFields(
        mp::Array({mp::Map({{"name", mp::Str("e")}, {"claim", mp::Uint(1)}, {"holder", bad}})})))))
        << Hex(bad);
  }
}

TEST(CodecLock, RejectsMoreThanTheMaximumItems) {
  LockMessage m = MinimalLock(LockMessage::Kind::kRelease);
  m.items.assign(kListRowsMax + 1, LockItem{"e", 1_claim, ""});
  const std::string body = Encode(m);
  ASSERT_LE(body.size(), kBodyBytesMax);
  EXPECT_TRUE(IsBadRequest(body));
  m.items.pop_back();
  EXPECT_TRUE(SafeDecode(Encode(m)).ok());
}

TEST(CodecReject, TenureWithoutNodeOrEpoch) {
  const auto history = [](const std::string& tenure) {
    return mp::Map({{"t", mp::Str("rep")},
                    {"rid", mp::Uint(1)},
                    {"code", mp::Str("ok")},
                    {"tenures", mp::Array({tenure})}});
  };
  ASSERT_TRUE(SafeDecode(history(mp::Map({{"node", mp::Str("n")}, {"epoch", mp::Uint(1)}}))).ok());
  EXPECT_TRUE(
      IsBadRequest(history(mp::Map({{"epoch", mp::Uint(1)}, {"reason", mp::Str("lost")}}))));
  EXPECT_TRUE(
      IsBadRequest(history(mp::Map({{"node", mp::Str("n")}, {"reason", mp::Str("lost")}}))));
  EXPECT_TRUE(IsBadRequest(history(mp::Map({}))));
  EXPECT_TRUE(IsBadRequest(history(mp::Str("n"))));
  EXPECT_TRUE(IsBadRequest(mp::Map({{"t", mp::Str("rep")},
                                    {"rid", mp::Uint(1)},
                                    {"code", mp::Str("ok")},
                                    {"tenures", mp::Map({})}})));
}

TEST(CodecReject, HistoryReplyWithMoreThanTheMaximumTenures) {
  Reply r;
  r.request_id = 1;
  r.tenures.assign(kListRowsMax + 1, TenureView{"n", 1_epoch, "", "", ""});
  EXPECT_TRUE(IsBadRequest(Encode(r)));
}

// ------------------------------------------------------------ rejections: fields

// What a field holds, for the table-driven field tests below.
enum class Kind {
  kStr,
  kUint64,
  kUint32,
  kInt64,
  kBool,
  kEntity,
  kEntityArray,
  kNodeArray,
  kTenureArray,
  kLockItemArray,
};

struct FieldSpec {
  std::string key;
  Kind kind;
  bool required;
};

struct ObjectSpec {
  std::string name;
  mp::Fields valid;  // Every field present, valid.
  std::vector<FieldSpec> fields;
};

std::vector<std::string> WrongValuesFor(Kind kind) {
  const std::vector<std::string> common = {mp::Nil(), mp::F64(1.0), mp::Bin("1"), mp::Array({}),
                                           mp::Map({})};
  std::vector<std::string> out = common;
  const auto add = [&out](std::initializer_list<std::string> more) {
    out.insert(out.end(), more.begin(), more.end());
  };
  switch (kind) {
    case Kind::kStr:
      add({mp::Uint(1), mp::Int(-1), mp::Bool(true), mp::Array({mp::Str("x")})});
      break;
    case Kind::kUint64:
      add({mp::Str("1"), mp::Int(-1), mp::Int(std::numeric_limits<std::int64_t>::min()),
           mp::Bool(true)});
      break;
    case Kind::kUint32:
      add({mp::Str("1"), mp::Int(-1), mp::Bool(false), mp::Uint(std::uint64_t{1} << 32),
           mp::Uint(std::numeric_limits<std::uint64_t>::max())});
      break;
    case Kind::kInt64:
      add({mp::Str("-1"), mp::Bool(true), mp::Uint(std::uint64_t{1} << 63),
           mp::Uint(std::numeric_limits<std::uint64_t>::max())});
      break;
    case Kind::kBool:
      add({mp::Uint(0), mp::Uint(1), mp::Str("true"), mp::Int(-1)});
      break;
    case Kind::kEntity:
      add({mp::Str("e"), mp::Uint(1), mp::Bool(true), mp::Array({mp::Map({})})});
      break;
    case Kind::kEntityArray:
    case Kind::kNodeArray:
    case Kind::kTenureArray:
    case Kind::kLockItemArray:
      // Not arrays, or arrays of things that are not objects (or objects
      // missing their required id).
      out = {mp::Nil(),
             mp::F64(1.0),
             mp::Bin("1"),
             mp::Map({}),
             mp::Str("e"),
             mp::Uint(1),
             mp::Array({mp::Str("e")}),
             mp::Array({mp::Nil()}),
             mp::Array({mp::Map({})}),
             mp::Array({mp::Array({})})};
      break;
  }
  return out;
}

std::string EntityMap() {
  return mp::Map({{"id", mp::Str("entity_1")},
                  {"state", mp::Str("working")},
                  {"version", mp::Uint(2)},
                  {"owner", mp::Str("node-a")},
                  {"epoch", mp::Uint(1)}});
}

std::string NodeMap() {
  return mp::Map({{"id", mp::Str("node-a")},
                  {"voter", mp::Bool(true)},
                  {"alive", mp::Bool(true)},
                  {"incarnation", mp::Uint(5)},
                  {"entities", mp::Uint(3)},
                  {"heartbeat_age_ms", mp::Int(-1)}});
}

std::string TenureMap() {
  return mp::Map({{"node", mp::Str("node-a")},
                  {"epoch", mp::Uint(1)},
                  {"acquired_at", mp::Str("2024-05-01T12:00:00.000Z")},
                  {"released_at", mp::Str("2024-05-01T12:10:00.000Z")},
                  {"reason", mp::Str("passivated")}});
}

std::string LockItemMap() {
  return mp::Map(
      {{"name", mp::Str("entity_1")}, {"claim", mp::Uint(3)}, {"holder", mp::Str("node-b")}});
}

std::vector<ObjectSpec> MessageSpecs() {
  return {
      {"req",
       {{"t", mp::Str("req")},
        {"rid", mp::Uint(1)},
        {"op", mp::Str("set")},
        {"id", mp::Str("entity_1")},
        {"state", mp::Str("working")},
        {"expect", mp::Str("initialized")},
        {"if_version", mp::Uint(1)},
        {"limit", mp::Uint(10)},
        {"via", mp::Str("node-a")},
        {"forwarded", mp::Bool(true)}},
       {{"t", Kind::kStr, true},
        {"rid", Kind::kUint64, true},
        {"op", Kind::kStr, true},
        {"id", Kind::kStr, false},
        {"state", Kind::kStr, false},
        {"expect", Kind::kStr, false},
        {"if_version", Kind::kUint64, false},
        {"limit", Kind::kUint32, false},
        {"via", Kind::kStr, false},
        {"forwarded", Kind::kBool, false}}},
      {"rep",
       {{"t", mp::Str("rep")},
        {"rid", mp::Uint(1)},
        {"code", mp::Str("conflict")},
        {"message", mp::Str("m")},
        {"owner", mp::Str("node-a")},
        {"entity", EntityMap()},
        {"entities", mp::Array({EntityMap()})},
        {"nodes", mp::Array({NodeMap()})},
        {"tenures", mp::Array({TenureMap()})},
        {"actual_state", mp::Str("working")},
        {"actual_version", mp::Uint(2)}},
       {{"t", Kind::kStr, true},
        {"rid", Kind::kUint64, true},
        {"code", Kind::kStr, true},
        {"message", Kind::kStr, false},
        {"owner", Kind::kStr, false},
        {"entity", Kind::kEntity, false},
        {"entities", Kind::kEntityArray, false},
        {"nodes", Kind::kNodeArray, false},
        {"tenures", Kind::kTenureArray, false},
        {"actual_state", Kind::kStr, false},
        {"actual_version", Kind::kUint64, false}}},
      {"hb",
       {{"t", mp::Str("hb")},
        {"node", mp::Str("node-a")},
        {"inc", mp::Uint(5)},
        {"seq", mp::Uint(6)},
        {"sent_ms", mp::Int(7)},
        {"voter", mp::Bool(true)},
        {"entities", mp::Uint(8)},
        {"to", mp::Str("node-b")},
        {"settings", mp::Str("voters=node-b lease=2000ms margin=50ms drift=0.01")}},
       {{"t", Kind::kStr, true},
        {"node", Kind::kStr, true},
        {"inc", Kind::kUint64, true},
        {"seq", Kind::kUint64, true},
        {"sent_ms", Kind::kInt64, true},
        {"voter", Kind::kBool, false},
        {"entities", Kind::kUint32, false},
        {"to", Kind::kStr, false},
        {"settings", Kind::kStr, false}}},
      {"ev",
       {{"t", mp::Str("ev")},
        {"kind", mp::Str("changed")},
        {"id", mp::Str("entity_1")},
        {"state", mp::Str("working")},
        {"version", mp::Uint(2)},
        {"epoch", mp::Uint(1)},
        {"node", mp::Str("node-a")},
        {"reason", mp::Str("r")}},
       {{"t", Kind::kStr, true},
        {"kind", Kind::kStr, true},
        {"id", Kind::kStr, false},
        {"state", Kind::kStr, false},
        {"version", Kind::kUint64, false},
        {"epoch", Kind::kUint64, false},
        {"node", Kind::kStr, false},
        {"reason", Kind::kStr, false}}},
      {"lock",
       {{"t", mp::Str("lock")},
        {"kind", mp::Str("deny")},
        {"from", mp::Str("node-b")},
        {"from_inc", mp::Uint(5)},
        {"to", mp::Str("node-a")},
        {"to_inc", mp::Uint(6)},
        {"seq", mp::Uint(7)},
        {"sent_ms", mp::Int(-8)},
        {"items", mp::Array({LockItemMap()})},
        {"settings", mp::Str("voters=node-b lease=2000ms margin=50ms drift=0.01")}},
       {{"t", Kind::kStr, true},
        {"kind", Kind::kStr, true},
        {"from", Kind::kStr, true},
        {"from_inc", Kind::kUint64, true},
        {"to", Kind::kStr, true},
        {"to_inc", Kind::kUint64, false},
        {"seq", Kind::kUint64, false},
        {"sent_ms", Kind::kInt64, false},
        {"items", Kind::kLockItemArray, false},
        {"settings", Kind::kStr, false}}},
  };
}

// The nested objects of a reply, each checked inside every place it can appear.
ObjectSpec EntitySpec() {
  return {"entity",
          {{"id", mp::Str("entity_1")},
           {"state", mp::Str("working")},
           {"version", mp::Uint(2)},
           {"owner", mp::Str("node-a")},
           {"epoch", mp::Uint(1)}},
          {{"id", Kind::kStr, true},
           {"state", Kind::kStr, true},
           {"version", Kind::kUint64, true},
           {"owner", Kind::kStr, false},
           {"epoch", Kind::kUint64, false}}};
}

ObjectSpec NodeSpec() {
  return {"node",
          {{"id", mp::Str("node-a")},
           {"voter", mp::Bool(true)},
           {"alive", mp::Bool(false)},
           {"incarnation", mp::Uint(5)},
           {"entities", mp::Uint(3)},
           {"heartbeat_age_ms", mp::Int(-1)}},
          {{"id", Kind::kStr, true},
           {"voter", Kind::kBool, false},
           {"alive", Kind::kBool, false},
           {"incarnation", Kind::kUint64, false},
           {"entities", Kind::kUint32, false},
           {"heartbeat_age_ms", Kind::kInt64, false}}};
}

ObjectSpec TenureSpec() {
  return {"tenure",
          {{"node", mp::Str("node-a")},
           {"epoch", mp::Uint(1)},
           {"acquired_at", mp::Str("2024-05-01T12:00:00.000Z")},
           {"released_at", mp::Str("")},
           {"reason", mp::Str("")}},
          {{"node", Kind::kStr, true},
           {"epoch", Kind::kUint64, true},
           {"acquired_at", Kind::kStr, false},
           {"released_at", Kind::kStr, false},
           {"reason", Kind::kStr, false}}};
}

ObjectSpec LockItemSpec() {
  return {
      "lock item",
      {{"name", mp::Str("entity_1")}, {"claim", mp::Uint(3)}, {"holder", mp::Str("node-b")}},
      {{"name", Kind::kStr, true}, {"claim", Kind::kUint64, true}, {"holder", Kind::kStr, false}}};
}

// Wraps a nested object's map so that it becomes a whole message body.
using Wrap = std::string (*)(const std::string&);

std::string ReplyWith(const std::string& key, const std::string& value) {
  return mp::Map(
      {{"t", mp::Str("rep")}, {"rid", mp::Uint(1)}, {"code", mp::Str("ok")}, {key, value}});
}
std::string AsEntity(const std::string& m) { return ReplyWith("entity", m); }
std::string AsFirstListRow(const std::string& m) {
  return ReplyWith("entities", mp::Array({EntityMap(), m}));
}
std::string AsNodeRow(const std::string& m) {
  return ReplyWith("nodes", mp::Array({NodeMap(), m}));
}
std::string AsTenureRow(const std::string& m) {
  return ReplyWith("tenures", mp::Array({TenureMap(), m}));
}
std::string AsLockItem(const std::string& m) {
  return mp::Map({{"t", mp::Str("lock")},
                  {"kind", mp::Str("grant")},
                  {"from", mp::Str("@broker")},
                  {"from_inc", mp::Uint(1)},
                  {"to", mp::Str("node-a")},
                  {"items", mp::Array({LockItemMap(), m})}});
}

// For each field: valid as given; rejected when a required one is missing,
// when it has any wrong type, and when its key repeats.
void CheckFields(const ObjectSpec& spec, Wrap wrap) {
  SCOPED_TRACE(spec.name);
  ASSERT_TRUE(SafeDecode(wrap(mp::Map(spec.valid))).ok()) << Hex(wrap(mp::Map(spec.valid)));
  for (const FieldSpec& field : spec.fields) {
    SCOPED_TRACE(field.key);
    const Result<Message> without = SafeDecode(wrap(mp::Map(mp::Without(spec.valid, field.key))));
    if (field.required) {
      EXPECT_FALSE(without.ok()) << "missing required field accepted";
      if (!without.ok()) {
        EXPECT_EQ(without.status().code(), ErrorCode::kBadRequest);
      }
    } else {
      EXPECT_TRUE(without.ok()) << "absent optional field rejected: "
                                << without.status().ToString();
    }
    for (const std::string& wrong : WrongValuesFor(field.kind)) {
      EXPECT_TRUE(IsBadRequest(wrap(mp::Map(mp::With(spec.valid, field.key, wrong)))))
          << "value " << Hex(wrong);
    }
    // The same key twice, with the same valid value both times.
    mp::Fields twice = spec.valid;
    for (const auto& [k, v] : spec.valid) {
      if (k == field.key) twice.emplace_back(k, v);
    }
    EXPECT_TRUE(IsBadRequest(wrap(mp::Map(twice)))) << "duplicate key accepted";
  }
}

std::string Identity(const std::string& body) { return body; }

TEST(CodecFields, EveryMessageFieldIsChecked) {
  for (const ObjectSpec& spec : MessageSpecs()) CheckFields(spec, &Identity);
}

TEST(CodecFields, EveryEntityFieldIsCheckedWhereverAnEntityAppears) {
  CheckFields(EntitySpec(), &AsEntity);
  CheckFields(EntitySpec(), &AsFirstListRow);
}

TEST(CodecFields, EveryNodeFieldIsChecked) { CheckFields(NodeSpec(), &AsNodeRow); }

TEST(CodecFields, EveryTenureFieldIsChecked) { CheckFields(TenureSpec(), &AsTenureRow); }

TEST(CodecFields, EveryLockItemFieldIsChecked) { CheckFields(LockItemSpec(), &AsLockItem); }

TEST(CodecFields, IntegerBoundsAreExact) {
  const auto request_with_limit = [](const std::string& limit) {
    return mp::Map(
        {{"t", mp::Str("req")}, {"rid", mp::Uint(1)}, {"op", mp::Str("list")}, {"limit", limit}});
  };
  EXPECT_EQ(DecodeAs<Request>(request_with_limit(mp::Uint(0xffffffffu))).limit, 0xffffffffu);
  EXPECT_TRUE(IsBadRequest(request_with_limit(mp::Uint(0x100000000u))));
  EXPECT_TRUE(IsBadRequest(request_with_limit(mp::Int(-1))));

  const auto heartbeat_sent = [](const std::string& sent) {
    return mp::Map({{"t", mp::Str("hb")},
                    {"node", mp::Str("n")},
                    {"inc", mp::Uint(1)},
                    {"seq", mp::Uint(1)},
                    {"sent_ms", sent}});
  };
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(DecodeAs<Heartbeat>(heartbeat_sent(mp::Uint(kMax))).sent_ms, kMax);
  EXPECT_EQ(DecodeAs<Heartbeat>(heartbeat_sent(mp::Int(kMin))).sent_ms, kMin);
  EXPECT_TRUE(IsBadRequest(heartbeat_sent(mp::Uint(std::uint64_t{kMax} + 1))));
}

TEST(CodecFields, MissingTIsRejected) {
  EXPECT_TRUE(IsBadRequest(mp::Map({{"rid", mp::Uint(1)}, {"op", mp::Str("get")}})));
}

// ------------------------------------------------------------ mutations

// Whatever a valid body turns into, Decode answers ok or bad_request, and a
// body it accepts re-encodes to a message that decodes the same.
TEST(CodecMutation, RandomMutationsOfValidBodiesNeverCrash) {
  const std::vector<std::string> seeds = ValidBodies();
  std::mt19937_64 rng(0x7e4e5eedULL);  // Fixed: the run is reproducible.
  const auto pick = [&rng](std::size_t n) {
    return static_cast<std::size_t>(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
  };
  // Bytes that steer the parser into its interesting branches.
  const unsigned char interesting[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
                                       0xc2, 0xc3, 0xc4, 0xc7, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xd4,
                                       0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
  constexpr int kMutations = 20000;
  int accepted = 0;
  int rejected = 0;
  for (int i = 0; i < kMutations; ++i) {
    std::string body = seeds[pick(seeds.size())];
    const int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const std::size_t at = pick(body.size());
      switch (pick(6)) {
        case 0:  // Flip one bit.
          body[at] = static_cast<char>(body[at] ^ (1 << pick(8)));
          break;
        case 1:  // Insert a random byte.
          body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(pick(256)));
          break;
        case 2:  // Delete a byte.
          body.erase(at, 1);
          break;
        case 3:  // Truncate.
          body.resize(at);
          break;
        case 4:  // Overwrite with a type or length byte.
          body[at] = static_cast<char>(interesting[pick(sizeof interesting)]);
          break;
        case 5:  // Duplicate a slice.
          body.insert(at, body.substr(pick(body.size()), 1 + pick(8)));
          break;
      }
    }
    const Result<Message> r = SafeDecode(body);
    if (r.ok()) {
      ++accepted;
      const Result<Message> again = SafeDecode(Encode(r.value()));
      ASSERT_TRUE(again.ok()) << "mutation " << i << ": re-encoded body rejected";
      ASSERT_TRUE(again.value() == r.value()) << "mutation " << i << ": re-encoding changed it";
    } else {
      ++rejected;
      ASSERT_EQ(r.status().code(), ErrorCode::kBadRequest)
          << "mutation " << i << ": " << r.status().ToString() << " on " << Hex(body);
    }
  }
  EXPECT_EQ(accepted + rejected, kMutations);
  EXPECT_GT(rejected, kMutations / 2);  // The mutations do reach the error paths.
  EXPECT_GT(accepted, 0);               // ...and some, e.g. flipped string bytes, stay valid.
}

TEST(CodecMutation, RandomBytesNeverCrash) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(1, 64);
  for (int i = 0; i < 20000; ++i) {
    std::string body(length(rng), '\0');
    for (char& c : body) c = static_cast<char>(byte(rng));
    const Result<Message> r = SafeDecode(body);
    if (!r.ok()) {
      ASSERT_EQ(r.status().code(), ErrorCode::kBadRequest) << Hex(body);
    }
  }
}

}  // namespace
}  // namespace tenure::protocol
