#include "datasets/sample.h"

#include "core/error.h"

namespace claa {

nlohmann::json sample_to_json(const Sample& s) {
  nlohmann::json ev = nlohmann::json::array();
  for (const EvidenceSpan& e : s.evidence) ev.push_back({e.begin, e.end});
  nlohmann::json j = {{"id", s.id},
          {"task", s.task},
          {"prompt_template", s.prompt_template},
          {"context", s.context},
          {"question", s.question},
          {"answer_prefix", s.answer_prefix},
          {"answers", s.answers},
          {"max_new_tokens", s.max_new_tokens},
          {"evidence", ev},
          {"chat", s.chat},
          {"scorer", s.scorer},
          {"metadata", s.metadata}};
  if (!s.follow_ups.empty()) {
    nlohmann::json turns = nlohmann::json::array();
    for (const FollowUp& f : s.follow_ups)
      turns.push_back({{"previous_reply", f.previous_reply}, {"question", f.question}, {"answers", f.answers}});
    j["follow_ups"] = turns;
  }
  return j;
}

namespace {

const nlohmann::json& field(const nlohmann::json& j, const char* name) {
  require(j.contains(name), std::string("field '") + name + "': missing");
  return j.at(name);
}

std::string string_field(const nlohmann::json& j, const char* name) {
  const nlohmann::json& v = field(j, name);
  require(v.is_string(), std::string("field '") + name + "': expected a string");
  return v.get<std::string>();
}

std::vector<std::string> strings_field(const nlohmann::json& j, const char* name) {
  const nlohmann::json& v = field(j, name);
  require(v.is_array(), std::string("field '") + name + "': expected an array of strings");
  std::vector<std::string> out;
  for (const auto& x : v) {
    require(x.is_string(), std::string("field '") + name + "': expected an array of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

std::vector<EvidenceSpan> evidence_field(const nlohmann::json& j, size_t context_size) {
  const nlohmann::json& v = field(j, "evidence");
  const std::string msg = "field 'evidence': expected an array of [begin, end] byte ranges inside the context";
  require(v.is_array(), msg);
  std::vector<EvidenceSpan> out;
  for (const auto& x : v) {
    require(x.is_array() && x.size() == 2 && x[0].is_number_unsigned() && x[1].is_number_unsigned(), msg);
    EvidenceSpan e{x[0].get<size_t>(), x[1].get<size_t>()};
    require(e.begin <= e.end && e.end <= context_size, msg);
    out.push_back(e);
  }
  return out;
}

}  // namespace

bool is_sample_record(const nlohmann::json& j) {
  return j.is_object() && j.contains("task") && j.contains("prompt_template");
}

Sample sample_from_json(const nlohmann::json& j) {
  require(j.is_object(), "expected a JSON object");
  Sample s;
  s.id = string_field(j, "id");
  s.task = string_field(j, "task");
  s.prompt_template = string_field(j, "prompt_template");
  s.context = string_field(j, "context");
  s.question = string_field(j, "question");
  s.answer_prefix = string_field(j, "answer_prefix");
  s.answers = strings_field(j, "answers");
  const nlohmann::json& mnt = field(j, "max_new_tokens");
  require(mnt.is_number_integer() && mnt.get<int64_t>() > 0, "field 'max_new_tokens': expected a positive integer");
  s.max_new_tokens = mnt.get<int>();
  s.evidence = evidence_field(j, s.context.size());
  const nlohmann::json& chat = field(j, "chat");
  require(chat.is_boolean(), "field 'chat': expected true or false");
  s.chat = chat.get<bool>();
  s.scorer = string_field(j, "scorer");
  if (j.contains("metadata")) {
    require(j["metadata"].is_object(), "field 'metadata': expected an object");
    s.metadata = j["metadata"];
  }
  if (j.contains("follow_ups")) {
    const std::string msg = "field 'follow_ups': expected an array of {previous_reply, question, answers}";
    require(j["follow_ups"].is_array(), msg);
    for (const auto& f : j["follow_ups"]) {
      require(f.is_object(), msg);
      s.follow_ups.push_back({string_field(f, "previous_reply"), string_field(f, "question"), strings_field(f, "answers")});
    }
  }
  return s;
}

}  // namespace claa
