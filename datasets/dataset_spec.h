// Dataset spec strings used by the CLI and configs, and the one entry point that turns a spec into
// samples: "ruler:niah_single_1" (or a bare RULER task name), "niah" (needle grid),
// "longbench:DIR_OR_FILE", "longbench_v2:FILE", "infinitebench:DIR_OR_FILE", "scbench:DIR_OR_FILE",
// "jsonl:FILE". Which files each benchmark needs and where they come from: benchmark_files().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/jsonl_io.h"
#include "datasets/ruler.h"
#include "datasets/sample.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

struct DatasetSpec {
  std::string kind;  // "ruler" | "niah" | "longbench" | "longbench_v2" | "infinitebench" | "scbench" | "jsonl"
  std::string arg;   // task name, folder or file ("" for niah)
};
DatasetSpec parse_dataset_spec(const std::string& spec);

// The generators' options (RulerOptions: length = prompt + output budget, samples, seed, the essay / SQuAD /
// HotpotQA files; `samples` also counts the niah depths, evenly spread, when niah_depths is empty) and the
// needle grid's and the loaders' own. Run configs hold one per dataset section (run_config.h).
struct DatasetOptions : RulerOptions {
  std::vector<int64_t> niah_lengths;  // empty = {length}
  std::vector<double> niah_depths;
  int trec_max_new_tokens = 64;
  int max_turns = 5;  // SCBench: turns per sample (its --max_turns default)
  OnError on_error = OnError::Stop;
};

// The files a dataset reads (its jsonl file or benchmark folder, the essay haystack, SQuAD / HotpotQA),
// for the run's provenance; the essay folder is the default one when the options leave it empty.
std::vector<std::string> dataset_input_paths(const DatasetSpec& spec, const DatasetOptions& options);

// Generators need the tokenizer (and the chat template) to fit lengths; loaders ignore them.
std::vector<Sample> load_dataset(const DatasetSpec& spec, const DatasetOptions& options, const Tokenizer* tok,
                                 const std::optional<ChatTemplate>& chat);

// Lines for `claa datasets list`: every spec, then the files each user-supplied benchmark needs.
std::vector<std::string> dataset_catalog();

// Which files each user-supplied benchmark needs, where its format comes from, and a config snippet.
std::vector<std::string> benchmark_files();

// The report category: the loader's ("category" in the sample's metadata), else RULER's task families
// (Retrieval, Multi-hop tracing, Aggregation, QA), else the task itself.
std::string sample_category(const Sample& s);

// The name a run aggregates a sample under: "SPEC@LENGTH" (RULER, niah, LongBench v1, jsonl: unchanged),
// and "KIND:TASK@LENGTH" for the loaders whose folder mixes tasks of different categories
// (longbench_v2, infinitebench, scbench), since a report dataset has one category and the benchmarks
// report per task.
std::string dataset_label(const std::string& spec, int64_t length, const Sample& s);

// Whether a spec kind yields multi-turn samples (SCBench): rank mode evaluates them per turn.
bool dataset_kind_is_multi_turn(const std::string& kind);

}  // namespace claa
