#include "tenure/cli/bench.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <ostream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenure/base/check.h"
#include "tenure/base/ids.h"
#include "tenure/cli/latency_histogram.h"
#include "tenure/pipeline.h"

#include <unistd.h>

namespace tenure::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Kind { kGet, kSet, kCas, kCreate };

// An id "<prefix><n>" built in place: no allocation per request. The
// caller checked that the longest one is a valid id (RunBench).
class IdBuffer {
 public:
  explicit IdBuffer(std::string prefix) : prefix_(std::move(prefix)) {
    TENURE_CHECK(prefix_.size() <= kEntityIdBytesMax);
    std::copy(prefix_.begin(), prefix_.end(), buffer_.begin());
  }
  std::string_view For(std::uint64_t n) {
    const std::to_chars_result r =
        std::to_chars(buffer_.data() + prefix_.size(), buffer_.data() + buffer_.size(), n);
    TENURE_CHECK(r.ec == std::errc());
    return {buffer_.data(), static_cast<std::size_t>(r.ptr - buffer_.data())};
  }

 private:
  std::string prefix_;
  std::array<char, kEntityIdBytesMax + 24> buffer_{};  // 24: any uint64 in decimal.
};

// What one run measured.
struct Tally {
  LatencyHistogram latency;
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t> errors;  // By kind; "timeout" apart from unavailable.

  std::uint64_t error_count() const {
    std::uint64_t n = 0;
    for (const auto& [kind, count] : errors) {
      n += count;
    }
    return n;
  }
};

std::string ErrorKind(const ClientError& e) {
  if (e.code == ErrorCode::kUnavailable && e.message.starts_with("no reply within")) {
    return "timeout";
  }
  return std::string(ErrorName(e.code));
}

// The ids' prefix: the one given, or a default (see BenchOptions::prefix).
std::string IdPrefix(const BenchOptions& o, std::mt19937_64& rng) {
  if (!o.prefix.empty()) {
    return o.prefix;
  }
  if (o.op != "create") {
    return "bench_";
  }
  char tag[32];
  std::snprintf(tag, sizeof tag, "bench_%04x_", static_cast<unsigned>(rng() & 0xffff));
  return tag;
}

class Bench {
 public:
  Bench(const BenchOptions& options, std::string prefix, const ClientOptions& client,
        std::ostream& err)
      : options_(options),
        pipeline_(client),
        err_(err),
        ids_(std::move(prefix)),
        slots_(static_cast<std::size_t>(options.concurrency)),
        known_versions_(options.op == "cas" ? options.entities : 0, 0),
        progress_(isatty(STDERR_FILENO) == 1) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      free_slots_.push_back(slots_.size() - 1 - i);
    }
  }

  // Creates the entities that are missing (conflict: it exists) and leaves
  // them active on the node that serves them.
  bool Prepare() {
    if (progress_) {
      err_ << "preparing " << options_.entities << " entities...\n";
    }
    std::uint64_t failed = 0;
    std::string last_error;
    std::uint64_t next = 0;
    std::vector<Completion> done;
    while (next < options_.entities || pipeline_.in_flight() > 0) {
      while (next < options_.entities &&
             pipeline_.in_flight() < static_cast<std::size_t>(options_.concurrency)) {
        pipeline_.Create(ids_.For(next), "initialized", next);
        ++next;
      }
      done.clear();
      pipeline_.Wait(milliseconds(100), done);
      for (const Completion& c : done) {
        if (!c.result.ok() && c.result.error().code != ErrorCode::kConflict) {
          ++failed;
          last_error = c.result.error().message;
        }
      }
    }
    if (failed > 0) {
      err_ << "client bench: " << failed << " of " << options_.entities
           << " entities could not be prepared; last error: " << last_error << "\n";
      return false;
    }
    return true;
  }

  // Runs the warmup (not recorded) and the measured window.
  void Run() {
    const auto now = SteadyClock::now();
    const bool warm = !Bounded() && options_.warmup_s > 0;
    measure_start_ = warm ? now + Seconds(options_.warmup_s) : now;
    measure_end_ = measure_start_ + Seconds(options_.duration_s);
    next_progress_ = now + milliseconds(500);
    std::vector<Completion> done;
    done.reserve(slots_.size());
    while (true) {
      const auto t = SteadyClock::now();
      const bool sending = t < measure_end_ && !Exhausted();
      while (sending && !free_slots_.empty() && !Exhausted()) {
        Issue(t);
      }
      if (!sending && pipeline_.in_flight() == 0) {
        break;
      }
      done.clear();
      pipeline_.Wait(milliseconds(50), done);
      const auto after = SteadyClock::now();
      for (Completion& c : done) {
        Complete(c, after);
      }
      if (progress_ && after >= next_progress_) {
        ShowProgress(after);
        next_progress_ = after + milliseconds(500);
      }
    }
    if (progress_) {
      err_ << "\r\033[K";
    }
    elapsed_ = std::max(SteadyClock::duration::zero(),
                        std::min(SteadyClock::now(), measure_end_) - measure_start_);
    if (Exhausted() && last_completion_ > measure_start_) {
      elapsed_ = last_completion_ - measure_start_;
    }
  }

  const Tally& tally() const { return tally_; }
  double elapsed_s() const { return std::chrono::duration<double>(elapsed_).count(); }

 private:
  struct Slot {
    SteadyClock::time_point sent;
    std::uint64_t entity = 0;
  };

  static SteadyClock::duration Seconds(double s) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
  }

  // A run over a fixed set of ids: each once, or N creates. It has no
  // warmup (it would use the ids up) and ends when they are done.
  bool Bounded() const {
    return (options_.once || options_.op == "create") && options_.entities > 0;
  }
  bool Exhausted() const { return Bounded() && issued_ >= options_.entities; }

  Kind Pick() {
    if (options_.op == "get") return Kind::kGet;
    if (options_.op == "set") return Kind::kSet;
    if (options_.op == "cas") return Kind::kCas;
    if (options_.op == "create") return Kind::kCreate;
    return rng_() % 10 == 0 ? Kind::kSet : Kind::kGet;  // mix
  }

  void Issue(SteadyClock::time_point now) {
    const std::size_t slot = free_slots_.back();
    free_slots_.pop_back();
    const std::uint64_t entity =
        options_.once || options_.op == "create" ? issued_ : rng_() % options_.entities;
    ++issued_;
    slots_[slot] = {now, entity};
    const std::string_view id = ids_.For(entity);
    // Writes alternate the state so that every set changes the row.
    const std::string_view state = (issued_ & 1) != 0 ? "working" : "initialized";
    switch (Pick()) {
      case Kind::kGet:
        pipeline_.Get(id, slot);
        return;
      case Kind::kSet:
        pipeline_.Set(id, state, {}, slot);
        return;
      case Kind::kCas: {
        SetOptions cas;
        cas.if_version = known_versions_[entity];
        pipeline_.Set(id, state, cas, slot);
        return;
      }
      case Kind::kCreate:
        pipeline_.Create(id, "initialized", slot);
        return;
    }
  }

  void Complete(const Completion& c, SteadyClock::time_point now) {
    const Slot& slot = slots_[c.tag];
    if (!known_versions_.empty()) {
      if (c.result.ok()) {
        known_versions_[slot.entity] = c.result.value().version;
      } else if (c.result.error().actual_version) {
        known_versions_[slot.entity] = *c.result.error().actual_version;
      }
    }
    free_slots_.push_back(c.tag);
    if (slot.sent < measure_start_ || now > measure_end_) {
      return;  // Warmup, or after the window.
    }
    last_completion_ = now;
    if (c.result.ok()) {
      ++tally_.ok;
      tally_.latency.Record(c.latency);
    } else {
      ++tally_.errors[ErrorKind(c.result.error())];
    }
  }

  void ShowProgress(SteadyClock::time_point now) {
    char line[160];
    if (now < measure_start_) {
      std::snprintf(line, sizeof line, "\r\033[Kwarming up...");
    } else {
      const double s = std::chrono::duration<double>(now - measure_start_).count();
      std::snprintf(line, sizeof line, "\r\033[K%6.1f s  %10.0f ops/s  %llu ops  %llu errors", s,
                    s > 0 ? static_cast<double>(tally_.ok) / s : 0.0,
                    static_cast<unsigned long long>(tally_.ok),
                    static_cast<unsigned long long>(tally_.error_count()));
    }
    err_ << line << std::flush;
  }

  const BenchOptions& options_;
  std::mt19937_64 rng_{std::random_device{}()};
  Pipeline pipeline_;
  std::ostream& err_;
  IdBuffer ids_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> free_slots_;
  std::vector<std::uint64_t> known_versions_;  // cas: the newest version seen per entity.
  const bool progress_;
  std::uint64_t issued_ = 0;
  SteadyClock::time_point measure_start_;
  SteadyClock::time_point measure_end_;
  SteadyClock::time_point next_progress_;
  SteadyClock::time_point last_completion_;
  SteadyClock::duration elapsed_{};
  Tally tally_;
};

double Micros(std::chrono::nanoseconds ns) { return static_cast<double>(ns.count()) / 1000.0; }

void Report(const BenchOptions& o, const Bench& bench, std::ostream& out) {
  const Tally& t = bench.tally();
  const double s = bench.elapsed_s();
  const double rate = s > 0 ? static_cast<double>(t.ok) / s : 0.0;
  const LatencyHistogram& h = t.latency;
  if (o.json) {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [kind, count] : t.errors) {
      kinds[kind] = count;
    }
    nlohmann::json j = {{"op", o.op},
                        {"concurrency", o.concurrency},
                        {"duration_s", s},
                        {"ops", t.ok},
                        {"ops_per_s", rate},
                        {"p50_us", Micros(h.Percentile(0.50))},
                        {"p90_us", Micros(h.Percentile(0.90))},
                        {"p99_us", Micros(h.Percentile(0.99))},
                        {"p999_us", Micros(h.Percentile(0.999))},
                        {"max_us", Micros(h.max())},
                        {"errors", t.error_count()},
                        {"error_kinds", kinds}};
    out << j.dump() << "\n";
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "%s: %llu ops in %.2f s = %.0f ops/s (%d in flight)\n"
                "latency us: p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
                o.op.c_str(), static_cast<unsigned long long>(t.ok), s, rate, o.concurrency,
                Micros(h.Percentile(0.50)), Micros(h.Percentile(0.90)), Micros(h.Percentile(0.99)),
                Micros(h.Percentile(0.999)), Micros(h.max()));
  out << line << "errors:";
  if (t.errors.empty()) {
    out << " none";
  }
  for (const auto& [kind, count] : t.errors) {
    out << " " << kind << " " << count;
  }
  out << "\n";
}

}  // namespace

int RunBench(const BenchOptions& options, const ClientOptions& client, std::ostream& out,
             std::ostream& err) {
  std::mt19937_64 rng{std::random_device{}()};
  std::string prefix = IdPrefix(options, rng);
  // The longest id this run can send must be valid (it is built in place).
  const std::uint64_t last =
      options.entities > 0 ? options.entities - 1 : std::numeric_limits<std::uint64_t>::max();
  if (Status s = ValidateEntityId(prefix + std::to_string(last)); !s.ok()) {
    err << "client bench: --prefix: " << s.message() << "\n";
    return ExitCodeFor(ErrorCode::kBadRequest);
  }
  Bench bench(options, std::move(prefix), client, err);
  if (options.prepare && options.op != "create" && !bench.Prepare()) {
    return ExitCodeFor(ErrorCode::kUnavailable);
  }
  bench.Run();
  Report(options, bench, out);
  if (bench.tally().ok == 0) {
    err << "client bench: no request succeeded\n";
    return ExitCodeFor(ErrorCode::kUnavailable);
  }
  return 0;
}

}  // namespace tenure::cli
