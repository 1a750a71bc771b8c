# The torch-free core of claa, its tests and the libFuzzer targets (CLAA_CORE_ONLY=ON).
#
# CI builds this with clang and CLAA_SANITIZE=ON (scripts/run_sanitizer_tests.sh): it holds every
# parser of untrusted input (GGUF, safetensors, tokenizer.json, chat templates, JSONL datasets,
# samples.jsonl) plus the tokenizer, metrics, scorers, dataset generators, report writers and the
# run-folder guards — everything that needs no LibTorch, so it compiles in a few minutes on 2 cores
# instead of the full build's quarter hour.

set(CLAA_CORE_SOURCES
  harness/util/mapped_file.cpp harness/util/fingerprint.cpp harness/util/cache_paths.cpp harness/util/utf8.cpp harness/util/strings.cpp
  harness/model/gguf.cpp harness/model/dequant.cpp harness/model/safetensors.cpp harness/model/model_config.cpp
  harness/tokenizer/byte_unicode.cpp harness/tokenizer/chat_template.cpp harness/tokenizer/pretokenizer.cpp
  harness/tokenizer/tokenizer.cpp
  harness/runner/results_file.cpp harness/runner/run_folder.cpp harness/util/atomic_file.cpp
  datasets/dataset_spec.cpp datasets/jsonl_io.cpp datasets/length_fit.cpp datasets/longbench.cpp
  datasets/niah_grid.cpp datasets/prompt_build.cpp datasets/rng.cpp datasets/ruler.cpp datasets/ruler_aggregation.cpp
  datasets/ruler_niah.cpp datasets/ruler_qa.cpp datasets/sample.cpp datasets/scorers.cpp datasets/text_sources.cpp
  datasets/json_records.cpp datasets/longbench_v2.cpp datasets/infinitebench.cpp datasets/infinitebench_scorers.cpp
  datasets/scbench.cpp)
# Every report source (none needs torch); globbed so a new report file lands here as it does in the
# full build.
file(GLOB CLAA_CORE_REPORT_SOURCES CONFIGURE_DEPENDS reports/*.cpp)

add_library(claa_core STATIC ${CLAA_CORE_SOURCES} ${CLAA_CORE_REPORT_SOURCES})
target_include_directories(claa_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${PCRE2_INCLUDE_DIR})
target_link_libraries(claa_core PUBLIC nlohmann_json::nlohmann_json fmt::fmt ${PCRE2_LIBRARY})
target_compile_definitions(claa_core PUBLIC PCRE2_CODE_UNIT_WIDTH=8 PRIVATE CLAA_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
target_compile_options(claa_core PRIVATE -Wall -Wextra -Wno-unused-parameter)

# Tests of the core: every test file that includes no torch header.
find_package(Catch2 QUIET)
add_executable(claa_core_tests tests/test_main.cpp
  tests/datasets/test_generators.cpp tests/datasets/test_loaders.cpp tests/datasets/test_scorers.cpp
  tests/datasets/test_benchmark_loaders.cpp tests/datasets/test_benchmark_scorers.cpp tests/reports/test_turn_report.cpp
  tests/model/test_safetensors.cpp tests/tokenizer/test_tokenizer.cpp
  tests/reports/test_aggregate.cpp tests/reports/test_check.cpp tests/reports/test_e2e_report.cpp
  tests/reports/test_metrics.cpp tests/reports/test_atomic_reports.cpp tests/reports/test_nonfinite.cpp
  tests/runner/test_run_folder.cpp tests/fuzz/test_fuzz_regressions.cpp)
target_link_libraries(claa_core_tests PRIVATE claa_core)
target_compile_definitions(claa_core_tests PRIVATE CLAA_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
if(TARGET Catch2::Catch2)
  target_link_libraries(claa_core_tests PRIVATE Catch2::Catch2)
endif()
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
  # library (CLAA_MAIN_BUILD_DIR, built by scripts/run_tests.sh first) and reaches the validator
  # through a torch-free header; coverage feedback then stops at that library (fuzz/README.md).
  set(CLAA_MAIN_BUILD_DIR "" CACHE PATH "A full claa build whose libclaa_lib.a fuzz_run_config links")
  if(CLAA_MAIN_BUILD_DIR AND EXISTS "${CLAA_MAIN_BUILD_DIR}/libclaa_lib.a")
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
    target_link_libraries(fuzz_run_config PRIVATE "${CLAA_MAIN_BUILD_DIR}/libclaa_lib.a" ${TORCH_LIBRARIES}
                          fmt::fmt ${PCRE2_LIBRARY} ${CLAA_GOMP_LIBRARY} ${MPI_CXX_LIBRARIES})
  endif()
endif()
