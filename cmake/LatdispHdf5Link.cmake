# LATDISP_HDF5_LIBRARIES: how latdisp links the parallel HDF5 that
# find_package(HDF5) found (docs/operations.md §10, "Start-up and shutdown").
#
# Debian's shared libhdf5_openmpi needs libcurl and libcrypto for its S3
# driver, which latdisp never uses; loading them and their own libraries
# (TLS, Kerberos, LDAP, SSH: 30 of the process's 48 libraries) took about
# 30 ms of every process's start. With LATDISP_STATIC_HDF5 (the default) the
# same HDF5 release is linked from its static archive beside the shared
# library when there is one: only the HDF5 code latdisp calls comes along,
# and the linker (--as-needed) leaves the unused libraries out. Turn it off
# to use the shared library, e.g. for filter plugins built against it.
option(LATDISP_STATIC_HDF5 "Link HDF5 from its static archive where one is installed beside the shared library" ON)

set(LATDISP_HDF5_LIBRARIES ${HDF5_C_LIBRARIES})
if(LATDISP_STATIC_HDF5)
  set(_latdisp_hdf5_archive "")
  set(_latdisp_hdf5_others "")
  foreach(_lib IN LISTS HDF5_C_LIBRARIES)
    string(REGEX REPLACE "\\.so$" ".a" _archive "${_lib}")
    if(_lib MATCHES "/libhdf5[^/]*\\.so$" AND EXISTS "${_archive}" AND NOT _latdisp_hdf5_archive)
      set(_latdisp_hdf5_archive "${_archive}")
    else()
      list(APPEND _latdisp_hdf5_others "${_lib}")
    endif()
  endforeach()
  if(_latdisp_hdf5_archive AND _latdisp_hdf5_others MATCHES "/libhdf5[^/;]*\\.so")
    set(_latdisp_hdf5_archive "")  # two HDF5 libraries (high-level too): keep them shared
  endif()
  if(_latdisp_hdf5_archive)
    # An imported archive, so that what its objects call (MPI, the rest of
    # HDF5's list) comes after it on every link line.
    add_library(latdisp_hdf5_archive STATIC IMPORTED)
    set_target_properties(latdisp_hdf5_archive PROPERTIES IMPORTED_LOCATION "${_latdisp_hdf5_archive}"
                                                          INTERFACE_LINK_LIBRARIES "MPI::MPI_C;${_latdisp_hdf5_others}")
    set(LATDISP_HDF5_LIBRARIES latdisp_hdf5_archive)
    message(STATUS "latdisp: HDF5 linked from ${_latdisp_hdf5_archive}")
  else()
    message(STATUS "latdisp: no static HDF5 beside ${HDF5_C_LIBRARIES}: linking the shared library")
  endif()
endif()
