// Writes the valid inputs of the seed corpus: fuzz_make_seeds DIR writes
// DIR/<target>/<name> for every fuzz target, overwriting files of the same
// name and leaving others (the crash reproducers) alone. Message bodies come
// from the real encoder, so after a protocol change rerun it on
// tests/fuzz/corpus and check in what changed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenure/protocol/codec.h"
#include "tenure/protocol/envelope.h"
#include "tenure/protocol/messages.h"

namespace {

using namespace tenure::literals;

using namespace tenure::protocol;

using Seeds = std::vector<std::pair<std::string, std::string>>;  // Name, bytes.

Seeds Requests() {
  Seeds out;
  auto add = [&out](std::string name, Request r) { out.emplace_back(name, Encode(r)); };
  add("request_get", {.request_id = 1, .op = Op::kGet, .entity_id = "entity_1"});
  add("request_set_every_field", {.request_id = 2,
                                  .op = Op::kSet,
                                  .entity_id = "entity_1",
                                  .state = "working",
                                  .expect = "initialized",
                                  .if_version = 3_version,
                                  .via = "foo",
                                  .forwarded = true});
  add("request_create", {.request_id = 3, .op = Op::kCreate, .entity_id = "e", .state = "working"});
  add("request_list", {.request_id = 4, .op = Op::kList, .entity_id = "after", .limit = 1000});
  add("request_nodes", {.request_id = 5, .op = Op::kNodes});
  add("request_where", {.request_id = 6, .op = Op::kWhere, .entity_id = "entity_1"});
  add("request_history", {.request_id = 0xffffffffffffffff, .op = Op::kHistory, .entity_id = "x"});
  return out;
}

Seeds Replies() {
  const EntityView entity{
      .id = "entity_1", .state = "working", .version = 7_version, .owner = "foo", .epoch = 2_epoch};
  Seeds out;
  auto add = [&out](std::string name, Reply r) { out.emplace_back(name, Encode(r)); };
  add("reply_entity", {.request_id = 1, .owner = "foo", .entity = entity});
  add("reply_list", {.request_id = 4, .entities = {entity, {.id = "entity_2", .state = "x"}}});
  add("reply_nodes", {.request_id = 5,
                      .nodes = {{.id = "foo",
                                 .voter = true,
                                 .alive = true,
                                 .incarnation = tenure::Incarnation{0x1234567890abcdef},
                                 .entities = 12,
                                 .heartbeat_age_ms = 250},
                                {.id = "bar", .heartbeat_age_ms = -1}}});
  add("reply_history", {.request_id = 6,
                        .tenures = {{.node = "foo",
                                     .epoch = 1_epoch,
                                     .acquired_at = "2024-01-01T00:00:00.000Z",
                                     .released_at = "2024-01-01T00:01:00.000Z",
                                     .reason = "shutdown"},
                                    {.node = "bar", .epoch = 2_epoch}}});
  add("reply_conflict", {.request_id = 2,
                         .code = tenure::ErrorCode::kConflict,
                         .message = "state is 'working', not 'initialized'",
                         .actual_state = "working",
                         .actual_version = 9_version});
  add("reply_unavailable",
      {.request_id = 3, .code = tenure::ErrorCode::kUnavailable, .message = "no quorum"});
  return out;
}

const std::string kSettings = "voters=bar,baz,foo lease=2000ms margin=50ms drift=0.01";

Seeds Heartbeats() {
  return {
      {"heartbeat_broker", Encode(Heartbeat{.node = "foo",
                                            .incarnation = tenure::Incarnation{0xfedcba9876543210},
                                            .seq = 1,
                                            .sent_ms = 123456,
                                            .voter = true,
                                            .entities = 3,
                                            .settings = kSettings})},
      {"heartbeat_voter", Encode(Heartbeat{.node = "foo",
                                           .incarnation = 1_inc,
                                           .seq = 2,
                                           .sent_ms = -5,
                                           .to = "bar",
                                           .settings = kSettings})},
  };
}

Seeds LockMessages() {
  using Kind = LockMessage::Kind;
  const std::vector<LockItem> items = {
      {.name = "entity_1", .claim = 5_claim},
      {.name = "entity_2", .claim = tenure::ClaimNumber{0xffffffffff}}};
  const std::vector<LockItem> denied = {{.name = "entity_1", .claim = 5_claim, .holder = "baz"}};
  Seeds out;
  for (const auto& [kind, list] :
       std::vector<std::pair<Kind, std::vector<LockItem>>>{{Kind::kHbAck, {}},
                                                           {Kind::kNack, {}},
                                                           {Kind::kClaim, items},
                                                           {Kind::kGrant, items},
                                                           {Kind::kDeny, denied},
                                                           {Kind::kRelease, items},
                                                           {Kind::kReleased, items},
                                                           {Kind::kMismatch, {}}}) {
    const LockMessage m{.kind = kind,
                        .from = "foo",
                        .from_incarnation = 11_inc,
                        .to = "bar",
                        .to_incarnation = 22_inc,
                        .seq = kind == Kind::kHbAck ? 33u : 0u,
                        .sent_ms = kind == Kind::kClaim || kind == Kind::kGrant ? 44 : 0,
                        .items = list,
                        .settings = kind == Kind::kMismatch ? kSettings : ""};
    out.emplace_back("lock_" + std::string(LockKindName(kind)), Encode(m));
  }
  return out;
}

Seeds Events() {
  using Kind = Event::Kind;
  Seeds out;
  for (Kind kind : {Kind::kChanged, Kind::kActivated, Kind::kPassivated}) {
    const Event e{.kind = kind,
                  .entity_id = "entity_1",
                  .state = "working",
                  .version = 3_version,
                  .epoch = 2_epoch,
                  .node = "foo",
                  .reason = kind == Kind::kPassivated ? "idle" : ""};
    out.emplace_back("event_" + std::string(EventKindName(kind)), Encode(e));
  }
  for (Kind kind : {Kind::kNodeUp, Kind::kNodeDown}) {
    out.emplace_back("event_" + std::string(EventKindName(kind)),
                     Encode(Event{.kind = kind, .node = "foo", .reason = "heartbeats stopped"}));
  }
  return out;
}

// The envelope target's input format: each frame as a 2-byte little-endian
// length, then its bytes.
std::string Frames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& frame : frames) {
    out.push_back(static_cast<char>(frame.size() & 0xff));
    out.push_back(static_cast<char>(frame.size() >> 8));
    out += frame;
  }
  return out;
}

Seeds Envelopes() {
  const std::string sig(kSignature);
  const std::string route("\x00\x80\x00\x41\xa7", 5);  // What a ROUTER makes up.
  const std::string request = Encode(Request{.request_id = 1, .op = Op::kGet, .entity_id = "e"});
  const std::string reply = Encode(Reply{.request_id = 1, .owner = "foo"});
  return {
      {"request_routed", Frames({sig, request, route})},
      {"reply_routed", Frames({sig, reply, route})},
      {"heartbeat", Frames({sig, Heartbeats()[0].second})},
      {"lock_claim", Frames({sig, LockMessages()[2].second})},
      {"route_at_limit", Frames({sig, reply, std::string(kRouteBytesMax, 'r')})},
  };
}

Seeds Durations() {
  return {{"bare_ms", "250"}, {"ms", "250ms"}, {"seconds", "3s"},
          {"minutes", "10m"}, {"hours", "1h"}, {"longest", "1099511627776"}};
}

// Real config files: the examples of README.md and docs/OPERATIONS.md, one
// that sets every option of both executables, and one with non-ASCII comments.
Seeds Configs() {
  return {
      {"readme.toml", R"(log_level = "info"
[worker_node]
id = "foo"
db = "/var/lib/tenure/foo.db"
broker = "tcp://10.0.0.5:5555"
pub = "tcp://10.0.0.5:5556"
idle = "10m"        # passivate a worker unused this long
sync = "full"       # or "normal": faster, may lose the last writes on power loss
)"},
      {"operations.toml", R"(voters = ["foo", "bar", "baz"]
lease = "2s"
[broker]
router = "tcp://0.0.0.0:5555"
pub = "tcp://0.0.0.0:5556"
[worker_node]
broker = "tcp://10.0.0.5:5555"
pub = "tcp://10.0.0.5:5556"
db = "/var/lib/tenure/tenure.db"
)"},
      {"every_option.toml", R"(# Top-level keys apply to both executables.
voters = ["foo", "bar", "baz"]
lease = 2000
log_level = "warn"

[broker]
router = "tcp://*:5555"
pub = "ipc:///tmp/tenure-pub"
fault_file = "/tmp/faults"
lease = "3s"

[worker_node]
id = "foo"
broker = "tcp://[::1]:5555"
pub = "tcp://localhost:*"
db = "tenure.db"
voters = "foo,bar"
idle = "500ms"
sync = "normal"
mailbox = 64
log-level = "debug"

[client]
timeout = "5s"
)"},
      // Non-ASCII text is allowed in comment lines only (toml_prescan.h).
      {"comment_lines.toml",
       "# Konfiguration f\xc3\xbcr den Knoten \xe2\x80\x94 \xe6\xb3\xa8\xe9\x87\x8a\n"
       "id = \"foo\"\n"
       "\t# caf\xc3\xa9 \\ \xc3\xa9t\xc3\xa9\n"},
  };
}

bool WriteAll(const std::filesystem::path& dir, const Seeds& seeds) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : seeds) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  Seeds codec;
  for (const Seeds& part : {Requests(), Replies(), Heartbeats(), LockMessages(), Events()}) {
    codec.insert(codec.end(), part.begin(), part.end());
  }
  const bool ok = WriteAll(root / "codec", codec) && WriteAll(root / "envelope", Envelopes()) &&
                  WriteAll(root / "duration", Durations()) && WriteAll(root / "config", Configs());
  return ok ? 0 : 1;
}
