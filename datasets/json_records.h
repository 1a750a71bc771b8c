// Benchmark files come either as JSONL (one record per line: InfiniteBench, SCBench, LongBench v1) or
// as one JSON array (LongBench v2's data.json from the HF dataset THUDM/LongBench-v2). Both are read
// record by record with errors that name FILE:LINE, the line being where the bad record starts.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/jsonl_io.h"

namespace claa {

// A file whose first non-blank byte is '[' is a JSON array; anything else is JSONL (read_jsonl).
// `convert` throwing claa::Error (or a nlohmann::json exception) becomes "FILE:LINE: message".
JsonlReadStats read_json_records(const std::string& path, OnError on_error,
                                 const std::function<void(const nlohmann::json& record, size_t line)>& convert);

// 1-based line of byte `offset` in `text`.
size_t line_of_offset(const std::string& text, size_t offset);

}  // namespace claa
