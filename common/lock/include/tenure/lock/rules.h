// LockRules: the safety rules of the lock table (DESIGN §4), each one a
// switch so that the simulator can show what breaks without it. Production
// code always runs with every rule on (the default).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tenure/base/strong_id.h"
#include "tenure/base/time.h"

namespace tenure::lock {

struct LockRules {
  // Claim numbers: a GRANT/DENY counts only for the claim being pursued; a
  // voter never moves an entry back to an older claim, and RELEASE frees only
  // an entry whose claim number is not newer than the released one.
  bool claim_numbers = true;
  // No break: a grant counts only while its voter's deadline has been
  // unexpired without a break since the CLAIM it answers was sent.
  bool no_break = true;
  // Incarnation echo: replies name the node incarnation they answer, and a
  // node drops replies meant for another incarnation of its id.
  bool incarnation_echo = true;
  // Quiet period: a restarted voter grants nothing for lease + margin.
  bool quiet_period = true;
  // Session margin: deadline_v uses the factor (1 - d) / (1 + d) and
  // subtracts the margin, instead of trusting the voter's clock rate.
  bool session_margin = true;
  // Release repeated until acknowledged, and stray grants released.
  bool release_repeat = true;
  // Settings check: a voter answers a heartbeat only if it carries the
  // voter's own settings text (SettingsText), so that a node configured with
  // other voters or another lease is refused instead of counted.
  bool settings_check = true;

  // "all" (every rule on), "none", "all-NAME" (every rule but NAME) or a
  // comma list of the names that are on; "all-A,B" turns off A and B. The
  // syntax of tenure_sim --rules.
  static bool Parse(std::string_view text, LockRules& out);
  std::string ToString() const;
};

struct LockTiming {
  Duration lease = std::chrono::milliseconds(2000);
  Duration margin = std::chrono::milliseconds(50);
  double drift = 0.01;  // Bound on each clock's rate error against real time.

  Duration heartbeat_interval() const { return lease / 4; }
  Duration quiet_period() const { return lease + margin; }
  // A claim that has no majority by then gives up. Longer than a voter's quiet
  // period, so that a node and its voters starting together do not fail the
  // first requests.
  Duration claim_timeout() const { return 2 * lease; }
  // How long a new process keeps heartbeating through NACKs before it calls
  // itself a twin: a crashed predecessor's session lapses at every voter
  // within a lease of its last heartbeat, a live twin's never does.
  Duration twin_wait() const { return 2 * lease; }
};

// The broker's voter id when it acts as witness. '@' is not allowed in node ids.
inline constexpr std::string_view kWitnessId = "@broker";
inline NodeId WitnessId() { return NodeId(kWitnessId); }

// The voters of a cluster configured with `voters`: those, plus the broker's
// witness when their number is even, so that the count is odd. An empty list
// means a cluster of one node that votes for itself (`self`; empty for the
// broker, which then has no vote).
std::vector<NodeId> EffectiveVoters(const std::vector<NodeId>& voters, const NodeId& self);

// The canonical text of what the safety of the lock table depends on and
// every process of a cluster must agree on: the effective voter set (as
// EffectiveVoters returns it, the witness included when present) and the
// timing that enters the deadline formula. Sorted, so that the order of a
// --voters list does not matter; duplicates are kept (they would change the
// majority). Human-readable, as it is shown in errors, e.g.
// "voters=@broker,bar,foo lease=2000ms margin=50ms drift=0.01". Two processes
// agree exactly when their texts are equal.
std::string SettingsText(std::vector<NodeId> voters, const LockTiming& timing);

// Votes needed among `voters`: a strict majority. By convention an empty voter
// set needs one vote, which it can never get.
inline std::size_t Majority(std::size_t voters) { return voters / 2 + 1; }

}  // namespace tenure::lock
