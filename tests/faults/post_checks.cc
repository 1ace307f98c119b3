#include "faults/post_checks.h"

#include <algorithm>

namespace tenure::faults {

namespace {

std::string Describe(const history::Observed& o) {
  return o.state + " v" + std::to_string(o.version);
}

}  // namespace

std::vector<std::string> VersionsGoingBack(const std::vector<history::Op>& ops) {
  std::map<std::string, std::vector<const history::Op*>> by_entity;
  for (const history::Op& op : ops) {
    if (op.observed && op.outcome != history::Outcome::kIndeterminate) {
      by_entity[op.entity].push_back(&op);
    }
  }
  std::vector<std::string> out;
  for (auto& [entity, list] : by_entity) {
    std::vector<const history::Op*> by_complete = list;
    std::sort(list.begin(), list.end(), [](const history::Op* a, const history::Op* b) {
      return a->invoke_ns < b->invoke_ns;
    });
    std::sort(
        by_complete.begin(), by_complete.end(),
        [](const history::Op* a, const history::Op* b) { return a->complete_ns < b->complete_ns; });
    // Sweep invocations in order; `newest` is the highest version observed by
    // an operation that completed before the current one was invoked.
    std::size_t done = 0;
    const history::Op* newest = nullptr;
    for (const history::Op* op : list) {
      while (done < by_complete.size() && by_complete[done]->complete_ns < op->invoke_ns) {
        const history::Op* c = by_complete[done++];
        if (newest == nullptr || c->observed->version > newest->observed->version) {
          newest = c;
        }
      }
      if (newest != nullptr && op->observed->version < newest->observed->version) {
        out.push_back(entity + ": client " + std::to_string(op->process) + " saw " +
                      Describe(*op->observed) + " after client " + std::to_string(newest->process) +
                      " had seen " + Describe(*newest->observed));
      }
    }
  }
  return out;
}

std::vector<std::string> LostWrites(const std::vector<history::Op>& ops,
                                    const std::map<std::string, history::Observed>& final_reads,
                                    const std::map<std::string, history::Observed>& rows) {
  std::map<std::string, history::Observed> acked;  // Newest acknowledged write per entity.
  for (const history::Op& op : ops) {
    if (op.kind != history::OpKind::kGet && op.outcome == history::Outcome::kOk && op.observed) {
      auto [it, fresh] = acked.try_emplace(op.entity, *op.observed);
      if (!fresh && op.observed->version > it->second.version) {
        it->second = *op.observed;
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& [entity, write] : acked) {
    auto read = final_reads.find(entity);
    auto row = rows.find(entity);
    if (read == final_reads.end()) {
      out.push_back(entity + ": acknowledged " + Describe(write) + " but the final read failed");
      continue;
    }
    if (read->second.version < write.version) {
      out.push_back(entity + ": acknowledged " + Describe(write) + " but the final read is " +
                    Describe(read->second));
    }
    if (row == rows.end()) {
      out.push_back(entity + ": acknowledged " + Describe(write) + " but no row in the database");
    } else if (row->second.version != read->second.version ||
               row->second.state != read->second.state) {
      out.push_back(entity + ": the final read is " + Describe(read->second) +
                    " but the database row is " + Describe(row->second));
    }
  }
  return out;
}

}  // namespace tenure::faults
