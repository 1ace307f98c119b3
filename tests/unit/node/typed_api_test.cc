// The counters keep their types through the interfaces that carry them (the
// wire structs, the store's ops and rows, the lock and routing cores), so
// that handing one where another belongs fails to compile (DESIGN §2). These
// are compile-time checks: the test binary builds only if they hold.
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "tenure/base/strong_id.h"
#include "tenure/lock/claimant.h"
#include "tenure/lock/voter.h"
#include "tenure/protocol/messages.h"
#include "tenure/router/router_core.h"
#include "tenure/store/store.h"

namespace tenure {
namespace {

template <typename Field, typename Want>
constexpr bool kIs = std::is_same_v<Field, Want>;

// The wire structs.
static_assert(kIs<decltype(protocol::EntityView::version), Version>);
static_assert(kIs<decltype(protocol::EntityView::epoch), Epoch>);
static_assert(kIs<decltype(protocol::Heartbeat::incarnation), Incarnation>);
static_assert(kIs<decltype(protocol::LockItem::claim), ClaimNumber>);
static_assert(kIs<decltype(protocol::LockMessage::to_incarnation), Incarnation>);
static_assert(kIs<decltype(protocol::Request::if_version), std::optional<Version>>);

// The store: a write carries an epoch and a version, and they do not swap.
static_assert(kIs<decltype(store::WriteOp::epoch), Epoch>);
static_assert(kIs<decltype(store::WriteOp::expected_version), Version>);
static_assert(!std::is_assignable_v<decltype(store::WriteOp::expected_version)&, Epoch>);
static_assert(!std::is_assignable_v<decltype(store::WriteOp::epoch)&, Version>);
static_assert(!std::is_assignable_v<decltype(store::WriteOp::epoch)&, std::uint64_t>);
static_assert(kIs<decltype(store::EntityRow::owner_epoch), Epoch>);
static_assert(kIs<decltype(store::Job::generation), StoreGeneration>);

// The lock cores and the broker's routing.
static_assert(kIs<decltype(lock::Holder::claim), ClaimNumber>);
static_assert(kIs<decltype(lock::Holder::incarnation), Incarnation>);
static_assert(kIs<decltype(lock::ClaimantOptions::incarnation), Incarnation>);
static_assert(std::is_invocable_v<decltype(&lock::Voter::HasSession), const lock::Voter&,
                                  const std::string&, Incarnation, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&lock::Voter::HasSession), const lock::Voter&,
                                   const std::string&, ClaimNumber, TimePoint>);
static_assert(std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                  const broker::RouterCore&, const std::string&, Incarnation>);
static_assert(!std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                   const broker::RouterCore&, const std::string&, Epoch>);
static_assert(!std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                   const broker::RouterCore&, const std::string&, std::uint64_t>);

TEST(TypedApi, LiteralsNameTheirType) {
  using namespace tenure::literals;
  EXPECT_EQ(3_epoch, Epoch(3));
  EXPECT_EQ(7_version, Version(7));
  EXPECT_EQ(2_claim, ClaimNumber(2));
  EXPECT_EQ(5_inc, Incarnation(5));
  static_assert(kIs<decltype(3_epoch), Epoch>);
}

}  // namespace
}  // namespace tenure
