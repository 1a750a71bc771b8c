// RULER qa_1 (SQuAD) and qa_2 (HotpotQA): scripts/data/synthetic/qa.py (read_squad, read_hotpotqa,
// generate_input_output) with the 'qa' template of constants.py. The source JSON files are the user's.
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datasets/length_fit.h"
#include "datasets/rng.h"
#include "datasets/ruler.h"

namespace claa {

namespace {

const char* const kQaTemplate =
    "Answer the question based on the given documents. Only give me the answer and do not output any other "
    "words.\n\nThe following are given documents.\n\n{context}\n\nAnswer the question based on the given "
    "documents. Only give me the answer and do not output any other words.\n\nQuestion: {question}";
const char* const kQaAnswerPrefix = " Answer:";

struct QaItem {
  std::string query;
  std::vector<std::string> outputs;
  std::vector<size_t> gold, more;  // indices into QaData::docs
};
struct QaData {
  std::vector<std::string> docs;
  std::vector<QaItem> items;
};

nlohmann::json read_json(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  require(!path.empty() && in.good(), what + " file not found: '" + path + "' (pass its path, e.g. --squad FILE)");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

std::map<std::string, size_t> index_docs(std::vector<std::string>& docs) {
  std::sort(docs.begin(), docs.end());
  docs.erase(std::unique(docs.begin(), docs.end()), docs.end());
  std::map<std::string, size_t> idx;
  for (size_t i = 0; i < docs.size(); ++i) idx[docs[i]] = i;
  return idx;
}

// read_squad: unique paragraphs; answerable questions; the article's other paragraphs as "more".
QaData read_squad(const std::string& path) {
  nlohmann::json j = read_json(path, "SQuAD");
  QaData d;
  try {
    for (const auto& art : j.at("data"))
      for (const auto& p : art.at("paragraphs")) d.docs.push_back(p.at("context").get<std::string>());
    auto idx = index_docs(d.docs);
    for (const auto& art : j.at("data")) {
      std::vector<size_t> article;
      for (const auto& p : art.at("paragraphs")) article.push_back(idx.at(p.at("context").get<std::string>()));
      for (const auto& p : art.at("paragraphs")) {
        size_t self = idx.at(p.at("context").get<std::string>());
        for (const auto& qa : p.at("qas")) {
          if (qa.value("is_impossible", false)) continue;
          QaItem it{qa.at("question").get<std::string>(), {}, {self}, {}};
          for (const auto& a : qa.at("answers")) it.outputs.push_back(a.at("text").get<std::string>());
          for (size_t m : article)
            if (m != self) it.more.push_back(m);
          if (!it.outputs.empty()) d.items.push_back(std::move(it));
        }
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not in SQuAD format (data[].paragraphs[].{context, qas[]}): " + e.what());
  }
  return d;
}

// read_hotpotqa: documents "title\n" + joined sentences; every listed paragraph is gold context.
QaData read_hotpotqa(const std::string& path) {
  nlohmann::json j = read_json(path, "HotpotQA");
  QaData d;
  auto doc_text = [](const nlohmann::json& tp) {
    std::string t = tp.at(0).get<std::string>() + "\n";
    for (const auto& s : tp.at(1)) t += s.get<std::string>();
    return t;
  };
  try {
    for (const auto& q : j)
      for (const auto& tp : q.at("context")) d.docs.push_back(doc_text(tp));
    auto idx = index_docs(d.docs);
    for (const auto& q : j) {
      QaItem it{q.at("question").get<std::string>(), {q.at("answer").get<std::string>()}, {}, {}};
      for (const auto& tp : q.at("context")) it.gold.push_back(idx.at(doc_text(tp)));
      d.items.push_back(std::move(it));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not in HotpotQA format ([{question, answer, context: [[title, [sentences]]]}]): " + e.what());
  }
  return d;
}

Sample make_qa(const QaData& d, size_t index, uint64_t seed, int64_t n) {
  Rng r(seed);
  const QaItem& it = d.items[index % d.items.size()];
  std::vector<size_t> all;
  if (static_cast<size_t>(n) < d.docs.size()) {
    all = it.gold;
    size_t want = static_cast<size_t>(n) - std::min(all.size(), static_cast<size_t>(n));
    if (want > it.more.size()) {
      all.insert(all.end(), it.more.begin(), it.more.end());
      std::set<size_t> used(all.begin(), all.end());
      std::vector<size_t> extra;
      for (size_t i = 0; i < d.docs.size(); ++i)
        if (!used.count(i)) extra.push_back(i);
      for (size_t k : r.sample_indices(extra.size(), want - it.more.size())) all.push_back(extra[k]);
    } else {
      for (size_t k : r.sample_indices(it.more.size(), want)) all.push_back(it.more[k]);
    }
  } else {
    for (size_t i = 0; i < d.docs.size(); ++i) all.push_back(i);
  }
  r.shuffle(all);
  std::vector<std::string> pieces;
  for (size_t i = 0; i < all.size(); ++i) pieces.push_back("Document " + std::to_string(i + 1) + ":\n" + d.docs[all[i]]);
  JoinedText ctx = join_tracked(pieces, "\n\n");

  Sample s;
  s.prompt_template = kQaTemplate;
  s.question = it.query;
  s.answer_prefix = kQaAnswerPrefix;
  s.answers = it.outputs;
  // Evidence: each answer's first occurrence in each gold document, else the gold document itself.
  for (size_t i = 0; i < all.size(); ++i) {
    if (std::find(it.gold.begin(), it.gold.end(), all[i]) == it.gold.end()) continue;
    EvidenceSpan doc = ctx.ranges[i];
    bool found = false;
    for (const auto& a : it.outputs) {
      size_t at = a.empty() ? std::string::npos : ctx.text.find(a, doc.begin);
      if (at != std::string::npos && at + a.size() <= doc.end) {
        s.evidence.push_back({at, at + a.size()});
        found = true;
      }
    }
    if (!found) s.evidence.push_back(doc);
  }
  s.context = std::move(ctx.text);
  return s;
}

}  // namespace

std::vector<Sample> generate_ruler_qa(const std::string& task, const Tokenizer& tok,
                                      const std::optional<ChatTemplate>& chat, const RulerOptions& o) {
  QaData d = task == "qa_1" ? read_squad(o.squad_path) : read_hotpotqa(o.hotpotqa_path);
  require(!d.items.empty(), task + ": no answerable questions in the source file");
  FitRequest req{task, o.length, o.samples};
  size_t max_gold = 0;
  for (size_t i = 0; i < o.samples; ++i) max_gold = std::max(max_gold, d.items[i % d.items.size()].gold.size());
  req.min_n = static_cast<int64_t>(max_gold);
  req.max_n = static_cast<int64_t>(d.docs.size());
  req.first_guess = std::max<int64_t>(req.min_n, o.length / 200);
  return fit_ruler_samples(
      req, [&](size_t i, int64_t n) { return make_qa(d, i, derive_seed(o.seed, i), n); }, tok, chat);
}

}  // namespace claa
