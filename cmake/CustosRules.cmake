# Helper functions so that each module's CMakeLists.txt is a short declaration.
#
#   custos_library(NAME core SRCS a.cpp DEPS absl::status)
#   custos_test(NAME core_test SRCS a_test.cpp DEPS custos::core)
#   custos_fuzzer(NAME envelope_open SRCS envelope_open_fuzzer.cpp DEPS custos::crypto)
#   custos_benchmark(NAME lwc_benchmark SRCS lwc_benchmark.cpp DEPS custos::lwc)

set(CUSTOS_WARNINGS -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wimplicit-fallthrough -Wvla
    -Wnon-virtual-dtor)

if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s string
  # concatenation at -O3 (GCC bug 105329).
  list(APPEND CUSTOS_WARNINGS -Wno-restrict)
endif()

add_library(custos_build_flags INTERFACE)
target_compile_options(custos_build_flags INTERFACE ${CUSTOS_WARNINGS})
target_include_directories(custos_build_flags INTERFACE ${CMAKE_SOURCE_DIR})
if(CUSTOS_SANITIZE)
  target_compile_options(custos_build_flags INTERFACE -fsanitize=address,undefined
                         -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(custos_build_flags INTERFACE -fsanitize=address,undefined)
endif()
if(CUSTOS_FUZZ)
  target_compile_options(custos_build_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=all)
  target_link_options(custos_build_flags INTERFACE -fsanitize=address,undefined)
endif()

function(custos_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(custos_${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(custos::${ARG_NAME} ALIAS custos_${ARG_NAME})
  target_link_libraries(custos_${ARG_NAME} PUBLIC custos_build_flags ${ARG_DEPS})
endfunction()

function(custos_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  if(CUSTOS_FUZZ)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE custos_build_flags custos_testing ${ARG_DEPS}
                        GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST
                       PROPERTIES ENVIRONMENT "CUSTOS_DATA_DIR=${CUSTOS_DATA_DIR}")
endfunction()

function(custos_fuzzer)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT CUSTOS_FUZZ)
    return()
  endif()
  add_executable(${ARG_NAME}_fuzzer ${ARG_SRCS})
  target_link_libraries(${ARG_NAME}_fuzzer PRIVATE custos_build_flags ${ARG_DEPS})
  target_link_options(${ARG_NAME}_fuzzer PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY CUSTOS_FUZZERS ${ARG_NAME})
endfunction()

function(custos_benchmark)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  if(CUSTOS_FUZZ OR NOT CUSTOS_BENCHMARKS)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE custos_build_flags ${ARG_DEPS} benchmark::benchmark)
endfunction()
