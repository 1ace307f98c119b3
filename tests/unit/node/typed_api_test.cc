// The counters and the ids keep their types through the interfaces that carry
// them (the wire structs, the store's ops and rows, the lock and routing
// cores, the runtime), so that handing one where another belongs fails to
// compile (DESIGN §2). These are compile-time checks: the test binary builds
// only if they hold.
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include "tenure/base/strong_id.h"
#include "tenure/entity/runtime.h"
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
// ...and names its entity and node with their own types.
static_assert(kIs<decltype(store::ActivateOp::id), EntityId>);
static_assert(kIs<decltype(store::ActivateOp::node), NodeId>);
static_assert(kIs<decltype(store::CreateOp::node), NodeId>);
static_assert(kIs<decltype(store::ListOp::after), EntityId>);
static_assert(kIs<decltype(store::EntityRow::id), EntityId>);
static_assert(kIs<decltype(store::EntityRow::owner_node), NodeId>);
static_assert(kIs<decltype(store::TenureRow::node), NodeId>);
static_assert(!std::is_assignable_v<decltype(store::ActivateOp::node)&, EntityId>);
static_assert(!std::is_assignable_v<decltype(store::ActivateOp::id)&, NodeId>);
static_assert(!std::is_assignable_v<decltype(store::WriteOp::id)&, std::string>);

// The lock cores and the broker's routing.
static_assert(kIs<decltype(lock::Holder::claim), ClaimNumber>);
static_assert(kIs<decltype(lock::Holder::incarnation), Incarnation>);
static_assert(kIs<decltype(lock::ClaimantOptions::incarnation), Incarnation>);
static_assert(kIs<decltype(lock::Holder::node), NodeId>);
static_assert(kIs<decltype(lock::ClaimantOptions::node_id), NodeId>);
static_assert(kIs<decltype(lock::LockEvent::name), EntityId>);
static_assert(kIs<decltype(lock::LockEvent::holder), NodeId>);
static_assert(std::is_invocable_v<decltype(&lock::Voter::HasSession), const lock::Voter&,
                                  const NodeId&, Incarnation, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&lock::Voter::HasSession), const lock::Voter&,
                                   const NodeId&, ClaimNumber, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&lock::Voter::HasSession), const lock::Voter&,
                                   const EntityId&, Incarnation, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&lock::Voter::HasSession), const lock::Voter&,
                                   const std::string&, Incarnation, TimePoint>);
static_assert(
    std::is_invocable_v<decltype(&lock::Voter::HolderOf), const lock::Voter&, const EntityId&>);
static_assert(
    !std::is_invocable_v<decltype(&lock::Voter::HolderOf), const lock::Voter&, const NodeId&>);
static_assert(std::is_invocable_v<decltype(&lock::Claimant::Claim), lock::Claimant&,
                                  const EntityId&, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&lock::Claimant::Claim), lock::Claimant&, const NodeId&,
                                   TimePoint>);
static_assert(!std::is_invocable_v<decltype(&lock::Claimant::Claim), lock::Claimant&,
                                   const std::string&, TimePoint>);
static_assert(std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                  const broker::RouterCore&, const NodeId&, Incarnation>);
static_assert(!std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                   const broker::RouterCore&, const NodeId&, Epoch>);
static_assert(!std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                   const broker::RouterCore&, const NodeId&, std::uint64_t>);
static_assert(!std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                   const broker::RouterCore&, const EntityId&, Incarnation>);
static_assert(!std::is_invocable_v<decltype(&broker::RouterCore::RouteOfNode),
                                   const broker::RouterCore&, const std::string&, Incarnation>);

// The runtime: lock decisions name an entity, and the holder a node.
static_assert(kIs<decltype(entity::RuntimeOptions::node_id), NodeId>);
static_assert(kIs<decltype(entity::Effects::claims), std::vector<EntityId>>);
static_assert(std::is_invocable_v<decltype(&entity::Runtime::HandleDenied), entity::Runtime&,
                                  const EntityId&, const NodeId&, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&entity::Runtime::HandleDenied), entity::Runtime&,
                                   const NodeId&, const EntityId&, TimePoint>);
static_assert(!std::is_invocable_v<decltype(&entity::Runtime::HandleGranted), entity::Runtime&,
                                   const NodeId&, TimePoint>);

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
