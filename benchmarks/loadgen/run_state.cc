#include "benchmarks/loadgen/run_state.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "benchmarks/loadgen/absl_compat.h"

namespace keel::loadgen {
namespace {

// "No end" for runs bounded by --requests: far enough never to come, near enough that adding
// to it does not overflow.
constexpr Duration kForever = std::chrono::hours(24 * 365);

// A well-mixed seed from (connection, session): sessions seeded with nearby values would draw
// shifted copies of one splitmix64 sequence (the same keys on every connection).
std::uint64_t mix_seed(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

Instant end_of(const Config& c, Instant start) {
  return c.requests > 0 ? start + kForever : start + c.warmup + c.duration;
}

}  // namespace

RunState::RunState(const Config& config, const Protocol& protocol, Instant start)
    : config_(config),
      protocol_(protocol),
      start_(start),
      measure_start_(start + config.warmup),
      end_(end_of(config, start)),
      last_finish_(start + config.warmup) {}

void RunState::publish(Histogram& latency, ErrorCounts& errors, std::uint64_t& requests,
                       std::string& first_error) {
  absl::MutexLock lock(&mu_);
  results_.latency.merge(latency);
  results_.errors.merge(errors);
  results_.requests += requests;
  if (results_.first_error.empty() && !first_error.empty()) results_.first_error = first_error;
  latency.reset();
  errors = ErrorCounts{};
  requests = 0;
}

void RunState::connection_finished(Instant at) {
  absl::MutexLock lock(&mu_);
  last_finish_ = std::max(last_finish_, at);
}

ProgressSnapshot RunState::snapshot() {
  absl::MutexLock lock(&mu_);
  return ProgressSnapshot{results_.requests, results_.errors.total(),
                          results_.latency.percentile(99)};
}

Results RunState::results() {
  absl::MutexLock lock(&mu_);
  Results r;
  r.requests = results_.requests;
  r.errors = results_.errors;
  r.latency.merge(results_.latency);
  r.first_error = results_.first_error;
  // With --duration the window is exactly that long (every connection runs to its end).
  r.duration_s = config_.requests > 0
                     ? std::chrono::duration<double>(last_finish_.duration_since(measure_start_))
                           .count()
                     : std::chrono::duration<double>(config_.duration).count();
  return r;
}

ConnectionCore::ConnectionCore(RunState* run, int index, std::uint64_t quota)
    : run_(run),
      open_loop_(run->config().rate > 0),
      window_(static_cast<std::size_t>(run->config().pipeline)),
      quota_(quota),
      interval_(open_loop_ ? std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                                 run->config().connections / run->config().rate))
                           : Duration(0)),
      seed_(static_cast<std::uint64_t>(index) << 32),
      ring_(window_),
      next_publish_(run->start() + kPublishInterval) {
  // Stagger the connections' open-loop schedules evenly across one interval.
  next_send_ = run->start() + interval_ * index / std::max(1, run->config().connections);
}

void ConnectionCore::begin_session() {
  session_ = run_->protocol().new_session(mix_seed(seed_++));
  head_ = count_ = live_ = 0;
  out_.clear();
  head_in_ = tail_ = 0;
  session_->start(out_);
}

bool ConnectionCore::can_send(Instant now) const {
  if (count_ >= window_) return false;  // done entries behind a live one still hold slots
  if (quota_ > 0 && issued_ >= quota_) return false;
  if (now >= run_->end()) return false;
  return !open_loop_ || next_send_ <= now;
}

void ConnectionCore::encode_one(Instant now) {
  Instant intended = now;
  if (open_loop_) {
    intended = next_send_;
    next_send_ += interval_;
  }
  std::uint64_t id = next_id_++;
  session_->encode(id, out_);
  ring_[(head_ + count_) % ring_.size()] = Entry{id, intended, now, false};
  ++count_;
  ++live_;
  if (now >= run_->measure_start()) ++issued_;
}

Instant ConnectionCore::next_deadline() const {
  Instant d = run_->end();
  for (std::size_t i = 0; i < count_; ++i) {
    if (!at(i).done) {
      d = std::min(d, at(i).sent + timeout());
      break;
    }
  }
  if (open_loop_ && count_ < window_ && (quota_ == 0 || issued_ < quota_)) {
    d = std::min(d, next_send_);
  }
  return d;
}

bool ConnectionCore::finished(Instant now) const {
  if (now >= run_->end()) return true;
  return quota_ > 0 && issued_ >= quota_ && live_ == 0;
}

std::span<char> ConnectionCore::read_space() {
  if (in_.size() - tail_ < kReadChunk) {
    // Move the unread bytes to the front, then grow if that is not enough.
    if (head_in_ > 0) {
      std::memmove(in_.data(), in_.data() + head_in_, tail_ - head_in_);
      tail_ -= head_in_;
      head_in_ = 0;
    }
    if (in_.size() - tail_ < kReadChunk) in_.resize(tail_ + kReadChunk);
  }
  return std::span<char>(in_.data() + tail_, in_.size() - tail_);
}

void ConnectionCore::pop_done() {
  while (count_ > 0 && at(0).done) {
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }
}

void ConnectionCore::complete(Entry& e, const Decoded& d, Instant now) {
  e.done = true;
  --live_;
  if (!run_->measuring(now)) return;
  if (d.status == DecodeStatus::kServerError) {
    count_error(ErrorKind::kServerError, d.error, now);
    return;
  }
  latency_.record(static_cast<std::uint64_t>(now.duration_since(e.intended).count()));
  ++ok_;
}

bool ConnectionCore::on_stream_data(Instant now) {
  while (head_in_ < tail_) {
    std::string_view in(in_.data() + head_in_, tail_ - head_in_);
    if (count_ == 0) {
      // Bytes nobody asked for: a server speaking out of turn.
      fail_all(ErrorKind::kProtocol,
               absl::InternalError(absl::StrCat(av(run_->protocol().name()),
                                                ": data received with no request in flight")),
               now);
      return false;
    }
    Entry& front = at(0);
    Decoded d = session_->decode(in, front.id);
    if (d.status == DecodeStatus::kNeedMore) break;
    if (d.status == DecodeStatus::kError) {
      fail_all(ErrorKind::kProtocol, absl::InternalError(d.error), now);
      return false;
    }
    head_in_ += d.consumed;
    if (d.status == DecodeStatus::kControl) {
      session_->pending_output(out_);
      continue;
    }
    if (d.id.has_value() && *d.id != front.id) {
      fail_all(ErrorKind::kProtocol,
               absl::InternalError(absl::StrCat(av(run_->protocol().name()), ": response to request ",
                                                *d.id, " where ", front.id, " was expected")),
               now);
      return false;
    }
    complete(front, d, now);
    pop_done();
  }
  if (head_in_ == tail_) head_in_ = tail_ = 0;
  return true;
}

void ConnectionCore::on_datagram(std::string_view datagram, Instant now) {
  std::uint64_t oldest = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (!at(i).done) {
      oldest = at(i).id;
      break;
    }
  }
  if (live_ == 0) return;  // a late answer to a request already counted as timed out
  Decoded d = session_->decode(datagram, oldest);
  if (d.status == DecodeStatus::kControl) return;
  if (d.status != DecodeStatus::kResponse && d.status != DecodeStatus::kServerError) {
    count_error(ErrorKind::kProtocol,
                d.status == DecodeStatus::kNeedMore
                    ? absl::StrCat(av(run_->protocol().name()), ": truncated datagram of ",
                                   datagram.size(), " bytes")
                    : d.error,
                now);
    return;
  }
  if (d.consumed != datagram.size()) {
    count_error(ErrorKind::kProtocol,
                absl::StrCat(av(run_->protocol().name()), ": datagram of ", datagram.size(),
                             " bytes holds ", datagram.size() - d.consumed, " extra bytes"),
                now);
    return;
  }
  std::uint64_t id = d.id.value_or(oldest);
  for (std::size_t i = 0; i < count_; ++i) {
    Entry& e = at(i);
    if (!e.done && e.id == id) {
      complete(e, d, now);
      pop_done();
      return;
    }
  }
  // Not in flight: a late answer to a request that already timed out (or a duplicate).
}

bool ConnectionCore::expire(Instant now, bool datagram) {
  std::size_t expired = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    Entry& e = at(i);
    if (e.done) continue;
    if (e.sent + timeout() > now) break;
    ++expired;
    if (datagram) {
      e.done = true;
      --live_;
      count_error(ErrorKind::kTimeout,
                  absl::StrCat(av(run_->protocol().name()), ": no answer within the timeout"), now);
    }
  }
  if (datagram) {
    pop_done();
    return false;
  }
  if (expired == 0) return false;
  fail_all(ErrorKind::kTimeout,
           absl::DeadlineExceededError(
               absl::StrCat(av(run_->protocol().name()), ": no answer within the timeout")),
           now);
  return true;
}

void ConnectionCore::fail_all(ErrorKind kind, const absl::Status& why, Instant now) {
  count_error(kind, sv(why.message()), now, std::max<std::uint64_t>(live_, 1));
  head_ = count_ = live_ = 0;
}

void ConnectionCore::on_connect_error(const absl::Status& why, Instant now) {
  count_error(classify(why), sv(why.message()), now);
  if (now >= run_->measure_start()) ++issued_;  // a dead server must not stall --requests
}

void ConnectionCore::count_error(ErrorKind kind, std::string_view why, Instant now,
                                 std::uint64_t n) {
  if (first_error_.empty()) first_error_ = std::string(why);
  if (!run_->measuring(now)) return;
  errors_.add(kind, n);
}

void ConnectionCore::maybe_publish(Instant now) {
  if (now < next_publish_) return;
  next_publish_ = now + kPublishInterval;
  run_->publish(latency_, errors_, ok_, first_error_);
}

void ConnectionCore::finish(Instant now) {
  run_->publish(latency_, errors_, ok_, first_error_);
  run_->connection_finished(now);
}

}  // namespace keel::loadgen
