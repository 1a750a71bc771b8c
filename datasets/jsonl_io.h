// JSONL reading and writing for samples and user data. Errors name file:line and the field; a
// writer never leaves a half-written file behind (it writes F.tmp and renames it over F).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/sample.h"

namespace claa {

enum class OnError { Stop, Skip };
OnError parse_on_error(const std::string& s);  // "stop" | "skip"

// Calls `convert` on every non-blank line. A line that is not JSON, or for which `convert` throws
// claa::Error, stops the read with "FILE:LINE: <message>" (Stop) or is skipped and counted (Skip).
struct JsonlReadStats {
  size_t records = 0, skipped = 0;
  std::vector<std::string> errors;  // one "FILE:LINE: ..." per skipped line
};
JsonlReadStats read_jsonl(const std::string& path, OnError on_error,
                          const std::function<void(const nlohmann::json& record, size_t line)>& convert);

// Samples in this project's format (sample_to_json), or generic user records
// {context, question, answers[, evidence, id, max_new_tokens, prompt_template]} where evidence is a
// list of strings found in the context or of [begin, end] byte ranges.
std::vector<Sample> load_jsonl_samples(const std::string& path, OnError on_error = OnError::Stop,
                                       JsonlReadStats* stats = nullptr);
Sample sample_from_generic_record(const nlohmann::json& j, const std::string& fallback_id);

// One sample per line, sorted keys, then an atomic rename; throws claa::Error on I/O failure.
void write_samples_jsonl(const std::string& path, const std::vector<Sample>& samples);
std::string samples_to_jsonl(const std::vector<Sample>& samples);

}  // namespace claa
