// One benchmark sample, whatever the source (RULER generator, needle grid, LongBench, user JSONL),
// and its JSONL form. A sample keeps the task template separate from the context so the context's
// evidence byte ranges (needles, answers) survive rendering, truncation and the chat template.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace claa {

// Byte range [begin, end) inside Sample::context.
struct EvidenceSpan {
  size_t begin = 0, end = 0;
  bool operator==(const EvidenceSpan&) const = default;
};

// One later turn of a multi-turn sample (SCBench): the assistant reply that closes the previous turn
// (SCBench's "golden context": the previous turn's gold answer, not the model's), then the user's
// follow-up message (already in the benchmark's follow-up template) and its gold answers.
struct FollowUp {
  std::string previous_reply;
  std::string question;
  std::vector<std::string> answers;
  bool operator==(const FollowUp&) const = default;
};

struct Sample {
  std::string id;
  std::string task;  // e.g. "niah_single_1", "niah", "hotpotqa", "jsonl"
  // Task template with the placeholders {context} and {question} (each at most once).
  std::string prompt_template = "{context}\n\n{question}";
  std::string context;
  std::string question;
  // Appended after the chat template's generation prompt (RULER does this), or after the text.
  std::string answer_prefix;
  std::vector<std::string> answers;
  int max_new_tokens = 32;
  std::vector<EvidenceSpan> evidence;
  bool chat = true;  // wrap in the model's chat template (false for LongBench's few-shot/code tasks)
  // "string_match_all", "string_match_part", "rouge", ... (scorer_by_name) or "longbench".
  std::string scorer = "string_match_part";
  nlohmann::json metadata = nlohmann::json::object();
  // Multi-turn samples (SCBench): turns 2..T on the same context; {question, answers} above is turn 1.
  // Empty for every single-turn benchmark (and then not written to JSON, so their bytes are unchanged).
  std::vector<FollowUp> follow_ups;
};

// Keys are written in nlohmann::json's sorted order, so the same sample always dumps the same bytes.
nlohmann::json sample_to_json(const Sample& s);
// Throws claa::Error naming the offending field ("field 'answers': ...").
Sample sample_from_json(const nlohmann::json& j);
// Whether a JSON record is in this project's own sample format (as opposed to generic user data).
bool is_sample_record(const nlohmann::json& j);

}  // namespace claa
