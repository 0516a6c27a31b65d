#include "bench_main.hpp"
ATTNSEL_BENCHMARK_MAIN()
