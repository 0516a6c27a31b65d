// Used only when the Catch2 found has no Catch2WithMain library (a v2 built from source).
#if __has_include(<catch2/catch_test_macros.hpp>)
#error "Catch2 v3 ships Catch2WithMain; this file is for v2 only"
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
