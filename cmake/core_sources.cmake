# The torch-free core of claa: every parser of untrusted input (GGUF, safetensors, tokenizer.json,
# chat templates, JSONL datasets, samples.jsonl) plus the tokenizer, metrics, scorers, dataset
# generators, report writers and the run-folder guards, and the tests that need nothing else.
#
# Both builds use these lists. The full build compiles the core as its own library with a light
# precompiled header (json + fmt, ~0.5 s to load) instead of the torch one, whose 320 MB take ~1.5 s
# to load in every file that includes it (an empty file, 2 cores, GCC 12); the core-only build
# (cmake/core_only.cmake) compiles the same files under the sanitizers.

set(CLAA_CORE_SOURCES
  core/mapped_file.cpp core/compress.cpp core/parallel.cpp core/fingerprint.cpp core/cache_paths.cpp core/utf8.cpp core/strings.cpp core/csv.cpp
  formats/gguf.cpp formats/dequant.cpp formats/safetensors.cpp formats/safetensors_writer.cpp model/model_config.cpp
  tokenizer/byte_unicode.cpp tokenizer/chat_template.cpp tokenizer/pretokenizer.cpp
  tokenizer/normalizer.cpp tokenizer/decoder.cpp tokenizer/sentencepiece.cpp tokenizer/tokenizer.cpp
  harness/runner/results_file.cpp harness/runner/run_folder.cpp core/atomic_file.cpp
  datasets/dataset_spec.cpp datasets/jsonl_io.cpp datasets/length_fit.cpp datasets/longbench.cpp
  datasets/niah_grid.cpp datasets/prompt_build.cpp datasets/rng.cpp datasets/ruler.cpp datasets/ruler_aggregation.cpp
  datasets/ruler_niah.cpp datasets/ruler_qa.cpp datasets/sample.cpp evaluation/scorers.cpp datasets/text_sources.cpp
  datasets/json_records.cpp datasets/longbench_v2.cpp datasets/infinitebench.cpp evaluation/infinitebench_scorers.cpp
  datasets/scbench.cpp
  evaluation/metrics.cpp evaluation/kept_levels.cpp evaluation/token_view.cpp evaluation/stats.cpp evaluation/resampling.cpp evaluation/evidence_spans.cpp evaluation/task_score.cpp
  selection/budget.cpp)
list(TRANSFORM CLAA_CORE_SOURCES PREPEND "${CMAKE_CURRENT_SOURCE_DIR}/")
# Every report source (none needs torch); globbed so a new report file lands in the core of both builds.
file(GLOB CLAA_CORE_REPORT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/reports/*.cpp)
list(APPEND CLAA_CORE_SOURCES ${CLAA_CORE_REPORT_SOURCES})

# Tests of the core: test files that include no torch header (tests/test_main.cpp, the runner's
# main(), is added by each build).
set(CLAA_CORE_TEST_SOURCES
  tests/datasets/test_generators.cpp tests/datasets/test_loaders.cpp tests/evaluation/test_scorers.cpp
  tests/datasets/test_benchmark_loaders.cpp tests/evaluation/test_benchmark_scorers.cpp tests/reports/test_turn_report.cpp
  tests/formats/test_safetensors.cpp tests/tokenizer/test_tokenizer.cpp tests/tokenizer/test_sentencepiece.cpp
  tests/reports/test_aggregate.cpp tests/reports/test_check.cpp tests/reports/test_e2e_report.cpp
  tests/evaluation/test_metrics.cpp tests/evaluation/test_kept_levels.cpp tests/evaluation/test_resampling.cpp tests/reports/test_validity.cpp tests/reports/test_atomic_reports.cpp tests/reports/test_nonfinite.cpp
  tests/reports/test_plot_styles.cpp tests/reports/test_explorer_page.cpp tests/reports/test_paired_rho.cpp
  tests/reports/test_paired_stats.cpp
  tests/runner/test_run_folder.cpp tests/fuzz/test_fuzz_regressions.cpp tests/test_layering.cpp tests/test_compress.cpp tests/test_parallel.cpp)
list(TRANSFORM CLAA_CORE_TEST_SOURCES PREPEND "${CMAKE_CURRENT_SOURCE_DIR}/")

# The light precompiled header of the core and its tests.
set(CLAA_CORE_PCH <nlohmann/json.hpp> <fmt/format.h> <string> <vector>)

# claa_core: the library both builds link (options: extra private compile options).
function(claa_add_core_library)
  add_library(claa_core STATIC ${CLAA_CORE_SOURCES})
  target_include_directories(claa_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${PCRE2_INCLUDE_DIR})
  target_link_libraries(claa_core PUBLIC nlohmann_json::nlohmann_json fmt::fmt ${PCRE2_LIBRARY})
  target_compile_definitions(claa_core PUBLIC PCRE2_CODE_UNIT_WIDTH=8 PRIVATE CLAA_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
  target_compile_options(claa_core PRIVATE ${ARGN})
  target_precompile_headers(claa_core PRIVATE ${CLAA_CORE_PCH})
  # The explorer page's assets, embedded at build time (cmake/embed_assets.cmake, reports/explorer_page.h).
  set(assets ${CMAKE_CURRENT_SOURCE_DIR}/reports/explorer/explorer.html ${CMAKE_CURRENT_SOURCE_DIR}/reports/explorer/explorer.css
             ${CMAKE_CURRENT_SOURCE_DIR}/reports/explorer/explorer.js)
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/generated/explorer_assets.cpp)
  add_custom_command(OUTPUT ${generated}
    COMMAND ${CMAKE_COMMAND} -DDIR=${CMAKE_CURRENT_SOURCE_DIR}/reports/explorer -DOUT=${generated}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_assets.cmake
    DEPENDS ${assets} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_assets.cmake
    COMMENT "Embedding the explorer page's assets")
  target_sources(claa_core PRIVATE ${generated})
  set_source_files_properties(${generated} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  # zlib (optional): the explorer page's data embedded deflated (core/compress.h); plain JSON without it.
  find_package(ZLIB QUIET)
  if(ZLIB_FOUND)
    target_link_libraries(claa_core PUBLIC ZLIB::ZLIB)
    target_compile_definitions(claa_core PRIVATE CLAA_HAVE_ZLIB=1)
  endif()
  # libutf8proc (optional): the NFC/NFKC/NFD/NFKD and Lowercase normalizers of tokenizer.json.
  # Without it such a tokenizer is refused with a one-line error naming the package.
  if(UTF8PROC_INCLUDE_DIR AND UTF8PROC_LIBRARY)
    target_include_directories(claa_core PRIVATE ${UTF8PROC_INCLUDE_DIR})
    target_link_libraries(claa_core PUBLIC ${UTF8PROC_LIBRARY})
    target_compile_definitions(claa_core PRIVATE CLAA_HAVE_UTF8PROC=1)
  endif()
endfunction()

# The core's test files as objects with the light header and Catch2 precompiled (test_main.cpp,
# which includes Catch2 with its main, stays outside). Test code is compiled at -O0: the work it
# drives runs in the libraries, and optimising it costs more compile time than it saves at run time
# (under the sanitizers: 7 s per file at -O1, ~2 s at -O0).
function(claa_add_core_test_objects)
  add_library(claa_core_test_objs OBJECT ${CLAA_CORE_TEST_SOURCES})
  target_link_libraries(claa_core_test_objs PUBLIC claa_core)
  if(TARGET Catch2::Catch2)
    target_link_libraries(claa_core_test_objs PUBLIC Catch2::Catch2)
  endif()
  target_compile_definitions(claa_core_test_objs PRIVATE CLAA_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
  target_compile_options(claa_core_test_objs PRIVATE ${ARGN} -O0)
  target_precompile_headers(claa_core_test_objs PRIVATE ${CLAA_CORE_PCH} "${CMAKE_CURRENT_SOURCE_DIR}/tests/catch.h")
endfunction()
