// Hand-written histories for CheckHistory: ones a correct service can
// produce, which must pass, and the anomalies the checker exists to catch,
// which must fail with an explanation that names them.
#include "history/history.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tenure::history {
namespace {

using ::testing::HasSubstr;

constexpr const char* kEntity = "e1";

Op Base(OpKind kind, int process, std::int64_t invoke_ns, std::int64_t complete_ns) {
  Op op;
  op.process = process;
  op.entity = kEntity;
  op.kind = kind;
  op.invoke_ns = invoke_ns;
  op.complete_ns = complete_ns;
  return op;
}

// An ok get that saw (state, version).
Op Get(int process, std::int64_t invoke_ns, std::int64_t complete_ns, const std::string& state,
       std::uint64_t version) {
  Op op = Base(OpKind::kGet, process, invoke_ns, complete_ns);
  op.observed = Observed{state, version};
  return op;
}

// An ok create of `state` (observing version 1).
Op Create(int process, std::int64_t invoke_ns, std::int64_t complete_ns, const std::string& state) {
  Op op = Base(OpKind::kCreate, process, invoke_ns, complete_ns);
  op.state = state;
  op.observed = Observed{state, 1};
  return op;
}

// An ok set of `state` that produced `version`.
Op Set(int process, std::int64_t invoke_ns, std::int64_t complete_ns, const std::string& state,
       std::uint64_t version) {
  Op op = Base(OpKind::kSet, process, invoke_ns, complete_ns);
  op.state = state;
  op.observed = Observed{state, version};
  return op;
}

Op Expect(Op op, const std::string& expect) {
  op.expect = expect;
  return op;
}

Op IfVersion(Op op, std::uint64_t version) {
  op.if_version = version;
  return op;
}

Op Indeterminate(Op op) {
  op.outcome = Outcome::kIndeterminate;
  op.observed.reset();
  op.complete_ns = 0;
  return op;
}

// The same request, refused with `error`, carrying `observed` if given.
Op Failed(Op op, const std::string& error, std::optional<Observed> observed = std::nullopt) {
  op.outcome = Outcome::kFailed;
  op.error = error;
  op.observed = std::move(observed);
  return op;
}

Op NotFound(OpKind kind, int process, std::int64_t invoke_ns, std::int64_t complete_ns) {
  Op op = Base(kind, process, invoke_ns, complete_ns);
  if (kind != OpKind::kGet) {
    op.state = "working";
  }
  return Failed(op, "not_found");
}

Op OnEntity(Op op, const std::string& entity) {
  op.entity = entity;
  return op;
}

void ExpectLinearizable(const std::vector<Op>& history) {
  const CheckResult result = CheckHistory(history);
  EXPECT_TRUE(result.linearizable) << result.explanation;
  EXPECT_TRUE(result.decided);
  EXPECT_EQ(result.explanation, "");
}

// Checks that `history` fails and returns the explanation.
std::string ExpectViolation(const std::vector<Op>& history) {
  const CheckResult result = CheckHistory(history);
  EXPECT_FALSE(result.linearizable);
  EXPECT_TRUE(result.decided);
  EXPECT_NE(result.explanation, "");
  return result.explanation;
}

// --- Histories that must pass ---

TEST(CheckHistory, EmptyHistoryIsLinearizable) {
  const CheckResult result = CheckHistory({});
  EXPECT_TRUE(result.linearizable);
  EXPECT_EQ(result.entities, 0u);
  EXPECT_EQ(result.operations, 0u);
}

TEST(CheckHistory, SequentialCreateSetGetPasses) {
  ExpectLinearizable({
      NotFound(OpKind::kGet, 1, 0, 5),
      NotFound(OpKind::kSet, 1, 6, 8),
      Create(1, 10, 20, "initialized"),
      Get(1, 30, 40, "initialized", 1),
      Set(1, 50, 60, "working", 2),
      Get(2, 70, 80, "working", 2),
  });
}

TEST(CheckHistory, SetBumpsTheVersionEvenToTheSameState) {
  ExpectLinearizable({
      Create(1, 0, 10, "working"),
      Set(1, 20, 30, "working", 2),
      Get(2, 40, 50, "working", 2),
  });
  ExpectViolation({
      Create(1, 0, 10, "working"),
      Set(1, 20, 30, "working", 2),
      Get(2, 40, 50, "working", 1),
  });
}

TEST(CheckHistory, ConcurrentWritesMayTakeEffectInEitherOrder) {
  for (bool working_first : {true, false}) {
    ExpectLinearizable({
        Create(1, 0, 10, "initialized"),
        Set(1, 20, 100, "working", working_first ? 2 : 3),
        Set(2, 30, 90, "finalized", working_first ? 3 : 2),
        Get(3, 110, 120, working_first ? "finalized" : "working", 3),
    });
  }
}

TEST(CheckHistory, ReadsConcurrentWithAWriteMaySeeEitherValue) {
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 100, "working", 2),
      Get(2, 30, 40, "initialized", 1),
      Get(3, 30, 40, "working", 2),
      Get(2, 50, 60, "working", 2),
      Get(4, 90, 95, "working", 2),
  });
}

TEST(CheckHistory, TouchingIntervalsCountAsConcurrent) {
  // The read starts at the very nanosecond the write's reply arrived; with
  // one clock for both, the checker gives the benefit of the doubt.
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Get(2, 30, 40, "initialized", 1),
  });
}

TEST(CheckHistory, IndeterminateWriteMayApplyLongAfterItsTimeout) {
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      Indeterminate(Set(1, 20, 0, "working", 0)),
      Get(2, 500, 510, "initialized", 1),
      Get(2, 1000, 1010, "working", 2),
      Set(2, 1100, 1110, "finalized", 3),
  });
}

TEST(CheckHistory, IndeterminateWriteMayNeverApply) {
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      Indeterminate(Set(1, 20, 0, "working", 0)),
      Get(2, 500, 510, "initialized", 1),
      Set(2, 600, 610, "finalized", 2),
      Get(2, 1000, 1010, "finalized", 2),
  });
}

TEST(CheckHistory, IndeterminateWriteCannotApplyBeforeItsInvocation) {
  ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Get(2, 20, 30, "working", 2),
      Indeterminate(Set(1, 40, 0, "working", 0)),
  });
}

TEST(CheckHistory, IndeterminateCreateMayBeTheOneThatHappened) {
  ExpectLinearizable({
      Indeterminate(Create(1, 0, 0, "initialized")),
      Failed(Create(2, 100, 110, "working"), "conflict", Observed{"initialized", 1}),
  });
}

TEST(CheckHistory, CompareAndSetChainsPass) {
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      IfVersion(Expect(Set(1, 20, 30, "working", 2), "initialized"), 1),
      // Both read v2 and raced to move on from it: one wins, one conflicts.
      IfVersion(Set(2, 40, 60, "finalized", 3), 2),
      Failed(IfVersion(Set(3, 45, 65, "initialized", 0), 2), "conflict", Observed{"finalized", 3}),
      Failed(Expect(Set(3, 70, 80, "working", 0), "working"), "conflict", Observed{"finalized", 3}),
      Get(1, 90, 100, "finalized", 3),
  });
}

TEST(CheckHistory, CreateRaceHasOneWinner) {
  ExpectLinearizable({
      Create(1, 0, 50, "initialized"),
      Failed(Create(2, 10, 40, "working"), "conflict", Observed{"initialized", 1}),
      Failed(Create(3, 20, 30, "finalized"), "conflict", Observed{"initialized", 1}),
      Get(2, 60, 70, "initialized", 1),
  });
}

TEST(CheckHistory, ConflictWithoutObservedNeedsTheConditionToFailSomewhere) {
  // The conflict overlaps the write that made its expect false: it passes.
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 60, "working", 2),
      Failed(Expect(Set(2, 30, 50, "finalized", 0), "initialized"), "conflict"),
  });
  // Nothing ever made it false: it fails.
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Failed(Expect(Set(2, 30, 50, "finalized", 0), "initialized"), "conflict"),
      Set(1, 60, 70, "working", 2),
  });
  EXPECT_THAT(why, HasSubstr("conflict when the request should have succeeded"));
}

TEST(CheckHistory, OperationsWithoutInformationAreIgnored) {
  Op invalid = Set(1, 20, 30, "no-such-state", 99);
  ExpectLinearizable({
      Create(1, 0, 10, "initialized"),
      Failed(invalid, "invalid_state"),
      Failed(Get(2, 20, 30, "working", 7), "busy"),
      Failed(Set(3, 20, 30, "working", 9), "unavailable"),
      Indeterminate(Get(2, 40, 50, "finalized", 12)),
      Get(1, 60, 70, "initialized", 1),
  });
}

TEST(CheckHistory, EntitiesAreCheckedIndependently) {
  const CheckResult result = CheckHistory({
      Create(1, 0, 10, "initialized"),
      OnEntity(Create(2, 5, 15, "working"), "e2"),
      OnEntity(Get(2, 20, 30, "working", 1), "e2"),
      Get(1, 20, 30, "initialized", 1),
  });
  EXPECT_TRUE(result.linearizable) << result.explanation;
  EXPECT_EQ(result.entities, 2u);
  EXPECT_EQ(result.operations, 4u);
}

// --- Histories that must fail ---

TEST(CheckHistory, StaleReadAfterAnAcknowledgedWriteFails) {
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Get(2, 40, 50, "initialized", 1),
  });
  EXPECT_THAT(why, HasSubstr("entity 'e1': stale read"));
  EXPECT_THAT(why, HasSubstr("get by process 2, invoked at 40 ns, completed at 50 ns: ok "
                             "(initialized, v1)"));
  EXPECT_THAT(why, HasSubstr("it must follow: set 'working' by process 1"));
  EXPECT_THAT(why, HasSubstr("model states before it: (working, v2), or later"));
}

TEST(CheckHistory, LostAcknowledgedWriteFails) {
  // Both writes were acknowledged as producing v2: one of them was overwritten.
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Set(2, 40, 50, "finalized", 2),
  });
  EXPECT_THAT(why, HasSubstr("lost write"));
  EXPECT_THAT(why, HasSubstr("set 'working' by process 1"));
}

TEST(CheckHistory, VersionGoingBackwardsFails) {
  // v3 came from the indeterminate write, and one client saw it; a client
  // that began reading after that saw v2.
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Indeterminate(Set(2, 35, 0, "finalized", 0)),
      Get(3, 40, 50, "finalized", 3),
      Get(4, 60, 70, "working", 2),
  });
  EXPECT_THAT(why, HasSubstr("version went backwards"));
  EXPECT_THAT(why, HasSubstr("cannot place: get by process 4"));
  EXPECT_THAT(why, HasSubstr("it must follow: get by process 3"));
}

TEST(CheckHistory, AcknowledgedSetOfAnOlderVersionFails) {
  // The same, but the late client wrote: it claims to have produced v3 again.
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Indeterminate(Set(2, 35, 0, "finalized", 0)),
      Get(3, 100, 110, "finalized", 3),
      Set(1, 120, 130, "initialized", 3),
  });
  EXPECT_THAT(why, HasSubstr("version went backwards"));
  EXPECT_THAT(why, HasSubstr("it must follow: get by process 3"));
  EXPECT_THAT(why, HasSubstr("model states before it: (finalized, v3)"));
}

TEST(CheckHistory, TwoSuccessfulCreatesFail) {
  const std::string why = ExpectViolation({
      Create(1, 0, 50, "initialized"),
      Create(2, 10, 60, "working"),
  });
  EXPECT_THAT(why, HasSubstr("two creates succeeded"));
}

TEST(CheckHistory, ReadOfAValueNeverWrittenFails) {
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Get(2, 15, 40, "finalized", 2),
  });
  EXPECT_THAT(why, HasSubstr("read of a value never written"));
  EXPECT_THAT(why, HasSubstr("(finalized, v2)"));
}

TEST(CheckHistory, ReadFromTheFutureFails) {
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Get(2, 20, 30, "working", 2),
      Set(1, 40, 50, "working", 2),
  });
  EXPECT_THAT(why, HasSubstr("read from the future"));
}

TEST(CheckHistory, WrongValueAtAVersionFails) {
  // An indeterminate write could have produced 'finalized' at v2, but the
  // acknowledged one before the read produced 'working' there.
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Indeterminate(Set(3, 12, 0, "finalized", 0)),
      Set(1, 20, 30, "working", 2),
      Get(2, 40, 50, "finalized", 2),
  });
  EXPECT_THAT(why, HasSubstr("get at v2 saw 'finalized' but v2 is 'working'"));
}

TEST(CheckHistory, SetOkWhenAConflictShouldHaveHappenedFails) {
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Expect(Set(2, 40, 50, "finalized", 3), "initialized"),
      // Could write (initialized, v2), but only after the set completed.
      Indeterminate(Set(3, 60, 0, "initialized", 0)),
  });
  EXPECT_THAT(why, HasSubstr("set ok when a conflict should have happened"));
  EXPECT_THAT(why, HasSubstr("expected 'initialized' but v2 is 'working'"));
}

TEST(CheckHistory, NotFoundAfterCreateFails) {
  const std::string why = ExpectViolation({
      Create(1, 0, 10, "initialized"),
      NotFound(OpKind::kGet, 2, 20, 30),
  });
  EXPECT_THAT(why, HasSubstr("not_found after the entity was created"));
}

TEST(CheckHistory, RepliesNoStateAllowsFailBeforeAnySearch) {
  Op wrong_state = Set(1, 20, 30, "working", 2);
  wrong_state.observed->state = "finalized";
  const std::vector<Op> impossible[] = {
      {NotFound(OpKind::kCreate, 1, 0, 10)},
      {Create(1, 0, 10, "initialized"), wrong_state},
      {Create(1, 0, 10, "initialized"), Failed(Set(1, 20, 30, "working", 0), "conflict")},
      {Create(1, 0, 10, "initialized"), IfVersion(Set(1, 20, 30, "working", 5), 1)},
  };
  for (const std::vector<Op>& history : impossible) {
    EXPECT_THAT(ExpectViolation(history), HasSubstr("impossible reply"));
  }
}

TEST(CheckHistory, NamesTheFailingEntityAmongGoodOnes) {
  const std::string why = ExpectViolation({
      OnEntity(Create(1, 0, 10, "initialized"), "good"),
      OnEntity(Create(1, 0, 10, "initialized"), "bad"),
      OnEntity(Set(1, 20, 30, "working", 2), "bad"),
      OnEntity(Get(2, 40, 50, "initialized", 1), "bad"),
      OnEntity(Get(2, 40, 50, "initialized", 1), "good"),
  });
  EXPECT_THAT(why, HasSubstr("entity 'bad'"));
  EXPECT_THAT(why, ::testing::Not(HasSubstr("entity 'good'")));
}

// --- Cannot tell ---

TEST(CheckHistory, ReplyBeforeRequestIsUndecided) {
  const CheckResult result = CheckHistory({Create(1, 10, 5, "initialized")});
  EXPECT_FALSE(result.linearizable);
  EXPECT_FALSE(result.decided);
  EXPECT_THAT(result.explanation, HasSubstr("invalid history"));
}

TEST(CheckHistory, ExhaustedBudgetIsUndecidedNotLinearizable) {
  const std::vector<Op> history = {
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Get(2, 40, 50, "working", 2),
  };
  ASSERT_TRUE(CheckHistory(history).linearizable);
  const CheckResult result = CheckHistory(history, CheckOptions{.max_states = 1});
  EXPECT_FALSE(result.linearizable);
  EXPECT_FALSE(result.decided);
  EXPECT_THAT(result.explanation, HasSubstr("undecided"));
}

TEST(CheckHistory, AViolationIsDecidedEvenIfAnotherEntityIsNot) {
  std::vector<Op> history = {
      Create(1, 0, 10, "initialized"),
      Set(1, 20, 30, "working", 2),
      Get(2, 40, 50, "initialized", 1),
  };
  for (const char* entity : {"b1", "b2"}) {
    history.push_back(OnEntity(Create(3, 0, 10, "initialized"), entity));
    history.push_back(OnEntity(Set(3, 20, 30, "working", 2), entity));
    history.push_back(OnEntity(Get(3, 40, 50, "working", 2), entity));
    history.push_back(OnEntity(Set(3, 60, 70, "finalized", 3), entity));
  }
  // Three states are too few for the longer good entities, enough for the bad one.
  const CheckResult result = CheckHistory(history, CheckOptions{.max_states = 3});
  EXPECT_FALSE(result.linearizable);
  EXPECT_TRUE(result.decided);
  EXPECT_THAT(result.explanation, HasSubstr("stale read"));
  EXPECT_THAT(result.explanation, HasSubstr("2 more entities undecided"));
}

}  // namespace
}  // namespace tenure::history
