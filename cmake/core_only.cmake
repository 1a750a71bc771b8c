# The torch-free core of claa, its tests and the libFuzzer targets (CLAA_CORE_ONLY=ON).
#
# CI builds this with clang and CLAA_SANITIZE=ON (scripts/run_sanitizer_tests.sh): it holds every
# parser of untrusted input (GGUF, safetensors, tokenizer.json, chat templates, JSONL datasets,
# samples.jsonl) plus the tokenizer, metrics, scorers, dataset generators, report writers and the
# run-folder guards — everything that needs no LibTorch, so it compiles in a few minutes on 2 cores
# instead of the full build's quarter hour.

include(cmake/core_sources.cmake)
claa_add_core_library(-Wall -Wextra -Wno-unused-parameter)

# Tests of the core: every test file that includes no torch header.
find_package(Catch2 QUIET)
claa_add_core_test_objects(-Wall -Wextra -Wno-unused-parameter)
add_executable(claa_core_tests tests/test_main.cpp)
target_link_libraries(claa_core_tests PRIVATE claa_core_test_objs)
# Catch2's own implementation (26 s to compile under the sanitizers, the longest file) is not what
# the sanitizers are here for: it is compiled without them (its allocations are still checked).
set_source_files_properties(tests/test_main.cpp PROPERTIES COMPILE_OPTIONS "-O0;-fno-sanitize=address,undefined")
enable_testing()
include(Catch)
catch_discover_tests(claa_core_tests WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} TEST_PREFIX "sanitized: ")

# libFuzzer targets (clang only): fuzz/README.md says what each one feeds and where its seeds are.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  foreach(target gguf safetensors tokenizer_json chat_template samples_jsonl)
    add_executable(fuzz_${target} fuzz/fuzz_${target}.cpp)
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${target} PRIVATE claa_core)
  endforeach()
  # The core is instrumented for coverage too, so libFuzzer sees which parser branches an input reached.
  target_compile_options(claa_core PRIVATE -fsanitize=fuzzer-no-link)

  # Run-config validation builds every heuristic (to check its parameters), which needs LibTorch,
  # whose 1.13 headers clang cannot compile in C++20. So this target links the full build's
  # libraries (CLAA_MAIN_BUILD_DIR, built by scripts/run_tests.sh first) and reaches the validator
  # through a torch-free header; coverage feedback then stops at that library (fuzz/README.md).
  set(CLAA_MAIN_BUILD_DIR "" CACHE PATH "A full claa build whose libclaa_lib.a and libclaa_core.a fuzz_run_config links")
  if(CLAA_MAIN_BUILD_DIR AND EXISTS "${CLAA_MAIN_BUILD_DIR}/libclaa_lib.a" AND EXISTS "${CLAA_MAIN_BUILD_DIR}/libclaa_core.a")
    find_package(Torch REQUIRED)
    add_executable(fuzz_run_config fuzz/fuzz_run_config.cpp)
    target_include_directories(fuzz_run_config PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_compile_options(fuzz_run_config PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_run_config PRIVATE -fsanitize=fuzzer)
    # That library was compiled by GCC with -fopenmp (GOMP_* calls) and, when MPI was found, calls MPI:
    # link GCC's OpenMP runtime by name (clang's -fopenmp would bring libomp) and the MPI libraries.
    find_library(CLAA_GOMP_LIBRARY NAMES gomp libgomp.so.1 REQUIRED)
    set(MPI_CXX_SKIP_MPICXX ON)
    find_package(MPI COMPONENTS CXX QUIET)
    target_link_libraries(fuzz_run_config PRIVATE "${CLAA_MAIN_BUILD_DIR}/libclaa_lib.a"
                          "${CLAA_MAIN_BUILD_DIR}/libclaa_core.a" ${TORCH_LIBRARIES}
                          fmt::fmt ${PCRE2_LIBRARY} ${CLAA_GOMP_LIBRARY} ${MPI_CXX_LIBRARIES})
    # The full build's core calls libutf8proc when it found it (tokenizer normalizers).
    if(UTF8PROC_LIBRARY)
      target_link_libraries(fuzz_run_config PRIVATE ${UTF8PROC_LIBRARY})
    endif()
  endif()
endif()
