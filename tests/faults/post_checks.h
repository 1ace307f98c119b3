// Checks of a run besides linearizability, each simple enough to trust on
// its own: versions seen never go back in real time, and no acknowledged
// write is missing from the final reads or from the database file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "history/history.h"

namespace tenure::faults {

// Every observation (ok reply, or conflict carrying the current value) made
// by an operation invoked after another completed has a version at least as
// new, per entity. Returns one line per violation (empty: none).
std::vector<std::string> VersionsGoingBack(const std::vector<history::Op>& ops);

// For every entity with an acknowledged write: the final read and the
// database row exist, the final read's version is not older than any
// acknowledged one, and the row holds exactly what the final read returned.
// `final_reads` and `rows` map entity id -> (state, version).
std::vector<std::string> LostWrites(const std::vector<history::Op>& ops,
                                    const std::map<std::string, history::Observed>& final_reads,
                                    const std::map<std::string, history::Observed>& rows);

}  // namespace tenure::faults
