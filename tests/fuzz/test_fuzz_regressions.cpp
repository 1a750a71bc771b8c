// Inputs the fuzz targets (fuzz/) found to break a parser, each fixed and kept here as a test; the
// same files stay in fuzz/corpus/ so every fuzzing run starts from them. Torch-free: these also
// run under the sanitizers, which is where the original failures showed.
#include <string>

#include "core/error.h"
#include "formats/gguf.h"
#include "tests/catch.h"

TEST_CASE("fuzz regression: GGUF tensor dims whose product overflows int64 are rejected", "[fuzz][gguf]") {
  // fuzz_gguf: dims 210453397536 x 4194304010 x ... made numel() overflow (UBSan: signed integer
  // overflow) before the size check ran, so a wrapped product could pass it.
  const std::string path = source_path("fuzz/corpus/gguf/regression_numel_overflow.gguf");
  CHECK_THROWS_WITH(claa::GgufFile(path), Catch::Contains("is too large"));
}
