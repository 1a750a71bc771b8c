// libFuzzer target: JSONL reading — a dataset file (`jsonl:FILE`, own samples or generic records,
// both error policies) and a run's samples.jsonl (results reader and the report's record parser
// and aggregation).
#include "core/error.h"
#include "datasets/jsonl_io.h"
#include "fuzz/fuzz_input.h"
#include "harness/runner/results_file.h"
#include "reports/aggregate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = claa::fuzz::write_input("samples.jsonl", data, size);
  for (claa::OnError policy : {claa::OnError::Stop, claa::OnError::Skip}) {
    try {
      (void)claa::load_jsonl_samples(path, policy);
    } catch (const claa::Error&) {
    }
  }
  try {
    (void)claa::read_records(path);
  } catch (const claa::Error&) {
  }
  try {
    std::vector<claa::SampleRecord> samples = claa::load_samples({path});
    (void)claa::aggregate_samples(samples, claa::AggregateOptions{});
  } catch (const claa::Error&) {
  }
  return 0;
}
