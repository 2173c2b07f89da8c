#include "benchmarks/loadgen/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace keel::loadgen {

Histogram::Histogram()
    : counts_(kBucketCount, 0),
      lo_(kBucketCount),
      hi_(0),
      min_(std::numeric_limits<std::uint64_t>::max()) {}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = other.lo_; i <= other.hi_; ++i) counts_[i] += other.counts_[i];
  lo_ = std::min(lo_, other.lo_);
  hi_ = std::max(hi_, other.hi_);
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  if (count_ != 0) std::fill(counts_.begin() + lo_, counts_.begin() + hi_ + 1, 0);
  lo_ = kBucketCount;
  hi_ = 0;
  count_ = 0;
  sum_ = 0;
  min_ = std::numeric_limits<std::uint64_t>::max();
  max_ = 0;
}

std::uint64_t Histogram::lowest_in(std::size_t index) {
  constexpr std::size_t kLinear = std::size_t{1} << kLinearBits;
  if (index < kLinear) return index;
  std::size_t k = index - kLinear;
  int e = kLinearBits + static_cast<int>(k >> kSubBucketBits);
  std::uint64_t sub = (std::uint64_t{1} << kSubBucketBits) + (k & ((1u << kSubBucketBits) - 1));
  return sub << (e - kSubBucketBits);
}

std::uint64_t Histogram::highest_in(std::size_t index) {
  constexpr std::size_t kLinear = std::size_t{1} << kLinearBits;
  if (index < kLinear) return index;
  int e = kLinearBits + static_cast<int>((index - kLinear) >> kSubBucketBits);
  return lowest_in(index) + (std::uint64_t{1} << (e - kSubBucketBits)) - 1;
}

std::uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = lo_; i <= hi_; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t mid = lowest_in(i) + (highest_in(i) - lowest_in(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace keel::loadgen
