# Finds the library's own dependencies: Eigen >= 3.4 and xsimd >= 8.1.
# No version goes into find_package: both packages ship SameMajorVersion version files, which
# would reject Eigen 5 or xsimd 9..14. The minimum is checked here instead.
include_guard(GLOBAL)

set(ATTNSEL_MIN_EIGEN_VERSION 3.4)
set(ATTNSEL_MIN_XSIMD_VERSION 8.1)

if(NOT TARGET Eigen3::Eigen)
  find_package(Eigen3 NO_MODULE)
  if(NOT Eigen3_FOUND)
    message(FATAL_ERROR "attnsel needs Eigen >= ${ATTNSEL_MIN_EIGEN_VERSION} "
      "(Debian/Ubuntu: apt-get install libeigen3-dev), or an Eigen3::Eigen target defined before attnsel")
  endif()
  if(Eigen3_VERSION VERSION_LESS ATTNSEL_MIN_EIGEN_VERSION)
    message(FATAL_ERROR "attnsel needs Eigen >= ${ATTNSEL_MIN_EIGEN_VERSION}, found ${Eigen3_VERSION} in ${Eigen3_DIR}")
  endif()
endif()

if(NOT TARGET xsimd)
  find_package(xsimd CONFIG)
  if(NOT xsimd_FOUND)
    message(FATAL_ERROR "attnsel needs xsimd >= ${ATTNSEL_MIN_XSIMD_VERSION} "
      "(Debian/Ubuntu: apt-get install libxsimd-dev), or an xsimd target defined before attnsel")
  endif()
  if(xsimd_VERSION VERSION_LESS ATTNSEL_MIN_XSIMD_VERSION)
    message(FATAL_ERROR "attnsel needs xsimd >= ${ATTNSEL_MIN_XSIMD_VERSION}, found ${xsimd_VERSION} in ${xsimd_DIR}")
  endif()
endif()

include("${CMAKE_CURRENT_LIST_DIR}/attnselXsimdXtl.cmake")

# zlib is optional: the IDX reader (data/idx.hpp) inflates gzip files with it. An explicit switch,
# the same for every TU that links attnsel::attnsel (the target defines ATTNSEL_WITH_ZLIB=0 or 1).
if(NOT TARGET ZLIB::ZLIB)
  find_package(ZLIB QUIET)
endif()
if(TARGET ZLIB::ZLIB)
  set(_attnsel_zlib_default ON)
else()
  set(_attnsel_zlib_default OFF)
endif()
option(ATTNSEL_WITH_ZLIB "Read gzip-compressed IDX files (links zlib into attnsel::attnsel)" ${_attnsel_zlib_default})
if(ATTNSEL_WITH_ZLIB AND NOT TARGET ZLIB::ZLIB)
  message(FATAL_ERROR "ATTNSEL_WITH_ZLIB is ON but zlib was not found (Debian: apt-get install zlib1g-dev), "
    "or turn it off: -DATTNSEL_WITH_ZLIB=OFF")
endif()

# OpenMP: attnsel's parallel paths (and Eigen's products) use it. Consumers get it through the
# target by default, so a project that vendors attnsel runs them on all cores; ATTNSEL_OPENMP=OFF
# leaves threading to the consumer.
option(ATTNSEL_OPENMP "Link OpenMP into attnsel::attnsel when it is found (threads for consumers)" ON)
set(ATTNSEL_WITH_OPENMP OFF)
# Not under ThreadSanitizer: libgomp is not TSan-instrumented, its barriers would show as races.
if(ATTNSEL_OPENMP AND NOT ATTNSEL_SANITIZE_THREAD)
  if(NOT TARGET OpenMP::OpenMP_CXX)
    find_package(OpenMP QUIET COMPONENTS CXX)
  endif()
  if(TARGET OpenMP::OpenMP_CXX)
    set(ATTNSEL_WITH_OPENMP ON)
  endif()
endif()

# nlohmann-json: only io/json.hpp (saved selections and block masks) needs it; header-only.
if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3 QUIET)
endif()
if(TARGET nlohmann_json::nlohmann_json)
  set(ATTNSEL_WITH_JSON ON)
else()
  set(ATTNSEL_WITH_JSON OFF)
endif()

# SentencePiece: only data/sentencepiece.hpp (subword tokenizers for the language models) needs
# it, and only a TU that includes that header links it: through attnsel::sentencepiece (defined
# in the build tree when pkg-config finds Debian's libsentencepiece-dev), not attnsel::attnsel.
set(ATTNSEL_WITH_SENTENCEPIECE OFF)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(ATTNSEL_SENTENCEPIECE QUIET IMPORTED_TARGET sentencepiece)
  if(TARGET PkgConfig::ATTNSEL_SENTENCEPIECE)
    set(ATTNSEL_WITH_SENTENCEPIECE ON)
  endif()
endif()
