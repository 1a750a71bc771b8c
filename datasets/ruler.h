// RULER synthetic tasks (NVIDIA/RULER scripts/data/synthetic/, task list scripts/synthetic.yaml,
// templates scripts/data/synthetic/constants.py). Same templates, needle formats and distributions;
// our own seeded RNG (bit-exact replication of Python's RNG is not a goal, docs/datasets.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/length_fit.h"
#include "datasets/sample.h"
#include "datasets/text_sources.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

struct RulerOptions {
  int64_t length = 4096;  // prompt tokens + output budget <= length
  size_t samples = 1;
  uint64_t seed = 42;
  std::string haystack_dir;  // essay folder; "" = default_haystack_dir()
  std::string word_list = kDefaultWordList;
  std::string squad_path;     // qa_1: SQuAD v2 dev JSON
  std::string hotpotqa_path;  // qa_2: HotpotQA dev (distractor) JSON
};

// niah_single_1..3, niah_multikey_1..3, niah_multivalue, niah_multiquery, vt, cwe, fwe, qa_1, qa_2.
const std::vector<std::string>& ruler_tasks();
bool is_ruler_task(const std::string& task);
// Output budget (tokens_to_generate): niah 128, vt 30, cwe 120, fwe 50, qa 32.
int ruler_max_new_tokens(const std::string& task);

// fit_samples (length_fit.h) for the RULER task req.task: every sample made gets that task's output
// budget before it is measured, so prompt + budget fits req.length.
std::vector<Sample> fit_ruler_samples(const FitRequest& req, const SampleMaker& make, const Tokenizer& tok,
                                      const std::optional<ChatTemplate>& chat);

std::vector<Sample> generate_ruler(const std::string& task, const Tokenizer& tok,
                                   const std::optional<ChatTemplate>& chat, const RulerOptions& options);

// Per-family generators (ruler_niah.cpp, ruler_aggregation.cpp, ruler_qa.cpp).
std::vector<Sample> generate_ruler_niah(const std::string& task, const Tokenizer& tok,
                                        const std::optional<ChatTemplate>& chat, const RulerOptions& o);
std::vector<Sample> generate_ruler_vt(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                      const RulerOptions& o);
std::vector<Sample> generate_ruler_cwe(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                       const RulerOptions& o);
std::vector<Sample> generate_ruler_fwe(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                       const RulerOptions& o);
std::vector<Sample> generate_ruler_qa(const std::string& task, const Tokenizer& tok,
                                      const std::optional<ChatTemplate>& chat, const RulerOptions& o);

// Helpers shared by the generators.
std::string replace_all(std::string s, const std::string& from, const std::string& to);
// Concatenate pieces with a separator, recording the byte range of each piece.
struct JoinedText {
  std::string text;
  std::vector<EvidenceSpan> ranges;
};
JoinedText join_tracked(const std::vector<std::string>& pieces, const std::string& sep);

}  // namespace claa
