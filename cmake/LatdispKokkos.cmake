# One target, latdisp::kokkos, for whichever Kokkos is found:
# - a real Kokkos 4 install (Spack, a cluster module, -DKokkos_ROOT=...) with
#   Serial/OpenMP/CUDA/HIP: its own Kokkos::kokkos target;
# - Debian's Trilinos Kokkos 3.4, whose Kokkos::kokkos carries a bad include
#   path: a shim built from its (correct) Kokkos_* variables.
find_package(Kokkos REQUIRED)
add_library(latdisp_kokkos INTERFACE)
add_library(latdisp::kokkos ALIAS latdisp_kokkos)

if(Kokkos_LIBRARIES MATCHES "trilinos_")
  set(_latdisp_kokkos_libs "")
  foreach(_lib IN LISTS Kokkos_LIBRARIES)
    find_library(_latdisp_found_${_lib} NAMES ${_lib} HINTS ${Kokkos_LIBRARY_DIRS} REQUIRED)
    list(APPEND _latdisp_kokkos_libs ${_latdisp_found_${_lib}})
  endforeach()
  target_include_directories(latdisp_kokkos SYSTEM INTERFACE ${Kokkos_INCLUDE_DIRS})
  target_link_libraries(latdisp_kokkos INTERFACE ${_latdisp_kokkos_libs} ${CMAKE_DL_LIBS})
  set(LATDISP_KOKKOS_FLAVOR "Trilinos ${Kokkos_VERSION} (shim)")
else()
  target_link_libraries(latdisp_kokkos INTERFACE Kokkos::kokkos)
  set(LATDISP_KOKKOS_FLAVOR "Kokkos ${Kokkos_VERSION}")
endif()
message(STATUS "latdisp: using ${LATDISP_KOKKOS_FLAVOR}")
