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

# zlib is optional: the IDX reader (data/idx.hpp) uses it for gzip files when it is there.
if(NOT TARGET ZLIB::ZLIB)
  find_package(ZLIB QUIET)
endif()
if(TARGET ZLIB::ZLIB)
  set(ATTNSEL_WITH_ZLIB ON)
else()
  set(ATTNSEL_WITH_ZLIB OFF)
endif()
