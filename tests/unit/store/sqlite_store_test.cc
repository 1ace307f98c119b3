// The SQLite Store: epochs, fencing, tenure history, batches and opening.
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tenure/base/status.h"
#include "tenure/store/store.h"

#include "unit/store/store_test_util.h"
#include <sys/stat.h>
#include <unistd.h>

namespace tenure::store {
namespace {

using namespace tenure::literals;

using testing::ApplyOne;
using testing::MustOpen;
using testing::RawQuery;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

// Activates `id` on `node` and returns the new epoch.
Epoch Activate(Store& store, const EntityId& id, const NodeId& node) {
  StoreResult result = ApplyOne(store, ActivateOp{.id = id, .node = node});
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  return result.epoch;
}

// Activates `id` on `node` and creates it in `state`; returns the epoch the
// create opened.
Epoch ActivateAndCreate(Store& store, const EntityId& id, const NodeId& node,
                        const std::string& state = "initialized") {
  const Epoch newest = Activate(store, id, node);
  StoreResult result =
      ApplyOne(store, CreateOp{.id = id, .node = node, .epoch = newest, .state = state});
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.epoch, Next(newest));
  return result.epoch;
}

std::optional<EntityRow> Get(Store& store, const EntityId& id) {
  StoreResult result = ApplyOne(store, ListOp{.limit = 1000, .after = ""});
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  for (const EntityRow& row : result.rows) {
    if (row.id == id) {
      return row;
    }
  }
  return std::nullopt;
}

std::vector<TenureRow> History(Store& store, const EntityId& id) {
  StoreResult result = ApplyOne(store, HistoryOp{.id = id});
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  return result.tenures;
}

bool IsTimestamp(const std::string& text) {
  static const std::regex kIso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  return std::regex_match(text, kIso);
}

TEST(SqliteStore, ActivatingAMissingEntityWritesNothing) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  const StoreStats before = store->stats();
  StoreResult first = ApplyOne(*store, ActivateOp{.id = "e1", .node = "n1"});
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_FALSE(first.fenced);
  EXPECT_EQ(first.epoch, 0_epoch);  // The newest epoch: none yet.
  EXPECT_FALSE(first.row.has_value());
  // A second activation, by another node, neither moves the epoch nor opens a
  // tenure: the first one left nothing to move.
  StoreResult second = ApplyOne(*store, ActivateOp{.id = "e1", .node = "n2"});
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(second.epoch, 0_epoch);
  EXPECT_FALSE(second.row.has_value());
  // No trace, as seen by another connection; the batches still committed.
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM ownership"), std::vector<std::string>{"0"});
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM entities"), std::vector<std::string>{"0"});
  EXPECT_EQ(store->stats().transactions, before.transactions + 2);
  EXPECT_TRUE(History(*store, "e1").empty());
}

TEST(SqliteStore, CreateOpensTheNextTenure) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  EXPECT_EQ(ActivateAndCreate(*store, "e1", "n1", "working"), 1_epoch);
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 1u);
  EXPECT_EQ(tenures[0].node, "n1");
  EXPECT_EQ(tenures[0].epoch, 1_epoch);
  EXPECT_EQ(Get(*store, "e1")->owner_epoch, 1_epoch);
}

TEST(SqliteStore, ActivationMovesOwnerAndReturnsTheRow) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  ActivateAndCreate(*store, "e1", "n1", "working");
  StoreResult result = ApplyOne(*store, ActivateOp{.id = "e1", .node = "n2"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.epoch, 2_epoch);
  ASSERT_TRUE(result.row.has_value());
  EXPECT_EQ(result.row->id, "e1");
  EXPECT_EQ(result.row->state, "working");
  EXPECT_EQ(result.row->version, 1_version);
  EXPECT_EQ(result.row->owner_node, "n2");
  EXPECT_EQ(result.row->owner_epoch, 2_epoch);
  EXPECT_EQ(Get(*store, "e1"), result.row);
}

TEST(SqliteStore, ActivationClosesThePreviousTenureAsSuperseded) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  ActivateAndCreate(*store, "e1", "n1");
  Activate(*store, "e1", "n2");
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].node, "n1");
  EXPECT_EQ(tenures[0].epoch, 1_epoch);
  EXPECT_TRUE(IsTimestamp(tenures[0].acquired_at)) << tenures[0].acquired_at;
  EXPECT_TRUE(IsTimestamp(tenures[0].released_at)) << tenures[0].released_at;
  EXPECT_EQ(tenures[0].reason, "superseded");
  EXPECT_EQ(tenures[1].node, "n2");
  EXPECT_EQ(tenures[1].epoch, 2_epoch);
  EXPECT_EQ(tenures[1].released_at, "");  // Open.
  EXPECT_EQ(tenures[1].reason, "");
}

TEST(SqliteStore, PassivateThenReactivateTakesANewEpoch) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch first = ActivateAndCreate(*store, "e1", "n1");
  StoreResult released =
      ApplyOne(*store, CloseTenureOp{.id = "e1", .epoch = first, .reason = "passivated"});
  ASSERT_TRUE(released.status.ok()) << released.status.ToString();
  EXPECT_EQ(Get(*store, "e1")->owner_node, "");

  StoreResult again = ApplyOne(*store, ActivateOp{.id = "e1", .node = "n1"});
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.epoch, Next(first));
  ASSERT_TRUE(again.row.has_value());
  EXPECT_EQ(again.row->owner_node, "n1");
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].reason, "passivated");  // Not overwritten by "superseded".
  EXPECT_EQ(tenures[1].released_at, "");
}

// A new entity's first request: activation and create in one op, with the
// same epochs and history as ActivateOp then CreateOp.
TEST(SqliteStore, ActivationWithCreateStateCreatesAMissingEntity) {
  TempDir dir;
  std::unique_ptr<Store> store = MustOpen(dir.File("t.db"));
  StoreResult r = ApplyOne(*store, ActivateOp{.id = "e1", .node = "n1", .create_state = "working"});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.epoch, 1_epoch);
  ASSERT_TRUE(r.row.has_value());
  EXPECT_EQ(r.row->state, "working");
  EXPECT_EQ(r.row->version, 1_version);
  EXPECT_EQ(r.row->owner_node, "n1");
  EXPECT_EQ(r.row->owner_epoch, 1_epoch);
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 1u);
  EXPECT_EQ(tenures[0].node, "n1");
  EXPECT_EQ(tenures[0].epoch, 1_epoch);

  // It exists now: the same op is a plain activation (a new epoch, nothing
  // created, the state as it was).
  StoreResult again =
      ApplyOne(*store, ActivateOp{.id = "e1", .node = "n2", .create_state = "initialized"});
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.epoch, 2_epoch);
  EXPECT_EQ(again.row->state, "working");
  EXPECT_EQ(again.row->owner_node, "n2");
  EXPECT_EQ(History(*store, "e1").size(), 2u);
}

// The epochs of a deleted row's history still fence: a create takes the one
// after the newest.
TEST(SqliteStore, ActivationWithCreateStateTakesTheEpochAfterTheNewest) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  const Epoch first = ActivateAndCreate(*store, "e1", "n1");
  RawQuery(path, "DELETE FROM entities WHERE id = 'e1'");
  StoreResult r =
      ApplyOne(*store, ActivateOp{.id = "e1", .node = "n2", .create_state = "initialized"});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.epoch, Next(first));
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].reason, "superseded");
}

TEST(SqliteStore, ActivationOfAMissingEntityReportsItsNewestEpoch) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  const Epoch first = ActivateAndCreate(*store, "e1", "n1");
  // A row deleted by hand (an operator's sqlite3): the epochs of the ownership
  // history still fence a create.
  RawQuery(path, "DELETE FROM entities WHERE id = 'e1'");
  EXPECT_EQ(Activate(*store, "e1", "n2"), first);
  // That activation wrote nothing: tenure `first` is still the open one.
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 1u);
  EXPECT_EQ(tenures[0].node, "n1");
  EXPECT_EQ(tenures[0].released_at, "");
  StoreResult stale = ApplyOne(
      *store,
      CreateOp{.id = "e1", .node = "n1", .epoch = Epoch{first.value() - 1}, .state = "working"});
  EXPECT_TRUE(stale.fenced);
  EXPECT_EQ(stale.status.code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(Get(*store, "e1").has_value());
  // A create at the newest epoch takes the next one and supersedes the tenure
  // the deleted row left open.
  EXPECT_EQ(ActivateAndCreate(*store, "e1", "n2"), Next(first));
  EXPECT_EQ(Get(*store, "e1")->owner_epoch, Next(first));
  tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].epoch, first);
  EXPECT_EQ(tenures[0].reason, "superseded");
  EXPECT_TRUE(IsTimestamp(tenures[0].released_at)) << tenures[0].released_at;
  EXPECT_EQ(tenures[1].node, "n2");
  EXPECT_EQ(tenures[1].epoch, Next(first));
  EXPECT_EQ(tenures[1].released_at, "");
}

TEST(SqliteStore, WriteAtCurrentEpochAndVersionBumpsVersion) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch epoch = ActivateAndCreate(*store, "e1", "n1");
  StoreResult result = ApplyOne(
      *store,
      WriteOp{.id = "e1", .epoch = epoch, .expected_version = 1_version, .state = "working"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_FALSE(result.fenced);
  ASSERT_TRUE(result.row.has_value());
  EXPECT_EQ(result.row->state, "working");
  EXPECT_EQ(result.row->version, 2_version);
  EXPECT_EQ(result.row->owner_epoch, epoch);
  EXPECT_TRUE(IsTimestamp(result.row->updated_at)) << result.row->updated_at;
  EXPECT_EQ(Get(*store, "e1"), result.row);
}

TEST(SqliteStore, WriteWithStaleEpochChangesNothing) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  const Epoch old_epoch = ActivateAndCreate(*store, "e1", "n1");
  Activate(*store, "e1", "n2");  // n1 is deposed.
  const std::vector<std::string> before = RawQuery(path, "SELECT * FROM entities");
  const StoreStats stats_before = store->stats();

  StoreResult result = ApplyOne(
      *store,
      WriteOp{.id = "e1", .epoch = old_epoch, .expected_version = 1_version, .state = "finalized"});
  EXPECT_TRUE(result.fenced);
  EXPECT_EQ(result.status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status.message().find("epoch moved"), std::string::npos)
      << result.status.message();
  EXPECT_FALSE(result.row.has_value());
  EXPECT_EQ(RawQuery(path, "SELECT * FROM entities"), before);  // Byte for byte.
  // A fenced op is still an op of a committed batch.
  EXPECT_EQ(store->stats().transactions, stats_before.transactions + 1);
}

TEST(SqliteStore, WriteWithStaleVersionIsFenced) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch epoch = ActivateAndCreate(*store, "e1", "n1");
  ASSERT_TRUE(
      ApplyOne(
          *store,
          WriteOp{.id = "e1", .epoch = epoch, .expected_version = 1_version, .state = "working"})
          .status.ok());
  const std::optional<EntityRow> before = Get(*store, "e1");
  StoreResult result = ApplyOne(
      *store,
      WriteOp{.id = "e1", .epoch = epoch, .expected_version = 1_version, .state = "finalized"});
  EXPECT_TRUE(result.fenced);
  EXPECT_EQ(result.status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status.message().find("version moved"), std::string::npos)
      << result.status.message();
  EXPECT_EQ(Get(*store, "e1"), before);
}

TEST(SqliteStore, WriteToMissingEntityIsFenced) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch epoch = Activate(*store, "e1", "n1");
  StoreResult result = ApplyOne(
      *store,
      WriteOp{.id = "e1", .epoch = epoch, .expected_version = 1_version, .state = "working"});
  EXPECT_TRUE(result.fenced);
  EXPECT_EQ(result.status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status.message().find("no entity 'e1'"), std::string::npos)
      << result.status.message();
  EXPECT_FALSE(Get(*store, "e1").has_value());
  EXPECT_TRUE(History(*store, "e1").empty());
}

TEST(SqliteStore, CreateInsertsVersionOneOwnedByTheCreator) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch newest = Activate(*store, "e1", "n1");
  StoreResult result =
      ApplyOne(*store, CreateOp{.id = "e1", .node = "n1", .epoch = newest, .state = "initialized"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_FALSE(result.fenced);
  EXPECT_EQ(result.epoch, Next(newest));
  ASSERT_TRUE(result.row.has_value());
  EXPECT_EQ(result.row->id, "e1");
  EXPECT_EQ(result.row->state, "initialized");
  EXPECT_EQ(result.row->version, 1_version);
  EXPECT_EQ(result.row->owner_node, "n1");
  EXPECT_EQ(result.row->owner_epoch, Next(newest));  // The create's own tenure.
  EXPECT_TRUE(IsTimestamp(result.row->updated_at));
  EXPECT_EQ(Get(*store, "e1"), result.row);
}

TEST(SqliteStore, CreateOfAFreshIdAtEpochZeroOpensTenureOne) {
  // No activation first: epoch 0 is the newest epoch of an id never seen.
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  StoreResult result = ApplyOne(
      *store, CreateOp{.id = "e1", .node = "n1", .epoch = 0_epoch, .state = "initialized"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_FALSE(result.fenced);
  EXPECT_EQ(result.epoch, 1_epoch);
  ASSERT_TRUE(result.row.has_value());
  EXPECT_EQ(result.row->owner_epoch, 1_epoch);
  EXPECT_EQ(RawQuery(path, "SELECT id, state, version, owner_node, owner_epoch FROM entities"),
            std::vector<std::string>{"e1|initialized|1|n1|1"});
  EXPECT_EQ(RawQuery(path, "SELECT id, node, epoch, released_at, reason FROM ownership"),
            std::vector<std::string>{"e1|n1|1|NULL|NULL"});
}

TEST(SqliteStore, CreateOfExistingIdConflictsAndReturnsTheRow) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch epoch = ActivateAndCreate(*store, "e1", "n1", "working");
  const std::optional<EntityRow> existing = Get(*store, "e1");
  StoreResult result =
      ApplyOne(*store, CreateOp{.id = "e1", .node = "n1", .epoch = epoch, .state = "finalized"});
  EXPECT_EQ(result.status.code(), ErrorCode::kConflict);
  EXPECT_FALSE(result.fenced);
  EXPECT_EQ(result.row, existing);
  EXPECT_EQ(Get(*store, "e1"), existing);
}

TEST(SqliteStore, CreateRacingAnotherCreateConflictsAndChangesNothing) {
  // Two nodes both found e1 missing at epoch 0; n2 creates first. n1's create
  // carries a stale epoch but finds the row: it conflicts and writes nothing.
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch seen_by_n1 = Activate(*store, "e1", "n1");
  const Epoch seen_by_n2 = Activate(*store, "e1", "n2");
  ASSERT_EQ(seen_by_n1, seen_by_n2);
  StoreResult won =
      ApplyOne(*store, CreateOp{.id = "e1", .node = "n2", .epoch = seen_by_n2, .state = "working"});
  ASSERT_TRUE(won.status.ok()) << won.status.ToString();
  const std::optional<EntityRow> existing = Get(*store, "e1");
  StoreResult lost = ApplyOne(
      *store, CreateOp{.id = "e1", .node = "n1", .epoch = seen_by_n1, .state = "initialized"});
  EXPECT_EQ(lost.status.code(), ErrorCode::kConflict);
  EXPECT_FALSE(lost.fenced);
  EXPECT_EQ(lost.row, existing);
  EXPECT_EQ(Get(*store, "e1"), existing);
  EXPECT_EQ(existing->owner_node, "n2");
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 1u);
  EXPECT_EQ(tenures[0].node, "n2");
  EXPECT_EQ(tenures[0].released_at, "");
}

TEST(SqliteStore, CreateIsFencedByANewerActivation) {
  // The entity row is gone (deleted by hand) after a newer activation took
  // epoch 2: a create carrying epoch 1 is stale and must not resurrect it.
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  const Epoch old_epoch = ActivateAndCreate(*store, "e1", "n1");
  const Epoch new_epoch = Activate(*store, "e1", "n2");
  ASSERT_EQ(new_epoch, Next(old_epoch));
  RawQuery(path, "DELETE FROM entities WHERE id = 'e1'");
  const std::vector<std::string> before = RawQuery(path, "SELECT * FROM ownership ORDER BY epoch");
  StoreResult result = ApplyOne(
      *store, CreateOp{.id = "e1", .node = "n1", .epoch = old_epoch, .state = "initialized"});
  EXPECT_TRUE(result.fenced);
  EXPECT_EQ(result.status.code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.status.message().find("epoch moved"), std::string::npos)
      << result.status.message();
  EXPECT_FALSE(result.row.has_value());
  EXPECT_FALSE(Get(*store, "e1").has_value());
  EXPECT_EQ(RawQuery(path, "SELECT * FROM ownership ORDER BY epoch"), before);
  // At the newest epoch the create goes through.
  StoreResult fresh = ApplyOne(
      *store, CreateOp{.id = "e1", .node = "n2", .epoch = new_epoch, .state = "initialized"});
  ASSERT_TRUE(fresh.status.ok()) << fresh.status.ToString();
  EXPECT_EQ(fresh.epoch, Next(new_epoch));
}

TEST(SqliteStore, CreateWithAnEpochAheadOfTheNewestIsFenced) {
  // An id never seen has newest epoch 0; no activation handed out epoch 1.
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  StoreResult result = ApplyOne(
      *store, CreateOp{.id = "e1", .node = "n1", .epoch = 1_epoch, .state = "initialized"});
  EXPECT_TRUE(result.fenced);
  EXPECT_EQ(result.status.code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(Get(*store, "e1").has_value());
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM ownership"), std::vector<std::string>{"0"});
}

TEST(SqliteStore, CreateSupersedesAnOpenTenureWithoutEntity) {
  // An ownership row with no entity, as an older store wrote on activation:
  // it fences creates below its epoch, and a create at it closes it.
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  RawQuery(path,
           "INSERT INTO ownership (id, node, epoch, acquired_at)"
           " VALUES ('e1', 'n1', 3, '2024-01-01T00:00:00.000Z')");
  EXPECT_EQ(Activate(*store, "e1", "n2"), 3_epoch);
  EXPECT_EQ(History(*store, "e1").size(), 1u);  // The activation added nothing.
  EXPECT_TRUE(
      ApplyOne(*store, CreateOp{.id = "e1", .node = "n2", .epoch = 2_epoch, .state = "initialized"})
          .fenced);
  StoreResult result = ApplyOne(
      *store, CreateOp{.id = "e1", .node = "n2", .epoch = 3_epoch, .state = "initialized"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_EQ(result.epoch, 4_epoch);
  EXPECT_EQ(result.row->owner_epoch, 4_epoch);
  EXPECT_EQ(result.row->owner_node, "n2");
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].node, "n1");
  EXPECT_EQ(tenures[0].epoch, 3_epoch);
  EXPECT_EQ(tenures[0].reason, "superseded");
  EXPECT_TRUE(IsTimestamp(tenures[0].released_at)) << tenures[0].released_at;
  EXPECT_EQ(tenures[1].node, "n2");
  EXPECT_EQ(tenures[1].epoch, 4_epoch);
  EXPECT_EQ(tenures[1].released_at, "");
}

TEST(SqliteStore, ReleaseClosesTheTenureAndClearsTheOwner) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch epoch = ActivateAndCreate(*store, "e1", "n1");
  StoreResult result =
      ApplyOne(*store, CloseTenureOp{.id = "e1", .epoch = epoch, .reason = "step-down"});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  std::optional<EntityRow> row = Get(*store, "e1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->owner_node, "");
  EXPECT_EQ(row->owner_epoch, epoch);  // The fence stays where it was.
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 1u);
  EXPECT_TRUE(IsTimestamp(tenures[0].released_at));
  EXPECT_EQ(tenures[0].reason, "step-down");
}

TEST(SqliteStore, StaleReleaseLeavesTheNewerOwnerAlone) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const Epoch old_epoch = ActivateAndCreate(*store, "e1", "n1");
  const Epoch new_epoch = Activate(*store, "e1", "n2");
  StoreResult result =
      ApplyOne(*store, CloseTenureOp{.id = "e1", .epoch = old_epoch, .reason = "shutdown"});
  ASSERT_TRUE(result.status.ok());
  std::optional<EntityRow> row = Get(*store, "e1");
  EXPECT_EQ(row->owner_node, "n2");
  EXPECT_EQ(row->owner_epoch, new_epoch);
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 2u);
  EXPECT_EQ(tenures[0].reason, "superseded");  // Already closed; kept.
  EXPECT_EQ(tenures[1].released_at, "");       // The new tenure stays open.
}

TEST(SqliteStore, ReleaseOfUnknownTenureIsOk) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  StoreResult result =
      ApplyOne(*store, CloseTenureOp{.id = "nope", .epoch = 7_epoch, .reason = "x"});
  EXPECT_TRUE(result.status.ok()) << result.status.ToString();
}

TEST(SqliteStore, ListPagesInIdOrder) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  for (const EntityId& id : std::vector<EntityId>{"d", "b", "e", "a", "c"}) {
    ActivateAndCreate(*store, id, "n1");
  }
  std::vector<EntityId> seen;
  EntityId after;
  int pages = 0;
  for (;;) {
    StoreResult page = ApplyOne(*store, ListOp{.limit = 2, .after = after});
    ASSERT_TRUE(page.status.ok()) << page.status.ToString();
    if (page.rows.empty()) {
      break;
    }
    ++pages;
    EXPECT_LE(page.rows.size(), 2u);
    for (const EntityRow& row : page.rows) {
      seen.push_back(row.id);
    }
    after = page.rows.back().id;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<EntityId>{"a", "b", "c", "d", "e"}));
}

TEST(SqliteStore, HistoryListsTenuresOldestFirst) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  ActivateAndCreate(*store, "e1", "n1");
  for (const NodeId& node : std::vector<NodeId>{"n2", "n3"}) {
    Activate(*store, "e1", node);
  }
  ActivateAndCreate(*store, "other", "n9");
  std::vector<TenureRow> tenures = History(*store, "e1");
  ASSERT_EQ(tenures.size(), 3u);
  for (std::size_t i = 0; i < tenures.size(); ++i) {
    EXPECT_EQ(tenures[i].id, "e1");
    EXPECT_EQ(tenures[i].epoch, Epoch{i + 1});
    EXPECT_EQ(tenures[i].node, NodeId("n" + std::to_string(i + 1)));
  }
  EXPECT_TRUE(History(*store, "unknown").empty());
}

TEST(SqliteStore, BatchIsOneTransaction) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const StoreStats before = store->stats();
  std::vector<StoreOp> ops;
  ops.push_back(ActivateOp{.id = "e1", .node = "n1"});
  ops.push_back(CreateOp{.id = "e1", .node = "n1", .epoch = 0_epoch, .state = "initialized"});
  // Epoch 1: the one the create opened, earlier in this batch.
  ops.push_back(
      WriteOp{.id = "e1", .epoch = 1_epoch, .expected_version = 1_version, .state = "working"});
  ops.push_back(ListOp{});  // Sees the writes before it.
  std::vector<StoreResult> results = store->Apply(ops);
  ASSERT_EQ(results.size(), 4u);
  for (const StoreResult& result : results) {
    EXPECT_TRUE(result.status.ok()) << result.status.ToString();
  }
  EXPECT_EQ(results[0].epoch, 0_epoch);
  EXPECT_EQ(results[1].epoch, 1_epoch);
  ASSERT_EQ(results[3].rows.size(), 1u);
  EXPECT_EQ(results[3].rows[0].version, 2_version);
  EXPECT_EQ(store->stats().transactions, before.transactions + 1);
  EXPECT_EQ(store->stats().ops, before.ops + 4);
}

TEST(SqliteStore, EmptyBatchDoesNothing) {
  std::unique_ptr<Store> store = MustOpen(":memory:");
  const StoreStats before = store->stats();
  EXPECT_TRUE(store->Apply({}).empty());
  EXPECT_EQ(store->stats().transactions, before.transactions);
  EXPECT_EQ(store->stats().ops, before.ops);
}

TEST(SqliteStore, FailingOpIsRolledBackAloneAndTheOthersCommit) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  std::unique_ptr<Store> store = MustOpen(path);
  const Epoch epoch = ActivateAndCreate(*store, "e1", "n1");
  std::vector<StoreOp> ops;
  ops.push_back(
      WriteOp{.id = "e1", .epoch = epoch, .expected_version = 1_version, .state = "working"});
  // Violates the CHECK on state; the store leaves validation to SQLite.
  ops.push_back(
      WriteOp{.id = "e1", .epoch = epoch, .expected_version = 2_version, .state = "bogus"});
  ops.push_back(ActivateOp{.id = "e2", .node = "n1"});
  // Fails only at its insert, after reading: the savepoint undoes it whole.
  ops.push_back(CreateOp{.id = "e2", .node = "n1", .epoch = 0_epoch, .state = "bogus"});
  // Still at epoch 0: the failed create left no tenure behind.
  ops.push_back(CreateOp{.id = "e2", .node = "n1", .epoch = 0_epoch, .state = "finalized"});
  std::vector<StoreResult> results = store->Apply(ops);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status.ToString();
  EXPECT_EQ(results[1].status.code(), ErrorCode::kStorageError);
  EXPECT_NE(results[1].status.message().find("CHECK constraint failed"), std::string::npos)
      << results[1].status.message();
  EXPECT_FALSE(results[1].fenced);
  EXPECT_TRUE(results[2].status.ok());
  EXPECT_EQ(results[2].epoch, 0_epoch);
  EXPECT_EQ(results[3].status.code(), ErrorCode::kStorageError);
  EXPECT_FALSE(results[3].fenced);
  EXPECT_TRUE(results[4].status.ok()) << results[4].status.ToString();
  EXPECT_EQ(results[4].epoch, 1_epoch);

  // Committed, as seen by another connection.
  EXPECT_EQ(RawQuery(path, "SELECT id, state, version FROM entities ORDER BY id"),
            (std::vector<std::string>{"e1|working|2", "e2|finalized|1"}));
  EXPECT_EQ(RawQuery(path, "SELECT node, epoch, released_at FROM ownership WHERE id = 'e2'"),
            std::vector<std::string>{"n1|1|NULL"});
}

TEST(SqliteStore, BusyDatabaseFailsTheWholeBatchAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  Result<std::unique_ptr<Store>> opened =
      OpenSqliteStore(SqliteOptions{.path = path, .busy_timeout_ms = 0});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  const Epoch epoch = ActivateAndCreate(store, "e1", "n1");
  const StoreStats before = store.stats();
  const std::vector<std::string> entities = RawQuery(path, "SELECT * FROM entities");
  const std::vector<std::string> ownership = RawQuery(path, "SELECT * FROM ownership");

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  // Both ops would write: a new tenure for e1, then a write under it.
  std::vector<StoreOp> ops;
  ops.push_back(ActivateOp{.id = "e1", .node = "n2"});
  ops.push_back(
      WriteOp{.id = "e1", .epoch = Next(epoch), .expected_version = 1_version, .state = "working"});
  std::vector<StoreResult> results = store.Apply(ops);
  ASSERT_EQ(results.size(), 2u);
  for (const StoreResult& result : results) {
    EXPECT_EQ(result.status.code(), ErrorCode::kStorageError);
    EXPECT_FALSE(result.row.has_value());
  }
  EXPECT_EQ(store.stats().transactions, before.transactions);
  EXPECT_EQ(RawQuery(path, "SELECT * FROM entities"), entities);
  EXPECT_EQ(RawQuery(path, "SELECT * FROM ownership"), ownership);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  // Busy is not sticky: the next batch goes through.
  results = store.Apply(ops);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status.ToString();
  EXPECT_EQ(results[0].epoch, Next(epoch));
  EXPECT_TRUE(results[1].status.ok()) << results[1].status.ToString();
  EXPECT_EQ(store.stats().transactions, before.transactions + 1);
  EXPECT_EQ(RawQuery(path, "SELECT state, version, owner_node, owner_epoch FROM entities"),
            std::vector<std::string>{"working|2|n2|" + std::to_string(Next(epoch).value())});
}

TEST(SqliteStore, FileStoreUsesWalAndSurvivesReopen) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  for (SyncMode sync : {SyncMode::kFull, SyncMode::kNormal}) {
    Result<std::unique_ptr<Store>> opened =
        OpenSqliteStore(SqliteOptions{.path = path, .sync = sync});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    if (sync == SyncMode::kFull) {
      ActivateAndCreate(**opened, "e1", "n1", "working");
    } else {
      EXPECT_EQ(Get(**opened, "e1")->state, "working");
    }
  }
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST(SqliteStore, OpenRefusesMissingDirectoryAndCreatesNothing) {
  TempDir dir;
  const std::string missing = dir.File("no-such-dir");
  const std::string path = missing + "/t.db";
  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(opened.status().message(),
            "cannot open database '" + path + "': directory '" + missing + "' does not exist");
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SqliteStore, OpenRefusesAFileThatIsNotSqliteAndLeavesIt) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::string bytes;
  for (int i = 0; i < 200; ++i) {
    bytes += "this is not a database, line " + std::to_string(i) + "\n";
  }
  WriteBytes(path, bytes);
  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
  EXPECT_EQ(opened.status().message(), "'" + path + "' is not a SQLite database");
  EXPECT_EQ(ReadBytes(path), bytes);
  // No -wal, -shm or -journal left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(SqliteStore, OpenRefusesADirectory) {
  TempDir dir;
  Result<std::unique_ptr<Store>> opened =
      OpenSqliteStore(SqliteOptions{.path = dir.path().string()});
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("is a directory"), std::string::npos)
      << opened.status().message();
}

TEST(SqliteStore, OpenRefusesAReadOnlyFile) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "root writes through file permissions";
  }
  TempDir dir;
  const std::string path = dir.File("t.db");
  { MustOpen(path); }
  const std::string bytes = ReadBytes(path);
  ASSERT_EQ(chmod(path.c_str(), 0444), 0);
  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("read-only"), std::string::npos)
      << opened.status().message();
  EXPECT_EQ(ReadBytes(path), bytes);
  // Refused before the first read, which would leave -wal and -shm behind.
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));

  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  opened = OpenSqliteStore(SqliteOptions{.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kStorageError);
  EXPECT_NE(opened.status().message().find(path), std::string::npos) << opened.status().message();
}

}  // namespace
}  // namespace tenure::store
