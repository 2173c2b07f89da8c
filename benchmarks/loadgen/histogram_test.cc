// Histogram: bucket layout, the <= 1% relative error bound over many magnitudes, percentiles
// against exact order statistics, merge and reset.
#include "benchmarks/loadgen/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace keel::loadgen {
namespace {

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 256; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 127u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 255u);
  EXPECT_EQ(h.percentile(100), 255u);
}

TEST(Histogram, BucketsTileTheRange) {
  // Every bucket starts right after the previous one ends, and index_of agrees at both ends.
  for (std::size_t i = 0; i + 1 < Histogram::kBucketCount; ++i) {
    EXPECT_EQ(Histogram::highest_in(i) + 1, Histogram::lowest_in(i + 1)) << i;
    EXPECT_EQ(Histogram::index_of(Histogram::lowest_in(i)), i);
    EXPECT_EQ(Histogram::index_of(Histogram::highest_in(i)), i);
  }
  EXPECT_EQ(Histogram::highest_in(Histogram::kBucketCount - 1), Histogram::kMaxValue);
}

TEST(Histogram, EverySingleValueWithinOnePercent) {
  // One value per histogram, over 40 binary magnitudes: the reported percentile is clamped
  // to min/max, so test the bucket midpoint through two values in one bucket instead.
  std::mt19937_64 rng(42);
  for (int e = 0; e < Histogram::kMaxBits; ++e) {
    for (int k = 0; k < 50; ++k) {
      std::uint64_t lo = std::uint64_t{1} << e;
      std::uint64_t v = lo + rng() % lo;
      if (v > Histogram::kMaxValue) v = Histogram::kMaxValue;
      std::size_t i = Histogram::index_of(v);
      std::uint64_t mid =
          Histogram::lowest_in(i) + (Histogram::highest_in(i) - Histogram::lowest_in(i)) / 2;
      double err = std::abs(static_cast<double>(mid) - static_cast<double>(v)) / v;
      EXPECT_LE(err, 0.01) << v;
      EXPECT_LE(err, 1.0 / 256) << v;
    }
  }
}

TEST(Histogram, PercentilesMatchExactOrderStatistics) {
  // Log-uniform latencies from 1 us to 1 s (in ns), as real runs spread.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(3.0, 9.0);
  std::vector<std::uint64_t> values;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    auto v = static_cast<std::uint64_t>(std::pow(10.0, exponent(rng)));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * values.size()));
    std::uint64_t exact = values[std::max<std::size_t>(rank, 1) - 1];
    double err = std::abs(static_cast<double>(h.percentile(p)) - exact) / exact;
    EXPECT_LE(err, 0.01) << "p" << p << " exact " << exact << " got " << h.percentile(p);
  }
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  double sum = 0;
  for (std::uint64_t v : values) sum += static_cast<double>(v);
  EXPECT_NEAR(h.mean(), sum / values.size(), 1.0);
}

TEST(Histogram, PercentileRanks) {
  Histogram h;
  for (int i = 0; i < 99; ++i) h.record(100);
  h.record(10000);
  EXPECT_EQ(h.percentile(50), 100u);
  EXPECT_EQ(h.percentile(99), 100u);
  double p999 = static_cast<double>(h.percentile(99.9));
  EXPECT_NEAR(p999, 10000, 10000 * 0.01);
  EXPECT_EQ(h.percentile(100), 10000u);
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (std::uint64_t v = 1; v < 100000; v += 37) {
    (v % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(Histogram, ResetAndHugeValues) {
  Histogram h;
  h.record(5);
  h.record(~std::uint64_t{0});  // clamped into the top bucket
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  h.record(1000);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.percentile(50), 1000u);
  Histogram empty;
  h.merge(empty);
  EXPECT_EQ(h.count(), 1u);
}

}  // namespace
}  // namespace keel::loadgen
