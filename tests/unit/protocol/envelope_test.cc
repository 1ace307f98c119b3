// Tests of the frame envelope (tenure/protocol/envelope.h): which frame lists
// are accepted, and that every malformed one is refused as bad_request.
#include "tenure/protocol/envelope.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tenure/protocol/codec.h"

namespace tenure::protocol {
namespace {

using namespace tenure::literals;

using Frames = std::vector<std::string_view>;

const std::string kBody = "\x81\xa1t\xa2hb";  // Any bytes: the envelope does not decode.

void ExpectBadRequest(const Frames& frames) {
  Result<Envelope> r = ParseEnvelope(frames);
  ASSERT_FALSE(r.ok()) << "accepted " << frames.size() << " frames";
  EXPECT_EQ(r.status().code(), ErrorCode::kBadRequest);
  EXPECT_FALSE(r.status().message().empty());
}

TEST(Envelope, SignatureIsTNR1) { EXPECT_EQ(kSignature, "TNR1"); }

TEST(Envelope, TwoFramesCarryABodyWithoutRoute) {
  Result<Envelope> r = ParseEnvelope({kSignature, kBody});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, kBody);
  EXPECT_TRUE(r->route.empty());
}

TEST(Envelope, ThreeFramesCarryABodyAndARoute) {
  // A ROUTER identity is opaque binary, often starting with a zero byte.
  const std::string route("\x00\x80\x00\x41\xa7", 5);
  Result<Envelope> r = ParseEnvelope({kSignature, kBody, route});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, kBody);
  EXPECT_EQ(r->route, route);
}

// The hot path copies nothing: body and route are views of the frames.
TEST(Envelope, ViewsTheFramesWithoutCopying) {
  const std::string body = kBody;
  const std::string route = "client-7";
  Result<Envelope> r = ParseEnvelope({kSignature, body, route});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.data(), body.data());
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_EQ(r->route.data(), route.data());
  EXPECT_EQ(r->route, "client-7");
}

TEST(Envelope, RejectsWrongFrameCounts) {
  ExpectBadRequest({});
  ExpectBadRequest({kSignature});
  ExpectBadRequest({kSignature, kBody, "route", "extra"});
  ExpectBadRequest({kSignature, kBody, "route", "extra", "more", "and more"});
}

TEST(Envelope, RejectsAWrongSignature) {
  for (std::string_view signature :
       {std::string_view(""), std::string_view("TNR"), std::string_view("TNR2"),
        std::string_view("tnr1"), std::string_view("TNR1 "), std::string_view("TNR1\0", 5),
        std::string_view("MDPC01")}) {
    SCOPED_TRACE(std::string(signature));
    ExpectBadRequest({signature, kBody});
    ExpectBadRequest({signature, kBody, "route"});
  }
}

TEST(Envelope, RejectsFramesInTheWrongOrder) {
  ExpectBadRequest({kBody, kSignature});
  ExpectBadRequest({"route", kSignature, kBody});  // A ROUTER identity left in front.
}

TEST(Envelope, BodySizeBounds) {
  ExpectBadRequest({kSignature, ""});
  ExpectBadRequest({kSignature, "", "route"});
  const std::string largest(kBodyBytesMax, 'b');
  EXPECT_TRUE(ParseEnvelope({kSignature, largest}).ok());
  const std::string too_large(kBodyBytesMax + 1, 'b');
  ExpectBadRequest({kSignature, too_large});
  ExpectBadRequest({kSignature, too_large, "route"});
}

TEST(Envelope, RouteSizeBounds) {
  ExpectBadRequest({kSignature, kBody, ""});
  EXPECT_TRUE(ParseEnvelope({kSignature, kBody, "r"}).ok());
  const std::string largest(kRouteBytesMax, 'r');
  Result<Envelope> r = ParseEnvelope({kSignature, kBody, largest});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->route, largest);
  const std::string too_large(kRouteBytesMax + 1, 'r');
  ExpectBadRequest({kSignature, kBody, too_large});
}

TEST(Envelope, CarriesAnEncodedMessageUnchanged) {
  Request request;
  request.request_id = 12;
  request.op = Op::kGet;
  request.entity_id = "entity_1";
  const std::string body = Encode(request);
  Result<Envelope> env = ParseEnvelope({kSignature, body, "client"});
  ASSERT_TRUE(env.ok());
  Result<Message> decoded = Decode(env->body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(std::get<Request>(decoded.value()), request);
}

// The frames of docs/PROTOCOL.md §10: a node forwards [TNR1, req, client
// route]; lock traffic is [TNR1, lock] with no route.
TEST(Envelope, CarriesAForwardedRequestWithItsClientRouteAndLockTrafficWithout) {
  Request forwarded;
  forwarded.request_id = 9;
  forwarded.op = Op::kSet;
  forwarded.entity_id = "entity_1";
  forwarded.state = "working";
  forwarded.via = "node-b";
  forwarded.forwarded = true;
  const std::string client_route("\x00\x6b\x8b\x45\x67", 5);
  const std::string request_body = Encode(forwarded);
  Result<Envelope> env = ParseEnvelope({kSignature, request_body, client_route});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->route, client_route);
  Result<Message> decoded = Decode(env->body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(std::get<Request>(decoded.value()), forwarded);

  LockMessage claim;
  claim.kind = LockMessage::Kind::kClaim;
  claim.from = "node-a";
  claim.from_incarnation = 5_inc;
  claim.to = "@broker";
  claim.items = {{"entity_1", 1_claim, ""}};
  const std::string lock_body = Encode(claim);
  env = ParseEnvelope({kSignature, lock_body});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_TRUE(env->route.empty());
  decoded = Decode(env->body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(std::get<LockMessage>(decoded.value()), claim);
}

}  // namespace
}  // namespace tenure::protocol
