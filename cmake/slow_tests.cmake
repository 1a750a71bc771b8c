# Read by ctest after the discovered Catch2 tests: the slowest tests get a high COST, so ctest starts
# them first. Without timings from an earlier run (a fresh CI machine) ctest starts tests in the
# order Catch2 lists them, and a 70 s end-to-end test that starts last leaves one of CI's two cores
# idle for a minute (measured: 323 s for tests that take 597 s together). ctest ignores a name that
# matches no test (that test only loses its head start): rename it here with the test.
foreach(name
    "e2e mode runs every pipeline and matches its committed baseline"
    "both mode measures each pipeline's ranking as rank mode does and answers as e2e mode does"
    "mpirun -np 2 claa run gives a single-process run's records, and resumes a killed rank"
    "A killed run resumes to the same results, each sample once"
    "kvpress protocol: claa's answers equal kvpress's own pipeline on RULER samples"
    "keep = 1.0 reproduces the full-KV answer for every method"
    "Oracle emulation pipeline at keep 0.1 and 0.2 matches the HF emulation"
    "SpecPrefill self-draft pipeline at keep 0.1 and 0.2 matches the HF emulation"
    "A numpy SnapKV worker prunes exactly as snapkv@kvpress in the kvpress and FastKV pipelines")
  set_tests_properties("${name}" PROPERTIES COST 100)
endforeach()
