#include "history/random_history.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>

namespace tenure::history {
namespace {

constexpr std::int64_t kTimeout = 400;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
const char* const kStates[] = {"initialized", "working", "finalized"};
const char* const kOtherStates[] = {"initialized", "working", "finalized", "nonsense"};

// An operation before the register has answered it.
struct Pending {
  Op op;
  std::int64_t effect_ns = 0;  // When it takes effect on the register; kNever: never.
};

class Generator {
 public:
  explicit Generator(const RandomHistoryOptions& options)
      : options_(options), random_(options.seed) {}

  RandomHistory Run() {
    std::vector<Pending> pending = Schedule();
    std::vector<std::size_t> by_effect(pending.size());
    for (std::size_t i = 0; i < pending.size(); ++i) {
      by_effect[i] = i;
    }
    std::stable_sort(by_effect.begin(), by_effect.end(), [&](std::size_t a, std::size_t b) {
      return pending[a].effect_ns < pending[b].effect_ns;
    });
    for (std::size_t i : by_effect) {
      Answer(&pending[i]);
    }
    RandomHistory history;
    for (Pending& p : pending) {
      history.ops.push_back(std::move(p.op));
    }
    std::stable_sort(history.ops.begin(), history.ops.end(),
                     [](const Op& a, const Op& b) { return a.invoke_ns < b.invoke_ns; });
    history.truth = std::move(truth_);
    return history;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }
  std::int64_t Between(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(random_);
  }
  const char* AnyState() { return kStates[Between(0, 2)]; }

  // Times and kinds, client by client; requests and replies come later, in
  // the order the operations take effect.
  std::vector<Pending> Schedule() {
    std::vector<std::int64_t> clock(static_cast<std::size_t>(options_.clients));
    for (std::int64_t& t : clock) {
      t = Between(0, 20);
    }
    std::vector<Pending> pending;
    for (int n = 0; n < options_.operations; ++n) {
      // The client that is free first goes next, so all stay busy at once.
      const auto client =
          static_cast<std::size_t>(std::min_element(clock.begin(), clock.end()) - clock.begin());
      Pending p;
      Op& op = p.op;
      op.process = static_cast<int>(client) + 1;
      op.entity = "e" + std::to_string(Between(1, options_.entities));
      const std::int64_t kind = Between(0, 99);
      op.kind = kind < 40 ? OpKind::kGet : (kind < 92 ? OpKind::kSet : OpKind::kCreate);
      op.invoke_ns = clock[client] + Between(0, 30);
      if (Chance(options_.refused)) {
        op.outcome = Outcome::kFailed;
        op.error = "busy";
        op.complete_ns = op.invoke_ns + Between(1, 50);
        p.effect_ns = op.invoke_ns;  // Answered like the others, but changes nothing.
      } else if (Chance(options_.indeterminate)) {
        op.outcome = Outcome::kIndeterminate;
        op.complete_ns = op.invoke_ns + kTimeout;  // When the client gave up.
        p.effect_ns =
            Chance(options_.never_applied) ? kNever : op.invoke_ns + Between(0, 4 * kTimeout);
      } else {
        p.effect_ns = op.invoke_ns + Between(0, 150);
        op.complete_ns = p.effect_ns + Between(0, 150);
      }
      clock[client] = op.complete_ns;
      pending.push_back(std::move(p));
    }
    return pending;
  }

  // Chooses the request, applies it to the true register, records the reply.
  void Answer(Pending* p) {
    Op& op = p->op;
    std::vector<std::string>& versions = truth_[op.entity];
    if (versions.empty()) {
      versions.push_back("");  // Version 0: absent.
    }
    const std::uint64_t version = versions.size() - 1;
    const std::string current = versions.back();
    if (op.kind != OpKind::kGet) {
      op.state = AnyState();
    }
    if (op.kind == OpKind::kSet) {
      ChooseConditions(&op, version, current);
    }
    if (op.outcome == Outcome::kFailed || p->effect_ns == kNever) {
      return;  // Refused, or an indeterminate write that never arrived.
    }
    const std::optional<std::string> error = Reply(op, version, current);
    if (!error) {
      if (op.kind != OpKind::kGet) {
        versions.push_back(op.state);
      }
      if (op.outcome == Outcome::kOk) {
        op.observed = Observed{versions.back(), versions.size() - 1};
      }
      return;
    }
    if (op.outcome == Outcome::kIndeterminate) {
      return;
    }
    op.outcome = Outcome::kFailed;
    op.error = *error;
    if (*error == "conflict" && Chance(0.9)) {
      op.observed = Observed{current, version};
    }
  }

  // Mostly right (clients usually read before they write), sometimes stale.
  void ChooseConditions(Op* op, std::uint64_t version, const std::string& current) {
    const std::int64_t expect = Between(0, 99);
    if (expect < 35 && version > 0) {
      op->expect = current;
    } else if (expect < 50) {
      op->expect = AnyState();
    }
    const std::int64_t if_version = Between(0, 99);
    if (if_version < 35 && version > 0) {
      op->if_version = version;
    } else if (if_version < 45) {
      op->if_version = static_cast<std::uint64_t>(
          std::max<std::int64_t>(1, static_cast<std::int64_t>(version) + Between(-2, 1)));
    }
  }

  // The register's error for `op`, or nullopt when it succeeds.
  static std::optional<std::string> Reply(const Op& op, std::uint64_t version,
                                          const std::string& current) {
    const bool present = version > 0;
    switch (op.kind) {
      case OpKind::kCreate:
        return present ? std::optional<std::string>("conflict") : std::nullopt;
      case OpKind::kGet:
        return present ? std::nullopt : std::optional<std::string>("not_found");
      case OpKind::kSet:
        if (!present) {
          return "not_found";
        }
        if ((!op.expect.empty() && op.expect != current) ||
            (op.if_version && *op.if_version != version)) {
          return "conflict";
        }
        return std::nullopt;
    }
    return std::nullopt;
  }

  const RandomHistoryOptions options_;
  std::mt19937_64 random_;
  std::map<std::string, std::vector<std::string>> truth_;
};

}  // namespace

RandomHistory GenerateRandomHistory(const RandomHistoryOptions& options) {
  return Generator(options).Run();
}

void PerturbOne(std::mt19937_64& random, std::vector<Op>* history) {
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  // Retries until something changed: most choices do not apply to most ops.
  for (;;) {
    Op& op = (*history)[pick(history->size())];
    switch (pick(5)) {
      case 0:
        if (op.observed) {
          const std::uint64_t v = op.observed->version;
          op.observed->version = pick(2) == 0 || v <= 1 ? v + 1 : v - 1;
          return;
        }
        break;
      case 1:
        if (op.observed) {
          const std::string before = op.observed->state;
          while (op.observed->state == before) {
            op.observed->state = kOtherStates[pick(std::size(kOtherStates))];
          }
          return;
        }
        break;
      case 2:
        if (op.kind != OpKind::kGet && op.outcome != Outcome::kIndeterminate) {
          op.outcome = Outcome::kIndeterminate;
          op.observed.reset();
          return;
        }
        break;
      case 3: {
        const auto shift = static_cast<std::int64_t>(pick(401)) - 200;
        if (shift != 0) {
          op.invoke_ns += shift;
          op.complete_ns = std::max(op.complete_ns + shift, op.invoke_ns);
          return;
        }
        break;
      }
      default:
        if (op.outcome == Outcome::kOk && op.kind == OpKind::kGet) {
          op.outcome = Outcome::kFailed;
          op.error = "not_found";
          op.observed.reset();
          return;
        }
        if (op.outcome == Outcome::kFailed && op.error == "conflict") {
          op.outcome = Outcome::kOk;  // Keeps the observed, if any.
          op.error.clear();
          return;
        }
        break;
    }
  }
}

}  // namespace tenure::history
