# Debian 12's xsimd 8.1 package exports a target whose INTERFACE_LINK_LIBRARIES names `xtl`, but
# its config file never looks for xtl. Without an `xtl` target CMake passes `-lxtl` to the linker,
# which fails. xsimd only needs xtl for XSIMD_ENABLE_XTL_COMPLEX (attnsel never defines it), so
# when xtl cannot be found an empty global `xtl` target stands in for it.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_attnsel_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_attnsel_xsimd_links AND "xtl" IN_LIST _attnsel_xsimd_links)
    find_package(xtl CONFIG QUIET)
    if(NOT TARGET xtl)
      add_library(xtl INTERFACE IMPORTED GLOBAL)
    endif()
  endif()
  unset(_attnsel_xsimd_links)
endif()
