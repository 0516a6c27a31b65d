// The main() the attnsel benchmark suites share: Google Benchmark plus context lines naming the
// instruction set the kernels run on (attnsel::simd_arch(): the TU's, or linked to
// attnsel::compiled the one chosen at run time) and Eigen's thread count.
#pragma once

#include <attnsel/attnsel.hpp>

#include <benchmark/benchmark.h>

#include <string>

#define ATTNSEL_BENCHMARK_MAIN()                                                                   \
  int main(int argc, char** argv) {                                                                \
    benchmark::Initialize(&argc, argv);                                                            \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                              \
    benchmark::AddCustomContext("attnsel_simd_arch", attnsel::simd_arch());                        \
    benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));              \
    benchmark::RunSpecifiedBenchmarks();                                                           \
    benchmark::Shutdown();                                                                         \
    return 0;                                                                                      \
  }
