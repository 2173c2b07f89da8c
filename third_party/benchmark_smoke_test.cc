// Proves that Debian's Google Benchmark links and runs a benchmark.

#include <benchmark/benchmark.h>

#include <cstdio>

namespace {

int runs = 0;

void BM_Count(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(++runs);
}
BENCHMARK(BM_Count)->Iterations(10);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (runs != 10) {
    std::fprintf(stderr, "expected 10 benchmark iterations, ran %d\n", runs);
    return 1;
  }
  return 0;
}
