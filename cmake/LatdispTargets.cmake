# Settings shared by every latdisp target, and the one function that declares
# a stage library of src/ (docs/architecture.md).

include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-march=native LATDISP_HAVE_MARCH_NATIVE)
if(CMAKE_CXX_COMPILER MATCHES "nvcc|hipcc" OR CMAKE_CXX_COMPILER_ID STREQUAL "NVIDIA")
  set(LATDISP_DEVICE_COMPILER TRUE)
else()
  set(LATDISP_DEVICE_COMPILER FALSE)
endif()

# latdisp_tune_for_host(TARGET): host vector units (AVX2/AVX-512) run the
# kernel's branch-free fast path on 8-16 coordinates at a time; device
# compilers need no host tuning.
function(latdisp_tune_for_host target)
  if(LATDISP_NATIVE AND LATDISP_HAVE_MARCH_NATIVE AND NOT LATDISP_DEVICE_COMPILER)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()

# latdisp_add_stage(NAME SOURCES ... DEPENDS ...): the static library
# latdisp_NAME of folder src/NAME. DEPENDS names the stages and libraries it
# may use; tests/check_include_direction.sh holds the includes to the same order.
function(latdisp_add_stage name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(latdisp_${name} STATIC ${ARG_SOURCES})
  target_include_directories(latdisp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(latdisp_${name} PUBLIC ${ARG_DEPENDS})
  target_compile_definitions(latdisp_${name} PRIVATE LATDISP_VERSION="${PROJECT_VERSION}")
  target_compile_options(latdisp_${name} PRIVATE $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra>)
  latdisp_tune_for_host(latdisp_${name})
endfunction()
