#include "tenure/entity/runtime.h"

#include <gtest/gtest.h>

#include "unit/entity/runtime_harness.h"

namespace tenure::entity {
namespace {

using namespace tenure::literals;

using protocol::Op;
using testing::Harness;

TEST(Runtime, CreateThenGetServesTheCommittedRow) {
  Harness h;
  protocol::Reply created = h.Only(h.Send(Op::kCreate, "e1", "working"));
  ASSERT_EQ(created.code, ErrorCode::kOk) << created.message;
  EXPECT_EQ(created.entity->state, "working");
  EXPECT_EQ(created.entity->version, 1_version);
  EXPECT_EQ(created.owner, "n1");

  protocol::Reply got = h.Only(h.Send(Op::kGet, "e1"));
  ASSERT_EQ(got.code, ErrorCode::kOk);
  EXPECT_EQ(got.entity->state, "working");
  EXPECT_EQ(got.entity->epoch, created.entity->epoch);
  ASSERT_EQ(h.Rows().size(), 1u);
  EXPECT_EQ(h.Rows()[0].state, "working");
}

// A new entity's create rides on its activation: one store call, one
// transaction; news of the activation, then of the create.
TEST(Runtime, CreateOfANewEntityIsOneStoreCall) {
  Harness h;
  protocol::Reply created = h.Only(h.Send(Op::kCreate, "e1", "working"));
  ASSERT_EQ(created.code, ErrorCode::kOk) << created.message;
  EXPECT_EQ(created.entity->version, 1_version);
  EXPECT_EQ(created.entity->epoch, 1_epoch);
  EXPECT_EQ(h.store_call_count, 1u);
  EXPECT_EQ(h.store().stats().transactions, 1u);
  ASSERT_EQ(h.events.size(), 2u);
  EXPECT_EQ(h.events[0].kind, protocol::Event::Kind::kActivated);
  EXPECT_EQ(h.events[1].kind, protocol::Event::Kind::kChanged);
  EXPECT_EQ(h.events[1].version, 1_version);
  ASSERT_EQ(h.Tenures("e1").size(), 1u);
  // The requests behind it are served from the cache it filled.
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "e1")).entity->state, "working");
  EXPECT_EQ(h.store_call_count, 1u);
}

// Clients choose request ids, 0 included: the folded create is marked as
// such, not by its id.
TEST(Runtime, AFoldedCreateWithRequestIdZeroIsAnswered) {
  Harness h;
  protocol::Request r;
  r.request_id = 0;
  r.op = Op::kCreate;
  r.entity_id = "e1";
  r.state = "working";
  h.runtime().HandleRequest("client-route", std::move(r), h.now);
  h.Settle();
  ASSERT_EQ(h.replies[0].size(), 1u);
  EXPECT_EQ(h.replies[0][0].code, ErrorCode::kOk);
  EXPECT_EQ(h.replies[0][0].entity->state, "working");
}

TEST(Runtime, CreateOfAnExistingEntityIsAConflictAndChangesNothing) {
  Harness h;
  store::StoreResult missing = h.ApplyDirect(store::ActivateOp{"e1", "n2"});
  ASSERT_TRUE(h.ApplyDirect(store::CreateOp{"e1", "n2", missing.epoch, "working"}).status.ok());
  protocol::Reply r = h.Only(h.Send(Op::kCreate, "e1", "finalized"));
  EXPECT_EQ(r.code, ErrorCode::kConflict);
  EXPECT_EQ(r.actual_state, "working");
  EXPECT_EQ(r.actual_version, 1_version);
  ASSERT_EQ(h.Rows().size(), 1u);
  EXPECT_EQ(h.Rows()[0].state, "working");
  EXPECT_EQ(h.Rows()[0].version, 1_version);
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "e1")).entity->state, "working");
}

// The store may commit the create whatever becomes of the worker: its
// request is never failed with the mailbox, only answered from the result.
TEST(Runtime, AFoldedCreateIsAnsweredFromItsResultWhenTheWorkerIsLostMeanwhile) {
  Harness h;
  h.hold_store = true;
  const std::uint64_t create = h.Send(Op::kCreate, "e1", "working");
  const std::uint64_t get = h.Send(Op::kGet, "e1");
  ASSERT_EQ(h.held.size(), 1u);
  h.runtime().HandleLost("e1", h.now);
  h.Settle();
  EXPECT_EQ(h.Only(get).code, ErrorCode::kUnavailable);
  EXPECT_FALSE(h.Answered(create));
  h.hold_store = false;
  h.RunHeld();
  h.Settle();
  protocol::Reply r = h.Only(create);
  ASSERT_EQ(r.code, ErrorCode::kOk) << "it committed: " << r.message;
  EXPECT_EQ(r.entity->state, "working");
  ASSERT_EQ(h.Rows().size(), 1u);
  EXPECT_EQ(h.runtime().worker_count(), 0u);
}

TEST(Runtime, AFoldedCreateIsAnsweredWhenTheRuleFailsAtItsResult) {
  Harness h;
  h.hold_store = true;
  const std::uint64_t create = h.Send(Op::kCreate, "e1");
  const std::uint64_t get = h.Send(Op::kGet, "e1");
  h.authority.revoked.insert("e1");
  h.hold_store = false;
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(create).code, ErrorCode::kOk);
  EXPECT_EQ(h.Only(get).code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.runtime().worker_count(), 0u);
}

TEST(Runtime, GetOfAnActiveWorkerDoesNotTouchTheStore) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  const std::size_t calls_before = h.store_call_count;
  const std::uint64_t store_ops_before = h.store().stats().ops;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(h.Only(h.Send(Op::kGet, "e1")).code, ErrorCode::kOk);
  }
  EXPECT_EQ(h.store_call_count, calls_before);
  EXPECT_EQ(h.store().stats().ops, store_ops_before);
  EXPECT_EQ(h.runtime().stats().cache_reads, 100u);
  EXPECT_EQ(h.runtime().stats().activations, 1u);
}

TEST(Runtime, WritesThatArriveTogetherShareOneStoreBatch) {
  Harness h;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e" + std::to_string(i))).code, ErrorCode::kOk);
  }
  h.hold_store = true;
  std::vector<std::uint64_t> rids;
  for (int i = 0; i < 8; ++i) {
    rids.push_back(h.Send(Op::kSet, "e" + std::to_string(i), "finalized"));
  }
  ASSERT_EQ(h.held.size(), 8u);
  for (std::uint64_t rid : rids) {
    EXPECT_FALSE(h.Answered(rid)) << "a set must not be answered before its commit";
  }
  const std::uint64_t transactions_before = h.store().stats().transactions;
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.store().stats().transactions, transactions_before + 1);
  for (std::uint64_t rid : rids) {
    EXPECT_EQ(h.Only(rid).code, ErrorCode::kOk);
  }
}

TEST(Runtime, OneWriteInFlightPerWorker) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.hold_store = true;
  const std::uint64_t first = h.Send(Op::kSet, "e1", "working");
  const std::uint64_t second = h.Send(Op::kSet, "e1", "finalized");
  const std::uint64_t read = h.Send(Op::kGet, "e1");
  ASSERT_EQ(h.held.size(), 1u) << "the second set waits for the first";
  EXPECT_FALSE(h.Answered(read)) << "a get waits behind a write (turn-based)";
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(first).entity->version, 2_version);
  ASSERT_EQ(h.held.size(), 1u);
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(second).entity->version, 3_version);
  EXPECT_EQ(h.Only(read).entity->state, "finalized");
}

TEST(Runtime, FullMailboxAnswersBusy) {
  Harness h;  // mailbox_depth_max = 4
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.hold_store = true;
  h.Send(Op::kSet, "e1", "working");  // In flight, not queued.
  std::vector<std::uint64_t> queued;
  for (int i = 0; i < 4; ++i) {
    queued.push_back(h.Send(Op::kGet, "e1"));
  }
  const std::uint64_t refused = h.Send(Op::kGet, "e1");
  EXPECT_EQ(h.Only(refused).code, ErrorCode::kBusy);
  EXPECT_EQ(h.runtime().stats().busy_replies, 1u);
  h.RunHeld();
  h.Settle();
  for (std::uint64_t rid : queued) {
    EXPECT_EQ(h.Only(rid).code, ErrorCode::kOk);
  }
}

TEST(Runtime, HandlerThatThrowsRestartsTheWorkerFromTheStore) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "bad", "working")).code, ErrorCode::kOk);
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "good")).code, ErrorCode::kOk);
  h.handler.faulty.insert("bad");
  protocol::Reply failed = h.Only(h.Send(Op::kSet, "bad", "finalized"));
  EXPECT_EQ(failed.code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.message.find("injected fault"), std::string::npos) << failed.message;
  EXPECT_EQ(h.runtime().stats().restarts, 1u);
  h.handler.faulty.clear();
  protocol::Reply after = h.Only(h.Send(Op::kGet, "bad"));
  ASSERT_EQ(after.code, ErrorCode::kOk);
  EXPECT_EQ(after.entity->state, "working") << "nothing was written by the failed request";
  EXPECT_GT(after.entity->epoch, failed.entity ? failed.entity->epoch : 1_epoch);
  EXPECT_EQ(h.Only(h.Send(Op::kSet, "good", "working")).code, ErrorCode::kOk);
}

TEST(Runtime, FencedWriteReactivatesWhileTheNodeMayServe) {
  Harness h;
  protocol::Reply created = h.Only(h.Send(Op::kCreate, "e1"));
  ASSERT_EQ(created.code, ErrorCode::kOk);
  // A late activation (another node) moves the epoch under the worker.
  ASSERT_TRUE(h.ApplyDirect(store::ActivateOp{"e1", "n2"}).status.ok());
  protocol::Reply fenced = h.Only(h.Send(Op::kSet, "e1", "finalized"));
  EXPECT_EQ(fenced.code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.Rows()[0].state, "initialized") << "a fenced write changes nothing";
  protocol::Reply retried = h.Only(h.Send(Op::kSet, "e1", "finalized"));
  ASSERT_EQ(retried.code, ErrorCode::kOk) << retried.message;
  EXPECT_EQ(retried.entity->epoch, Next(Next(created.entity->epoch)));
  EXPECT_EQ(h.Rows()[0].owner_node, "n1");
}

TEST(Runtime, FencedWriteStopsTheWorkerWhenTheNodeMayNotServe) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  ASSERT_TRUE(h.ApplyDirect(store::ActivateOp{"e1", "n2"}).status.ok());
  h.hold_store = true;
  const std::uint64_t rid = h.Send(Op::kSet, "e1", "finalized");
  h.authority.revoked.insert("e1");  // Revoked while the write was in flight.
  h.hold_store = false;
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(rid).code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.runtime().worker_count(), 0u);
}

TEST(Runtime, EveryRequestChecksTheAuthorityBeforeAnsweringFromTheCache) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.authority.revoked.insert("e1");
  protocol::Reply refused = h.Only(h.Send(Op::kGet, "e1"));
  EXPECT_EQ(refused.code, ErrorCode::kUnavailable);
  EXPECT_FALSE(refused.entity.has_value());
  EXPECT_EQ(h.runtime().worker_count(), 0u) << "the worker stops at once";
}

TEST(Runtime, LostOwnershipFailsTheMailboxButAnswersTheWriteInFlightFromItsResult) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.hold_store = true;
  const std::uint64_t write = h.Send(Op::kSet, "e1", "working");
  const std::uint64_t queued = h.Send(Op::kGet, "e1");
  h.runtime().HandleLost("e1", h.now);
  h.Settle();
  EXPECT_EQ(h.Only(queued).code, ErrorCode::kUnavailable);
  EXPECT_FALSE(h.Answered(write));
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(write).code, ErrorCode::kOk) << "it committed under a valid epoch";
  EXPECT_EQ(h.runtime().worker_count(), 0u);
}

TEST(Runtime, ActivationThatCompletesAfterALossIsDiscarded) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.runtime().HandleLost("e1", h.now);
  h.Settle();
  h.hold_store = true;
  const std::uint64_t rid = h.Send(Op::kGet, "e1");  // Claims and activates again.
  ASSERT_EQ(h.held.size(), 1u);
  h.runtime().HandleLost("e1", h.now);  // The rule broke before the row came back.
  h.hold_store = false;
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(rid).code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.runtime().worker_count(), 0u);
}

TEST(Runtime, IdleWorkerIsPassivatedAndItsTenureClosed) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  ASSERT_TRUE(h.runtime().NextDeadline().has_value());
  EXPECT_EQ(*h.runtime().NextDeadline(), h.now + std::chrono::seconds(60));
  h.now += std::chrono::seconds(59);
  h.runtime().Tick(h.now);
  h.Settle();
  EXPECT_EQ(h.runtime().worker_count(), 1u);
  h.now += std::chrono::seconds(1);
  h.runtime().Tick(h.now);
  h.Settle();
  EXPECT_EQ(h.runtime().worker_count(), 0u);
  EXPECT_EQ(h.releases, std::vector<EntityId>{"e1"});
  std::vector<store::TenureRow> tenures = h.Tenures("e1");
  ASSERT_EQ(tenures.size(), 1u);
  EXPECT_EQ(tenures[0].reason, "passivated");
  EXPECT_EQ(h.Rows()[0].owner_node, "");
  // The next request activates again, with a new epoch.
  protocol::Reply again = h.Only(h.Send(Op::kGet, "e1"));
  EXPECT_EQ(again.entity->epoch, Next(tenures[0].epoch));
}

TEST(Runtime, UsedWorkerIsNotPassivated) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  for (int i = 0; i < 5; ++i) {
    h.now += std::chrono::seconds(30);
    ASSERT_EQ(h.Only(h.Send(Op::kGet, "e1")).code, ErrorCode::kOk);
    h.runtime().Tick(h.now);
    h.Settle();
  }
  EXPECT_EQ(h.runtime().worker_count(), 1u);
}

TEST(Runtime, DrainFinishesWritesRefusesNewRequestsAndClosesTenures) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e2")).code, ErrorCode::kOk);
  h.hold_store = true;
  const std::uint64_t write = h.Send(Op::kSet, "e1", "finalized");
  h.runtime().BeginDrain(h.now);
  h.Settle();
  const std::uint64_t late = h.Send(Op::kGet, "e2");
  EXPECT_EQ(h.Only(late).code, ErrorCode::kUnavailable);
  EXPECT_FALSE(h.runtime().Drained());
  h.hold_store = false;
  h.RunHeld();
  h.Settle();
  EXPECT_EQ(h.Only(write).code, ErrorCode::kOk);
  EXPECT_TRUE(h.runtime().Drained());
  EXPECT_EQ(h.Tenures("e1").back().reason, "shutdown");
  EXPECT_EQ(h.Tenures("e2").back().reason, "shutdown");
  EXPECT_EQ(h.Rows()[0].state, "finalized");
}

TEST(Runtime, UnknownIdIsNotFoundAndWritesNothing) {
  Harness h;
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "ghost")).code, ErrorCode::kNotFound);
  EXPECT_EQ(h.Only(h.Send(Op::kSet, "ghost", "working")).code, ErrorCode::kNotFound);
  EXPECT_TRUE(h.Rows().empty());
  EXPECT_TRUE(h.Tenures("ghost").empty());
  EXPECT_EQ(h.runtime().worker_count(), 0u) << "absence is not cached";
  EXPECT_EQ(h.releases.size(), 2u);
}

TEST(Runtime, AbsenceIsNotCachedSoALaterCreateIsSeen) {
  Harness h;
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "e1")).code, ErrorCode::kNotFound);
  // Created behind this node's back (for example by a node that owned it later).
  store::StoreResult missing = h.ApplyDirect(store::ActivateOp{"e1", "n2"});
  ASSERT_TRUE(h.ApplyDirect(store::CreateOp{"e1", "n2", missing.epoch, "working"}).status.ok());
  protocol::Reply got = h.Only(h.Send(Op::kGet, "e1"));
  ASSERT_EQ(got.code, ErrorCode::kOk);
  EXPECT_EQ(got.entity->state, "working");
}

TEST(Runtime, BadInputIsRefusedBeforeAnyWork) {
  Harness h;
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "")).code, ErrorCode::kBadRequest);
  EXPECT_EQ(h.Only(h.Send(Op::kGet, std::string(256, 'x'))).code, ErrorCode::kBadRequest);
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "a\nb")).code, ErrorCode::kBadRequest);
  protocol::Reply bad_state = h.Only(h.Send(Op::kCreate, "e1", "sleeping"));
  EXPECT_EQ(bad_state.code, ErrorCode::kInvalidState);
  EXPECT_NE(bad_state.message.find("initialized, working, finalized"), std::string::npos);
  EXPECT_EQ(h.Only(h.Send(Op::kSet, "e1", "working", "sleeping")).code, ErrorCode::kInvalidState);
  EXPECT_EQ(h.Only(h.Send(Op::kSet, "e1", "")).code, ErrorCode::kBadRequest);
  EXPECT_EQ(h.Only(h.Send(Op::kNodes, "")).code, ErrorCode::kBadRequest);
  EXPECT_EQ(h.store_call_count, 0u);
  EXPECT_TRUE(h.Rows().empty());
}

TEST(Runtime, CompareAndSetConflictsCarryTheActualState) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1", "working")).code, ErrorCode::kOk);
  protocol::Reply wrong_state = h.Only(h.Send(Op::kSet, "e1", "finalized", "initialized"));
  EXPECT_EQ(wrong_state.code, ErrorCode::kConflict);
  EXPECT_EQ(wrong_state.actual_state, "working");
  protocol::Request stale;
  stale.op = Op::kSet;
  stale.entity_id = "e1";
  stale.state = "finalized";
  stale.if_version = 7_version;
  protocol::Reply wrong_version = h.Only(h.Send(stale));
  EXPECT_EQ(wrong_version.code, ErrorCode::kConflict);
  EXPECT_EQ(wrong_version.actual_version, 1_version);
  EXPECT_EQ(h.Rows()[0].version, 1_version) << "no conflict writes";
  stale.request_id = 0;
  stale.if_version = 1_version;
  stale.expect = "working";
  EXPECT_EQ(h.Only(h.Send(stale)).entity->version, 2_version);
  protocol::Reply dup = h.Only(h.Send(Op::kCreate, "e1"));
  EXPECT_EQ(dup.code, ErrorCode::kConflict);
  EXPECT_EQ(dup.actual_state, "finalized");
}

TEST(Runtime, RequestsThatArriveDuringAReleaseStartANewTenure) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.hold_store = true;
  h.now += std::chrono::seconds(60);
  h.runtime().Tick(h.now);
  h.Settle();
  ASSERT_EQ(h.held.size(), 1u);  // The CloseTenureOp.
  const std::uint64_t rid = h.Send(Op::kGet, "e1");
  EXPECT_FALSE(h.Answered(rid));
  h.hold_store = false;
  h.RunHeld();
  h.Settle();
  ASSERT_EQ(h.Only(rid).code, ErrorCode::kOk);
  EXPECT_EQ(h.runtime().worker_count(), 1u);
  std::vector<store::TenureRow> tenures = h.Tenures("e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].reason, "passivated");
  EXPECT_TRUE(tenures[1].released_at.empty());
}

TEST(Runtime, ListReadsTheStoreInIdOrder) {
  Harness h;
  for (const char* id : {"b", "a", "c"}) {
    ASSERT_EQ(h.Only(h.Send(Op::kCreate, id)).code, ErrorCode::kOk);
  }
  protocol::Request list;
  list.op = Op::kList;
  list.limit = 2;
  protocol::Reply page = h.Only(h.Send(list));
  ASSERT_EQ(page.entities.size(), 2u);
  EXPECT_EQ(page.entities[0].id, "a");
  EXPECT_EQ(page.entities[1].id, "b");
  list.request_id = 0;
  list.entity_id = "b";  // Start after "b".
  protocol::Reply rest = h.Only(h.Send(list));
  ASSERT_EQ(rest.entities.size(), 1u);
  EXPECT_EQ(rest.entities[0].id, "c");
}

TEST(Runtime, StoreReopenedMakesEveryCachedWorkerReadTheStoreAgain) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1", "working")).code, ErrorCode::kOk);
  // The database changes under the cache, as when another copy is put back.
  ASSERT_TRUE(
      h
          .ApplyDirect(store::WriteOp{
              .id = "e1", .epoch = 1_epoch, .expected_version = 1_version, .state = "finalized"})
          .status.ok());
  EXPECT_EQ(h.Only(h.Send(Op::kGet, "e1")).entity->state, "working") << "served from the cache";

  h.runtime().HandleStoreReopened(h.now);
  h.Settle();
  protocol::Reply got = h.Only(h.Send(Op::kGet, "e1"));
  ASSERT_EQ(got.code, ErrorCode::kOk) << got.message;
  EXPECT_EQ(got.entity->state, "finalized");
  EXPECT_EQ(got.entity->version, 2_version);
  EXPECT_EQ(got.entity->epoch, 2_epoch) << "a new tenure";
  EXPECT_EQ(h.runtime().stats().restarts, 1u);
}

TEST(Runtime, StoreReopenedDiscardsResultsInFlightButAnswersTheirRequests) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  h.hold_store = true;
  const std::uint64_t set = h.Send(Op::kSet, "e1", "working");
  ASSERT_EQ(h.held.size(), 1u);
  h.runtime().HandleStoreReopened(h.now);
  h.Settle();
  ASSERT_EQ(h.held.size(), 2u) << "the write in flight, then the new activation";
  h.RunHeld();
  h.hold_store = false;
  h.Settle();
  EXPECT_EQ(h.Only(set).code, ErrorCode::kOk);
  protocol::Reply got = h.Only(h.Send(Op::kGet, "e1"));
  EXPECT_EQ(got.entity->version, 2_version) << "the activation read what the write committed";
  EXPECT_EQ(got.entity->epoch, 2_epoch);
}

TEST(Runtime, StoreReopenedStopsWorkersThisNodeMayNoLongerServe) {
  Harness h;
  ASSERT_EQ(h.Only(h.Send(Op::kCreate, "e1")).code, ErrorCode::kOk);
  const std::size_t calls = h.store_call_count;
  h.authority.revoked.insert("e1");
  h.runtime().HandleStoreReopened(h.now);
  h.Settle();
  EXPECT_EQ(h.runtime().worker_count(), 0u);
  EXPECT_EQ(h.store_call_count, calls) << "no release under an epoch of the old file";
}

}  // namespace
}  // namespace tenure::entity
