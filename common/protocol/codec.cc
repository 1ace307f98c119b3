#include "tenure/protocol/codec.h"

#include <array>
#include <limits>
#include <type_traits>
#include <utility>

#include <msgpack.hpp>

namespace tenure::protocol {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 7> kOps = {{
    {Op::kGet, "get"},
    {Op::kSet, "set"},
    {Op::kCreate, "create"},
    {Op::kList, "list"},
    {Op::kNodes, "nodes"},
    {Op::kWhere, "where"},
    {Op::kHistory, "history"},
}};

constexpr std::array<std::pair<Event::Kind, std::string_view>, 5> kEventKinds = {{
    {Event::Kind::kChanged, "changed"},
    {Event::Kind::kActivated, "activated"},
    {Event::Kind::kPassivated, "passivated"},
    {Event::Kind::kNodeUp, "node_up"},
    {Event::Kind::kNodeDown, "node_down"},
}};

constexpr std::array<std::pair<LockMessage::Kind, std::string_view>, 9> kLockKinds = {{
    {LockMessage::Kind::kHbAck, "hb_ack"},
    {LockMessage::Kind::kNack, "nack"},
    {LockMessage::Kind::kMismatch, "mismatch"},
    {LockMessage::Kind::kClaim, "claim"},
    {LockMessage::Kind::kGrant, "grant"},
    {LockMessage::Kind::kDeny, "deny"},
    {LockMessage::Kind::kRelease, "release"},
    {LockMessage::Kind::kReleased, "released"},
    {LockMessage::Kind::kQuiet, "quiet"},
}};

// Packs straight into the std::string that Encode returns: no buffer to copy
// out of.
class StringSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void write(const char* data, std::size_t size) {
    out_.append(data, size);
  }  // NOLINT: msgpack's name.

 private:
  std::string& out_;
};

using Packer = msgpack::packer<StringSink>;

// ---------------------------------------------------------------- encoding

void PackStr(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// Counts the fields a map will hold before packing them: msgpack needs the
// size up front, and optional fields are left out when absent.
class MapWriter {
 public:
  explicit MapWriter(Packer& pk) : pk_(pk) {}
  void Str(std::string_view key, std::string_view value) {
    PackStr(pk_, key);
    PackStr(pk_, value);
  }
  void Uint(std::string_view key, std::uint64_t value) {
    PackStr(pk_, key);
    pk_.pack_uint64(value);
  }
  template <typename Tag>
  void Uint(std::string_view key, Strong<Tag, std::uint64_t> value) {
    Uint(key, value.value());
  }
  void Int(std::string_view key, std::int64_t value) {
    PackStr(pk_, key);
    pk_.pack_int64(value);
  }
  void Bool(std::string_view key, bool value) {
    PackStr(pk_, key);
    value ? pk_.pack_true() : pk_.pack_false();
  }
  Packer& Key(std::string_view key) {
    PackStr(pk_, key);
    return pk_;
  }

 private:
  Packer& pk_;
};

std::uint32_t Count(std::initializer_list<bool> present) {
  std::uint32_t n = 0;
  for (bool p : present) {
    n += p ? 1 : 0;
  }
  return n;
}

void PackEntity(Packer& pk, const EntityView& e) {
  pk.pack_map(5);
  MapWriter w(pk);
  w.Str("id", e.id);
  w.Str("state", e.state);
  w.Uint("version", e.version);
  w.Str("owner", e.owner);
  w.Uint("epoch", e.epoch);
}

void PackNode(Packer& pk, const NodeView& n) {
  pk.pack_map(6);
  MapWriter w(pk);
  w.Str("id", n.id);
  w.Bool("voter", n.voter);
  w.Bool("alive", n.alive);
  w.Uint("incarnation", n.incarnation);
  w.Uint("entities", n.entities);
  w.Int("heartbeat_age_ms", n.heartbeat_age_ms);
}

void PackTenure(Packer& pk, const TenureView& t) {
  pk.pack_map(5);
  MapWriter w(pk);
  w.Str("node", t.node);
  w.Uint("epoch", t.epoch);
  w.Str("acquired_at", t.acquired_at);
  w.Str("released_at", t.released_at);
  w.Str("reason", t.reason);
}

void PackMessage(Packer& pk, const Request& r) {
  pk.pack_map(3 + Count({!r.entity_id.empty(), !r.state.empty(), !r.expect.empty(),
                         r.if_version.has_value(), r.limit != 0, !r.via.empty(), r.forwarded}));
  MapWriter w(pk);
  w.Str("t", "req");
  w.Uint("rid", r.request_id);
  w.Str("op", OpName(r.op));
  if (!r.entity_id.empty()) {
    w.Str("id", r.entity_id);
  }
  if (!r.state.empty()) {
    w.Str("state", r.state);
  }
  if (!r.expect.empty()) {
    w.Str("expect", r.expect);
  }
  if (r.if_version) {
    w.Uint("if_version", *r.if_version);
  }
  if (r.limit != 0) {
    w.Uint("limit", r.limit);
  }
  if (!r.via.empty()) {
    w.Str("via", r.via);
  }
  if (r.forwarded) {
    w.Bool("forwarded", true);
  }
}

void PackMessage(Packer& pk, const Reply& r) {
  pk.pack_map(3 + Count({!r.message.empty(), !r.owner.empty(), r.entity.has_value(),
                         !r.entities.empty(), !r.nodes.empty(), !r.actual_state.empty(),
                         r.actual_version.has_value(), !r.tenures.empty()}));
  MapWriter w(pk);
  w.Str("t", "rep");
  w.Uint("rid", r.request_id);
  w.Str("code", ErrorName(r.code));
  if (!r.message.empty()) {
    w.Str("message", r.message);
  }
  if (!r.owner.empty()) {
    w.Str("owner", r.owner);
  }
  if (r.entity) {
    PackEntity(w.Key("entity"), *r.entity);
  }
  if (!r.entities.empty()) {
    w.Key("entities").pack_array(static_cast<std::uint32_t>(r.entities.size()));
    for (const EntityView& e : r.entities) {
      PackEntity(pk, e);
    }
  }
  if (!r.tenures.empty()) {
    w.Key("tenures").pack_array(static_cast<std::uint32_t>(r.tenures.size()));
    for (const TenureView& t : r.tenures) {
      PackTenure(pk, t);
    }
  }
  if (!r.nodes.empty()) {
    w.Key("nodes").pack_array(static_cast<std::uint32_t>(r.nodes.size()));
    for (const NodeView& n : r.nodes) {
      PackNode(pk, n);
    }
  }
  if (!r.actual_state.empty()) {
    w.Str("actual_state", r.actual_state);
  }
  if (r.actual_version) {
    w.Uint("actual_version", *r.actual_version);
  }
}

void PackMessage(Packer& pk, const Heartbeat& h) {
  pk.pack_map(7 + Count({!h.to.empty(), !h.settings.empty()}));
  MapWriter w(pk);
  w.Str("t", "hb");
  w.Str("node", h.node);
  w.Uint("inc", h.incarnation);
  w.Uint("seq", h.seq);
  w.Int("sent_ms", h.sent_ms);
  w.Bool("voter", h.voter);
  w.Uint("entities", h.entities);
  if (!h.to.empty()) {
    w.Str("to", h.to);
  }
  if (!h.settings.empty()) {
    w.Str("settings", h.settings);
  }
}

void PackMessage(Packer& pk, const LockMessage& m) {
  pk.pack_map(9 + Count({!m.settings.empty()}));
  MapWriter w(pk);
  w.Str("t", "lock");
  w.Str("kind", LockKindName(m.kind));
  w.Str("from", m.from);
  w.Uint("from_inc", m.from_incarnation);
  w.Str("to", m.to);
  w.Uint("to_inc", m.to_incarnation);
  w.Uint("seq", m.seq);
  w.Int("sent_ms", m.sent_ms);
  w.Key("items").pack_array(static_cast<std::uint32_t>(m.items.size()));
  for (const LockItem& item : m.items) {
    pk.pack_map(2 + Count({!item.holder.empty(), item.lapse_ms != 0}));
    MapWriter iw(pk);
    iw.Str("name", item.name);
    iw.Uint("claim", item.claim);
    if (!item.holder.empty()) {
      iw.Str("holder", item.holder);
    }
    if (item.lapse_ms != 0) {
      iw.Uint("lapse_ms", item.lapse_ms);
    }
  }
  if (!m.settings.empty()) {
    w.Str("settings", m.settings);
  }
}

void PackMessage(Packer& pk, const Event& e) {
  pk.pack_map(2 + Count({!e.entity_id.empty(), !e.state.empty(), e.version.value() != 0,
                         e.epoch.value() != 0, !e.node.empty(), !e.reason.empty()}));
  MapWriter w(pk);
  w.Str("t", "ev");
  w.Str("kind", EventKindName(e.kind));
  if (!e.entity_id.empty()) {
    w.Str("id", e.entity_id);
  }
  if (!e.state.empty()) {
    w.Str("state", e.state);
  }
  if (e.version.value() != 0) {
    w.Uint("version", e.version);
  }
  if (e.epoch.value() != 0) {
    w.Uint("epoch", e.epoch);
  }
  if (!e.node.empty()) {
    w.Str("node", e.node);
  }
  if (!e.reason.empty()) {
    w.Str("reason", e.reason);
  }
}

// ---------------------------------------------------------------- decoding

// A view of one msgpack map: checks keys once, then answers typed lookups.
class MapView {
 public:
  static Result<MapView> Of(const msgpack::object& obj, std::string_view what) {
    if (obj.type != msgpack::type::MAP) {
      return Status::BadRequest(std::string(what) + " is not a map");
    }
    // Maps are small (the unpacker bounds them): checking each key against
    // the ones before it is cheaper than building an index, and allocates
    // nothing.
    const msgpack::object_map& map = obj.via.map;
    for (std::uint32_t i = 0; i < map.size; ++i) {
      if (map.ptr[i].key.type != msgpack::type::STR) {
        return Status::BadRequest(std::string(what) + " has a non-string key");
      }
      const std::string_view key = KeyOf(map.ptr[i]);
      for (std::uint32_t j = 0; j < i; ++j) {
        if (KeyOf(map.ptr[j]) == key) {
          return Status::BadRequest(std::string(what) + " repeats key '" + std::string(key) + "'");
        }
      }
    }
    return MapView(map);
  }

  const msgpack::object* Find(std::string_view key) const {
    for (std::uint32_t i = 0; i < map_->size; ++i) {
      if (KeyOf(map_->ptr[i]) == key) {
        return &map_->ptr[i].val;
      }
    }
    return nullptr;
  }

  // Each getter: a missing optional key leaves `out` as it is.
  Status Str(std::string_view key, std::string& out, bool required = false) const {
    const msgpack::object* v = Find(key);
    if (v == nullptr) {
      return Missing(key, required);
    }
    if (v->type != msgpack::type::STR) {
      return Wrong(key, "a string");
    }
    out.assign(v->via.str.ptr, v->via.str.size);
    return Status::Ok();
  }

  template <typename T>
  Status Uint(std::string_view key, T& out, bool required = false) const {
    static_assert(std::is_unsigned_v<T>);
    const msgpack::object* v = Find(key);
    if (v == nullptr) {
      return Missing(key, required);
    }
    if (v->type != msgpack::type::POSITIVE_INTEGER || v->via.u64 > std::numeric_limits<T>::max()) {
      return Wrong(key, "an unsigned integer in range");
    }
    out = static_cast<T>(v->via.u64);
    return Status::Ok();
  }

  // The wire carries the number; the strong type is the decoder's to give.
  template <typename Tag>
  Status Uint(std::string_view key, Strong<Tag, std::uint64_t>& out, bool required = false) const {
    std::uint64_t value = out.value();
    Status s = Uint(key, value, required);
    out = Strong<Tag, std::uint64_t>(value);
    return s;
  }

  template <typename Tag>
  Status OptUint(std::string_view key, std::optional<Strong<Tag, std::uint64_t>>& out) const {
    if (Find(key) == nullptr) {
      return Status::Ok();
    }
    Strong<Tag, std::uint64_t> value;
    Status s = Uint(key, value);
    if (s.ok()) {
      out = value;
    }
    return s;
  }

  Status Int(std::string_view key, std::int64_t& out, bool required = false) const {
    const msgpack::object* v = Find(key);
    if (v == nullptr) {
      return Missing(key, required);
    }
    if (v->type == msgpack::type::NEGATIVE_INTEGER) {
      out = v->via.i64;
    } else if (v->type == msgpack::type::POSITIVE_INTEGER &&
               v->via.u64 <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      out = static_cast<std::int64_t>(v->via.u64);
    } else {
      return Wrong(key, "an integer in range");
    }
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool& out, bool required = false) const {
    const msgpack::object* v = Find(key);
    if (v == nullptr) {
      return Missing(key, required);
    }
    if (v->type != msgpack::type::BOOLEAN) {
      return Wrong(key, "a boolean");
    }
    out = v->via.boolean;
    return Status::Ok();
  }

 private:
  static Status Missing(std::string_view key, bool required) {
    return required ? Status::BadRequest("missing field '" + std::string(key) + "'") : Status::Ok();
  }
  static Status Wrong(std::string_view key, std::string_view want) {
    return Status::BadRequest("field '" + std::string(key) + "' is not " + std::string(want));
  }

  explicit MapView(const msgpack::object_map& map) : map_(&map) {}
  static std::string_view KeyOf(const msgpack::object_kv& kv) {
    return {kv.key.via.str.ptr, kv.key.via.str.size};
  }

  const msgpack::object_map* map_;  // Keys checked by Of(): strings, no repeats.
};

// Runs the checks in order and stops at the first failure.
#define TENURE_RETURN_IF_ERROR(expr) \
  do {                               \
    Status _s = (expr);              \
    if (!_s.ok()) return _s;         \
  } while (false)

Result<EntityView> DecodeEntity(const msgpack::object& obj) {
  Result<MapView> m = MapView::Of(obj, "entity");
  if (!m.ok()) {
    return m.status();
  }
  EntityView e;
  TENURE_RETURN_IF_ERROR(m->Str("id", e.id, true));
  TENURE_RETURN_IF_ERROR(m->Str("state", e.state, true));
  TENURE_RETURN_IF_ERROR(m->Uint("version", e.version, true));
  TENURE_RETURN_IF_ERROR(m->Str("owner", e.owner));
  TENURE_RETURN_IF_ERROR(m->Uint("epoch", e.epoch));
  return e;
}

Result<NodeView> DecodeNode(const msgpack::object& obj) {
  Result<MapView> m = MapView::Of(obj, "node");
  if (!m.ok()) {
    return m.status();
  }
  NodeView n;
  TENURE_RETURN_IF_ERROR(m->Str("id", n.id, true));
  TENURE_RETURN_IF_ERROR(m->Bool("voter", n.voter));
  TENURE_RETURN_IF_ERROR(m->Bool("alive", n.alive));
  TENURE_RETURN_IF_ERROR(m->Uint("incarnation", n.incarnation));
  TENURE_RETURN_IF_ERROR(m->Uint("entities", n.entities));
  TENURE_RETURN_IF_ERROR(m->Int("heartbeat_age_ms", n.heartbeat_age_ms));
  return n;
}

template <typename T>
Status DecodeArray(const MapView& m, std::string_view key,
                   Result<T> (*decode_one)(const msgpack::object&), std::vector<T>& out) {
  const msgpack::object* v = m.Find(key);
  if (v == nullptr) {
    return Status::Ok();
  }
  if (v->type != msgpack::type::ARRAY || v->via.array.size > kListRowsMax) {
    return Status::BadRequest("field '" + std::string(key) + "' is not an array in range");
  }
  out.reserve(v->via.array.size);
  for (std::uint32_t i = 0; i < v->via.array.size; ++i) {
    Result<T> one = decode_one(v->via.array.ptr[i]);
    if (!one.ok()) {
      return one.status();
    }
    out.push_back(std::move(one).value());
  }
  return Status::Ok();
}

Result<TenureView> DecodeTenure(const msgpack::object& obj) {
  Result<MapView> m = MapView::Of(obj, "tenure");
  if (!m.ok()) {
    return m.status();
  }
  TenureView t;
  TENURE_RETURN_IF_ERROR(m->Str("node", t.node, true));
  TENURE_RETURN_IF_ERROR(m->Uint("epoch", t.epoch, true));
  TENURE_RETURN_IF_ERROR(m->Str("acquired_at", t.acquired_at));
  TENURE_RETURN_IF_ERROR(m->Str("released_at", t.released_at));
  TENURE_RETURN_IF_ERROR(m->Str("reason", t.reason));
  return t;
}

Result<Message> DecodeRequest(const MapView& m) {
  Request r;
  std::string op;
  TENURE_RETURN_IF_ERROR(m.Uint("rid", r.request_id, true));
  TENURE_RETURN_IF_ERROR(m.Str("op", op, true));
  std::optional<Op> parsed = ParseOp(op);
  if (!parsed) {
    return Status::BadRequest("unknown op '" + op + "'");
  }
  r.op = *parsed;
  TENURE_RETURN_IF_ERROR(m.Str("id", r.entity_id));
  TENURE_RETURN_IF_ERROR(m.Str("state", r.state));
  TENURE_RETURN_IF_ERROR(m.Str("expect", r.expect));
  TENURE_RETURN_IF_ERROR(m.OptUint("if_version", r.if_version));
  TENURE_RETURN_IF_ERROR(m.Uint("limit", r.limit));
  TENURE_RETURN_IF_ERROR(m.Str("via", r.via));
  TENURE_RETURN_IF_ERROR(m.Bool("forwarded", r.forwarded));
  return Message(std::move(r));
}

Result<Message> DecodeReply(const MapView& m) {
  Reply r;
  std::string code;
  TENURE_RETURN_IF_ERROR(m.Uint("rid", r.request_id, true));
  TENURE_RETURN_IF_ERROR(m.Str("code", code, true));
  std::optional<ErrorCode> parsed = ParseErrorName(code);
  if (!parsed) {
    return Status::BadRequest("unknown reply code '" + code + "'");
  }
  r.code = *parsed;
  TENURE_RETURN_IF_ERROR(m.Str("message", r.message));
  TENURE_RETURN_IF_ERROR(m.Str("owner", r.owner));
  if (const msgpack::object* e = m.Find("entity")) {
    Result<EntityView> entity = DecodeEntity(*e);
    if (!entity.ok()) {
      return entity.status();
    }
    r.entity = std::move(entity).value();
  }
  TENURE_RETURN_IF_ERROR(DecodeArray<EntityView>(m, "entities", &DecodeEntity, r.entities));
  TENURE_RETURN_IF_ERROR(DecodeArray<NodeView>(m, "nodes", &DecodeNode, r.nodes));
  TENURE_RETURN_IF_ERROR(DecodeArray<TenureView>(m, "tenures", &DecodeTenure, r.tenures));
  TENURE_RETURN_IF_ERROR(m.Str("actual_state", r.actual_state));
  TENURE_RETURN_IF_ERROR(m.OptUint("actual_version", r.actual_version));
  return Message(std::move(r));
}

Result<Message> DecodeHeartbeat(const MapView& m) {
  Heartbeat h;
  TENURE_RETURN_IF_ERROR(m.Str("node", h.node, true));
  TENURE_RETURN_IF_ERROR(m.Uint("inc", h.incarnation, true));
  TENURE_RETURN_IF_ERROR(m.Uint("seq", h.seq, true));
  TENURE_RETURN_IF_ERROR(m.Int("sent_ms", h.sent_ms, true));
  TENURE_RETURN_IF_ERROR(m.Bool("voter", h.voter));
  TENURE_RETURN_IF_ERROR(m.Uint("entities", h.entities));
  TENURE_RETURN_IF_ERROR(m.Str("to", h.to));
  TENURE_RETURN_IF_ERROR(m.Str("settings", h.settings));
  return Message(std::move(h));
}

Result<LockItem> DecodeLockItem(const msgpack::object& obj) {
  Result<MapView> m = MapView::Of(obj, "lock item");
  if (!m.ok()) {
    return m.status();
  }
  LockItem item;
  TENURE_RETURN_IF_ERROR(m->Str("name", item.name, true));
  TENURE_RETURN_IF_ERROR(m->Uint("claim", item.claim, true));
  TENURE_RETURN_IF_ERROR(m->Str("holder", item.holder));
  TENURE_RETURN_IF_ERROR(m->Uint("lapse_ms", item.lapse_ms));
  return item;
}

Result<Message> DecodeLock(const MapView& m) {
  LockMessage l;
  std::string kind;
  TENURE_RETURN_IF_ERROR(m.Str("kind", kind, true));
  bool known = false;
  for (const auto& [k, name] : kLockKinds) {
    if (name == kind) {
      l.kind = k;
      known = true;
    }
  }
  if (!known) {
    return Status::BadRequest("unknown lock message kind '" + kind + "'");
  }
  TENURE_RETURN_IF_ERROR(m.Str("from", l.from, true));
  TENURE_RETURN_IF_ERROR(m.Uint("from_inc", l.from_incarnation, true));
  TENURE_RETURN_IF_ERROR(m.Str("to", l.to, true));
  TENURE_RETURN_IF_ERROR(m.Uint("to_inc", l.to_incarnation));
  TENURE_RETURN_IF_ERROR(m.Uint("seq", l.seq));
  TENURE_RETURN_IF_ERROR(m.Int("sent_ms", l.sent_ms));
  TENURE_RETURN_IF_ERROR(DecodeArray<LockItem>(m, "items", &DecodeLockItem, l.items));
  TENURE_RETURN_IF_ERROR(m.Str("settings", l.settings));
  return Message(std::move(l));
}

Result<Message> DecodeEvent(const MapView& m) {
  Event e;
  std::string kind;
  TENURE_RETURN_IF_ERROR(m.Str("kind", kind, true));
  bool known = false;
  for (const auto& [k, name] : kEventKinds) {
    if (name == kind) {
      e.kind = k;
      known = true;
    }
  }
  if (!known) {
    return Status::BadRequest("unknown event kind '" + kind + "'");
  }
  TENURE_RETURN_IF_ERROR(m.Str("id", e.entity_id));
  TENURE_RETURN_IF_ERROR(m.Str("state", e.state));
  TENURE_RETURN_IF_ERROR(m.Uint("version", e.version));
  TENURE_RETURN_IF_ERROR(m.Uint("epoch", e.epoch));
  TENURE_RETURN_IF_ERROR(m.Str("node", e.node));
  TENURE_RETURN_IF_ERROR(m.Str("reason", e.reason));
  return Message(std::move(e));
}

// Bounds what a hostile body can make the unpacker allocate. bin and ext are
// bounded by the body size only: no message uses them, but a newer peer's
// unknown field may, and unknown fields are skipped, not refused.
msgpack::unpack_limit Limits() {
  return msgpack::unpack_limit(/*array=*/kListRowsMax, /*map=*/64, /*str=*/kBodyBytesMax,
                               /*bin=*/kBodyBytesMax, /*ext=*/kBodyBytesMax, /*depth=*/6);
}

}  // namespace

std::string_view OpName(Op op) {
  for (const auto& [o, name] : kOps) {
    if (o == op) {
      return name;
    }
  }
  TENURE_CHECK(false);
  return {};
}

std::optional<Op> ParseOp(std::string_view name) {
  for (const auto& [o, n] : kOps) {
    if (n == name) {
      return o;
    }
  }
  return std::nullopt;
}

std::string_view LockKindName(LockMessage::Kind kind) {
  for (const auto& [k, name] : kLockKinds) {
    if (k == kind) {
      return name;
    }
  }
  TENURE_CHECK(false);
  return {};
}

std::string_view EventKindName(Event::Kind kind) {
  for (const auto& [k, name] : kEventKinds) {
    if (k == kind) {
      return name;
    }
  }
  TENURE_CHECK(false);
  return {};
}

namespace {

template <typename M>
std::string EncodeOne(const M& message) {
  std::string out;
  out.reserve(128);  // Most messages fit: one allocation.
  StringSink sink(out);
  Packer pk(sink);
  PackMessage(pk, message);
  return out;
}

// Strings in the unpacked object point into the body instead of being copied
// into the zone: the decoders copy what they keep before the body goes.
bool ReferenceStrings(msgpack::type::object_type /*type*/, std::size_t /*length*/,
                      void* /*user_data*/) {
  return true;
}

}  // namespace

std::string Encode(const Message& message) {
  return std::visit([](const auto& m) { return EncodeOne(m); }, message);
}
std::string Encode(const Request& m) { return EncodeOne(m); }
std::string Encode(const Reply& m) { return EncodeOne(m); }
std::string Encode(const Heartbeat& m) { return EncodeOne(m); }
std::string Encode(const LockMessage& m) { return EncodeOne(m); }
std::string Encode(const Event& m) { return EncodeOne(m); }

Result<Message> Decode(std::string_view body) {
  if (body.empty() || body.size() > kBodyBytesMax) {
    return Status::BadRequest("message body of " + std::to_string(body.size()) +
                              " bytes is out of range");
  }
  // One zone per thread, emptied after each message: a zone of its own per
  // message cost a malloc and free of its first chunk every time.
  thread_local msgpack::zone zone;
  struct ClearAfter {
    ~ClearAfter() { zone.clear(); }
  } clear_after;
  msgpack::object object;
  std::size_t offset = 0;
  try {
    object = msgpack::unpack(zone, body.data(), body.size(), offset, &ReferenceStrings, nullptr,
                             Limits());
  } catch (const std::exception& e) {
    return Status::BadRequest(std::string("malformed msgpack: ") + e.what());
  }
  if (offset != body.size()) {
    return Status::BadRequest("trailing bytes after the message");
  }
  Result<MapView> m = MapView::Of(object, "message");
  if (!m.ok()) {
    return m.status();
  }
  std::string type;
  TENURE_RETURN_IF_ERROR(m->Str("t", type, true));
  if (type == "req") {
    return DecodeRequest(*m);
  }
  if (type == "rep") {
    return DecodeReply(*m);
  }
  if (type == "hb") {
    return DecodeHeartbeat(*m);
  }
  if (type == "ev") {
    return DecodeEvent(*m);
  }
  if (type == "lock") {
    return DecodeLock(*m);
  }
  return Status::BadRequest("unknown message type '" + type + "'");
}

}  // namespace tenure::protocol
