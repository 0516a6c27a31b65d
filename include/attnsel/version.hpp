// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file version.hpp
/// The library version: the single source CMake parses for `project(VERSION)`.

#define ATTNSEL_VERSION_MAJOR 0
#define ATTNSEL_VERSION_MINOR 1
#define ATTNSEL_VERSION_PATCH 0

/// Version as one integer, MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 -> 100).
#define ATTNSEL_VERSION (ATTNSEL_VERSION_MAJOR * 10000 + ATTNSEL_VERSION_MINOR * 100 + ATTNSEL_VERSION_PATCH)

#define ATTNSEL_DETAIL_STR_(x) #x
#define ATTNSEL_DETAIL_STR(x) ATTNSEL_DETAIL_STR_(x)

/// Version as a string literal, "MAJOR.MINOR.PATCH".
#define ATTNSEL_VERSION_STRING                                                                     \
  ATTNSEL_DETAIL_STR(ATTNSEL_VERSION_MAJOR)                                                        \
  "." ATTNSEL_DETAIL_STR(ATTNSEL_VERSION_MINOR) "." ATTNSEL_DETAIL_STR(ATTNSEL_VERSION_PATCH)
