// Histogram: a log-linear latency histogram (HdrHistogram's layout) with at most 0.4% relative
// error on every reported value, cheap enough to record every request of a load test.
//
//   keel::loadgen::Histogram h;
//   h.record(12'345);                  // nanoseconds, or any unit: values are plain integers
//   uint64_t p99 = h.percentile(99.0);
//   total.merge(h);                    // per-connection histograms merged into one
//
// Layout: values below 2^kLinearBits (256) have one bucket each (exact). Above, every power of
// two [2^e, 2^(e+1)) is split into 2^kSubBucketBits (128) equal buckets, so a bucket is at most
// 1/128 of the smallest value in it wide; a percentile reports the bucket's midpoint (clamped to
// the exact min and max), which is within 1/256 (0.4%) of every value in that bucket. Values of
// 2^kMaxBits (about 18 minutes in nanoseconds) and more are clamped into the top bucket.
// Memory: kBucketCount (4352) 64-bit counters, about 34 KiB per histogram.
//
// Recording tracks the touched bucket range, so merge() and reset() cost the width of the range
// actually used rather than the whole array (latencies cluster in a few hundred buckets).
//
// Thread-safety: none; one histogram per connection, merged under the caller's lock.
#ifndef KEEL_BENCHMARKS_LOADGEN_HISTOGRAM_H_
#define KEEL_BENCHMARKS_LOADGEN_HISTOGRAM_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace keel::loadgen {

class Histogram {
 public:
  // 128 linear sub-buckets per power of two: bucket width / value <= 1/128, and reporting the
  // midpoint halves that, well inside the 1% the report promises.
  static constexpr int kSubBucketBits = 7;
  // Values below 2^(kSubBucketBits + 1) = 256 are recorded exactly.
  static constexpr int kLinearBits = kSubBucketBits + 1;
  // 2^40 ns is about 18 minutes: no request of a load test takes longer; larger values clamp.
  static constexpr int kMaxBits = 40;
  static constexpr std::size_t kBucketCount =
      (std::size_t{1} << kLinearBits) +
      static_cast<std::size_t>(kMaxBits - kLinearBits) * (std::size_t{1} << kSubBucketBits);
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;

  Histogram();

  void record(std::uint64_t value) {
    if (value > kMaxValue) value = kMaxValue;
    std::size_t i = index_of(value);
    ++counts_[i];
    if (i < lo_) lo_ = i;
    if (i > hi_) hi_ = i;
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  // 0 when empty.
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The value at percentile `p` (0..100]: the smallest recorded value (up to bucket precision)
  // with at least p% of the values at or below it. 0 when empty.
  std::uint64_t percentile(double p) const;

  static std::size_t index_of(std::uint64_t value) {
    if (value < (std::uint64_t{1} << kLinearBits)) return static_cast<std::size_t>(value);
    int e = 63 - std::countl_zero(value);  // e >= kLinearBits
    std::uint64_t sub = (value >> (e - kSubBucketBits)) - (std::uint64_t{1} << kSubBucketBits);
    return (std::size_t{1} << kLinearBits) +
           static_cast<std::size_t>(e - kLinearBits) * (std::size_t{1} << kSubBucketBits) +
           static_cast<std::size_t>(sub);
  }
  static std::uint64_t lowest_in(std::size_t index);
  static std::uint64_t highest_in(std::size_t index);

 private:
  std::vector<std::uint64_t> counts_;
  std::size_t lo_;  // touched range [lo_, hi_]; lo_ > hi_ when empty
  std::size_t hi_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;  // 2^64 ns is 584 years: no overflow in a load test
  std::uint64_t min_;
  std::uint64_t max_ = 0;
};

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_HISTOGRAM_H_
