// End-task scorers (RULER, LongBench v1). See scorers.h for the references and the known differences.
#include "evaluation/scorers.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "core/utf8.h"
#include "datasets/longbench.h"

namespace claa {

namespace {

// ---------------------------------------------------------------------------------------------
// Python str semantics on code points
// ---------------------------------------------------------------------------------------------

// str.isspace() / the separators of str.split() and str.strip() (Py_UNICODE_ISSPACE).
bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// `\w` of Python's re on str patterns: alphanumeric or '_'. Exact for ASCII and Latin-1, an
// approximation elsewhere (see scorers.h).
bool is_py_word(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  if (c < 0xC0)
    return c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 || c == 0xBA || (c >= 0xBC && c <= 0xBE);
  if (c <= 0xFF) return c != 0xD7 && c != 0xF7;
  if (is_py_space(c)) return false;
  if (c >= 0x300 && c <= 0x36F) return false;    // combining diacritical marks (e.g. the dot of lower("İ"))
  if (c >= 0x2000 && c <= 0x2BFF) return false;  // punctuation, currency, arrows, math, box drawing, ...
  if (c >= 0x3000 && c <= 0x303F) return (c >= 0x3005 && c <= 0x3007) || (c >= 0x3021 && c <= 0x3029);
  if ((c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40 && c != 0xFF3F) ||
      (c >= 0xFF5B && c <= 0xFF65))
    return false;
  if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji and pictographs
  return c != 0xFFFD;                              // the replacement character decode_utf8 puts for malformed bytes
}

// Appends str.lower() of one code point for the blocks covered (see scorers.h); others unchanged.
void append_lower(char32_t c, std::u32string& out) {
  auto shift_if = [&](bool cond, char32_t delta) { out.push_back(cond ? c + delta : c); };
  if (c < 0x80) return shift_if(c >= 'A' && c <= 'Z', 32);
  if (c < 0x100) return shift_if(c >= 0xC0 && c <= 0xDE && c != 0xD7, 32);
  if (c < 0x180) {     // Latin Extended-A: upper/lower pairs with a few irregular points
    if (c == 0x130) {  // İ → "i̇" (two code points), as in Python
      out.push_back(U'i');
      out.push_back(0x307);
      return;
    }
    if (c == 0x178) return out.push_back(0xFF);  // Ÿ → ÿ
    const bool even_upper = (c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    return shift_if((even_upper && c % 2 == 0) || (odd_upper && c % 2 == 1), 1);
  }
  if (c >= 0x386 && c <= 0x3AB) {  // Greek capitals (no final-sigma context rule)
    if (c == 0x386) return out.push_back(0x3AC);
    if (c >= 0x388 && c <= 0x38A) return out.push_back(c + 37);
    if (c == 0x38C) return out.push_back(0x3CC);
    if (c == 0x38E || c == 0x38F) return out.push_back(c + 63);
    return shift_if(c >= 0x391 && c != 0x3A2, 32);
  }
  if (c >= 0x400 && c <= 0x40F) return out.push_back(c + 80);  // Cyrillic Ѐ..Џ
  if (c >= 0x410 && c <= 0x42F) return out.push_back(c + 32);  // Cyrillic А..Я
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) return shift_if(c % 2 == 0, 1);
  if (c >= 0xFF21 && c <= 0xFF3A) return out.push_back(c + 32);  // fullwidth Ａ..Ｚ
  out.push_back(c);
}

std::u32string py_lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) append_lower(c, out);
  return out;
}

// str.split() with no arguments: runs of whitespace separate, no empty tokens.
std::vector<std::u32string> py_split(const std::u32string& s) {
  std::vector<std::u32string> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_py_space(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_py_space(s[i])) ++i;
    if (i > start) tokens.emplace_back(s.substr(start, i - start));
  }
  return tokens;
}

// str.strip() with no arguments.
std::u32string py_strip(const std::u32string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && is_py_space(s[begin])) ++begin;
  while (end > begin && is_py_space(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

// " ".join(tokens)
std::u32string join_spaces(const std::vector<std::u32string>& tokens) {
  std::u32string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) out.push_back(U' ');
    out += tokens[i];
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// re.findall(r"\d+", text) with ASCII digits.
std::vector<std::string> digit_runs(const std::string& text) {
  std::vector<std::string> runs;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] >= '0' && text[i] <= '9') {
      const size_t start = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      runs.push_back(text.substr(start, i - start));
    } else {
      ++i;
    }
  }
  return runs;
}

// Share of `numbers` equal to `target` (0 when there are none): count_score / retrieval_score.
double share_equal(const std::vector<std::string>& numbers, const std::string& target) {
  if (numbers.empty()) return 0.0;
  const auto right = std::count(numbers.begin(), numbers.end(), target);
  return static_cast<double>(right) / static_cast<double>(numbers.size());
}

// Python's round() (half to even) for the non-negative values fuzz.ratio produces.
int round_half_even(double x) { return static_cast<int>(std::nearbyint(x)); }

// ---------------------------------------------------------------------------------------------
// ROUGE-L (rouge 1.0.1, rouge/rouge.py and rouge/rouge_score.py)
// ---------------------------------------------------------------------------------------------

using Words = std::vector<int>;  // words interned to ids

// Rouge._get_avg_scores: sentences = [" ".join(s.split()) for s in text.split(".") if len(s) > 0]; each
// sentence's words are sentence.split(" "), which is [""] for an all-whitespace piece.
std::vector<Words> rouge_sentences(const std::u32string& text, std::map<std::u32string, int>& vocab) {
  std::vector<Words> sentences;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find(U'.', start);
    if (dot == std::u32string::npos) dot = text.size();
    if (dot > start) {
      std::vector<std::u32string> tokens = py_split(text.substr(start, dot - start));
      if (tokens.empty()) tokens.emplace_back();  // "".split(" ") == [""]
      Words words;
      for (const auto& token : tokens)
        words.push_back(vocab.emplace(token, static_cast<int>(vocab.size())).first->second);
      sentences.push_back(std::move(words));
    }
    start = dot + 1;
  }
  return sentences;
}

size_t distinct_words(const std::vector<Words>& sentences) {
  std::vector<int> all;
  for (const auto& s : sentences) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  return static_cast<size_t>(std::unique(all.begin(), all.end()) - all.begin());
}

struct RougeRecursionError {};

// rouge_score._recon_lcs(x, y): the words of the LCS the recursive _recon picks (match → diagonal;
// else up if table[i-1][j] > table[i][j-1], else left), added to `lcs_words`. Throws
// RougeRecursionError when _recon would make more than `call_limit` nested calls (0: no limit).
void recon_lcs_words(const Words& x, const Words& y, int64_t call_limit, std::vector<char>& lcs_words) {
  const size_t n = x.size(), m = y.size();
  std::vector<int> table((n + 1) * (m + 1), 0);  // rouge_score._lcs
  auto at = [&](size_t i, size_t j) -> int& { return table[i * (m + 1) + j]; };
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j)
      at(i, j) = x[i - 1] == y[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
  size_t i = n, j = m;
  int64_t calls = 1;
  while (i > 0 && j > 0) {
    if (x[i - 1] == y[j - 1]) {
      lcs_words[x[i - 1]] = 1;
      --i;
      --j;
    } else if (at(i - 1, j) > at(i, j - 1)) {
      --i;
    } else {
      --j;
    }
    ++calls;
  }
  if (call_limit > 0 && calls > call_limit) throw RougeRecursionError{};
}

// rouge_score.rouge_l_summary_level with exclusive=True: LCS_u summed over reference sentences with a
// union carried across them equals the number of distinct words in the union of every
// (reference sentence, candidate sentence) LCS.
double rouge_l_summary_level(const std::vector<Words>& hyp, const std::vector<Words>& ref, size_t vocab_size,
                             int64_t call_limit) {
  const auto m = static_cast<double>(distinct_words(ref));
  const auto n = static_cast<double>(distinct_words(hyp));
  std::vector<char> in_union(vocab_size, 0);
  for (const Words& ref_sentence : ref)
    for (const Words& hyp_sentence : hyp) recon_lcs_words(ref_sentence, hyp_sentence, call_limit, in_union);
  const auto llcs = static_cast<double>(std::count(in_union.begin(), in_union.end(), 1));
  const double r_lcs = llcs / m;
  const double p_lcs = llcs / n;
  return 2.0 * ((p_lcs * r_lcs) / (p_lcs + r_lcs + 1e-8));
}

// ---------------------------------------------------------------------------------------------
// LongBench's metrics per dataset
// ---------------------------------------------------------------------------------------------

using PairMetric = std::function<double(const std::string&, const std::string&, const std::vector<std::string>&)>;

// LongBench: max over the gold answers, starting from 0 (eval.py scorer).
SampleScorer longbench_scorer(const std::string& name, PairMetric metric) {
  return {name, 1.0,
          [metric](const std::string& prediction, const std::vector<std::string>& references,
                   const std::vector<std::string>& all_classes) {
            double best = 0.0;
            for (const auto& reference : references) best = std::max(best, metric(prediction, reference, all_classes));
            return best;
          }};
}

const std::vector<SampleScorer>& scorer_table() {
  using Classes = std::vector<std::string>;
  static const std::vector<SampleScorer> table = {
      {"string_match_all", 100.0,
       [](const std::string& p, const std::vector<std::string>& refs, const Classes&) {
         return string_match_all(p, refs);
       }},
      {"string_match_part", 100.0,
       [](const std::string& p, const std::vector<std::string>& refs, const Classes&) {
         return string_match_part(p, refs);
       }},
      longbench_scorer("qa_f1",
                       [](const std::string& p, const std::string& g, const Classes&) { return qa_f1_score(p, g); }),
      longbench_scorer("rouge",
                       [](const std::string& p, const std::string& g, const Classes&) { return rouge_l_score(p, g); }),
      longbench_scorer("classification", [](const std::string& p, const std::string& g,
                                            const Classes& c) { return classification_score(p, g, c); }),
      longbench_scorer("retrieval", [](const std::string& p, const std::string& g,
                                       const Classes&) { return retrieval_score(p, g); }),
      longbench_scorer("count",
                       [](const std::string& p, const std::string& g, const Classes&) { return count_score(p, g); }),
      longbench_scorer("code_sim",
                       [](const std::string& p, const std::string& g, const Classes&) { return code_sim_score(p, g); }),
  };
  return table;
}

// Σ_r or max_r of [lower(r) ⊂ lower(postprocessed pred)] (RULER constants.py).
std::vector<bool> ruler_hits(const std::string& prediction, const std::vector<std::string>& references) {
  require(!references.empty(), "RULER string match needs at least one reference");
  const std::string pred = encode_utf8(py_lower(decode_utf8(ruler_postprocess(prediction))));
  std::vector<bool> hits;
  for (const auto& reference : references)
    hits.push_back(contains(pred, encode_utf8(py_lower(decode_utf8(reference)))));
  return hits;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RULER
// ---------------------------------------------------------------------------------------------

std::vector<std::string> python_split(const std::string& text) {
  std::vector<std::string> out;
  for (const std::u32string& t : py_split(decode_utf8(text))) out.push_back(encode_utf8(t));
  return out;
}

std::string python_strip(const std::string& text) { return encode_utf8(py_strip(decode_utf8(text))); }

std::string python_lower(const std::string& text) { return encode_utf8(py_lower(decode_utf8(text))); }

std::string ruler_postprocess(const std::string& prediction) {
  std::u32string text = py_strip(decode_utf8(prediction));
  for (char32_t& c : text)
    if (c <= 0x1F) c = U'\n';  // re.sub(r'[\x00-\x1f]', '\n', ...)
  return encode_utf8(py_strip(text));
}

double string_match_all(const std::string& prediction, const std::vector<std::string>& references) {
  const std::vector<bool> hits = ruler_hits(prediction, references);
  const auto found = std::count(hits.begin(), hits.end(), true);
  return static_cast<double>(found) / static_cast<double>(hits.size()) * 100.0;
}

double string_match_part(const std::string& prediction, const std::vector<std::string>& references) {
  const std::vector<bool> hits = ruler_hits(prediction, references);
  return std::find(hits.begin(), hits.end(), true) != hits.end() ? 100.0 : 0.0;
}

// ---------------------------------------------------------------------------------------------
// LongBench metrics (LongBench/metrics.py)
// ---------------------------------------------------------------------------------------------

std::string normalize_answer(const std::string& text) {
  static const std::u32string kPunctuation = U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";  // string.punctuation
  std::u32string lowered = py_lower(decode_utf8(text));
  std::u32string no_punct;
  for (char32_t c : lowered)
    if (kPunctuation.find(c) == std::u32string::npos) no_punct.push_back(c);
  // re.sub(r"\b(a|an|the)\b", " ", text): a match needs a non-word character (or the edge) on both sides.
  static const std::u32string kArticles[] = {U"a", U"an", U"the"};
  std::u32string no_articles;
  const std::u32string& t = no_punct;
  size_t i = 0;
  while (i < t.size()) {
    size_t matched = 0;
    if (i == 0 || !is_py_word(t[i - 1])) {
      for (const auto& article : kArticles) {
        const size_t end = i + article.size();
        if (t.compare(i, article.size(), article) == 0 && (end == t.size() || !is_py_word(t[end]))) {
          matched = article.size();
          break;
        }
      }
    }
    if (matched) {
      no_articles.push_back(U' ');
      i += matched;
    } else {
      no_articles.push_back(t[i++]);
    }
  }
  return encode_utf8(join_spaces(py_split(no_articles)));
}

// metrics.f1_score on the token lists (collections.Counter intersection).
double qa_f1_score(const std::string& prediction, const std::string& ground_truth) {
  const auto pred_tokens = py_split(decode_utf8(normalize_answer(prediction)));
  const auto gold_tokens = py_split(decode_utf8(normalize_answer(ground_truth)));
  std::unordered_map<std::u32string, int64_t> gold_counts;
  for (const auto& token : gold_tokens) ++gold_counts[token];
  int64_t num_same = 0;
  for (const auto& token : pred_tokens) {
    auto it = gold_counts.find(token);
    if (it != gold_counts.end() && it->second > 0) {
      --it->second;
      ++num_same;
    }
  }
  if (num_same == 0) return 0.0;
  const double precision = 1.0 * static_cast<double>(num_same) / static_cast<double>(pred_tokens.size());
  const double recall = 1.0 * static_cast<double>(num_same) / static_cast<double>(gold_tokens.size());
  return (2 * precision * recall) / (precision + recall);
}

double rouge_l_score(const std::string& prediction, const std::string& ground_truth, int64_t recon_call_limit) {
  std::map<std::u32string, int> vocab;
  const auto hyp = rouge_sentences(decode_utf8(prediction), vocab);
  const auto ref = rouge_sentences(decode_utf8(ground_truth), vocab);
  if (hyp.empty() || ref.empty()) return 0.0;  // rouge raises ValueError; metrics.rouge_score returns 0
  try {
    return rouge_l_summary_level(hyp, ref, vocab.size(), recon_call_limit);
  } catch (const RougeRecursionError&) {
    return 0.0;  // RecursionError in Python, swallowed by the bare except
  }
}

double classification_score(const std::string& prediction, const std::string& ground_truth,
                            const std::vector<std::string>& all_classes) {
  std::vector<std::string> matches;
  for (const auto& class_name : all_classes)
    if (contains(prediction, class_name)) matches.push_back(class_name);
  // Python: `for match_term in em_match_list: ... em_match_list.remove(match_term)`. The list iterator
  // walks an index, so removing shifts the next element under it and that element is skipped.
  for (size_t index = 0; index < matches.size(); ++index) {
    const std::string term = matches[index];
    if (contains(ground_truth, term) && term != ground_truth)
      matches.erase(std::find(matches.begin(), matches.end(), term));  // list.remove: first occurrence
  }
  if (std::find(matches.begin(), matches.end(), ground_truth) == matches.end()) return 0.0;
  return 1.0 / static_cast<double>(matches.size());
}

double retrieval_score(const std::string& prediction, const std::string& ground_truth) {
  // re.findall(r'Paragraph (\d+)', ground_truth)[0]
  static const std::string kPrefix = "Paragraph ";
  for (size_t at = ground_truth.find(kPrefix); at != std::string::npos; at = ground_truth.find(kPrefix, at + 1)) {
    size_t end = at + kPrefix.size();
    while (end < ground_truth.size() && ground_truth[end] >= '0' && ground_truth[end] <= '9') ++end;
    if (end > at + kPrefix.size())
      return share_equal(digit_runs(prediction), ground_truth.substr(at + kPrefix.size(), end - at - kPrefix.size()));
  }
  throw Error("retrieval ground truth has no 'Paragraph N': '" + ground_truth + "'");
}

double count_score(const std::string& prediction, const std::string& ground_truth) {
  return share_equal(digit_runs(prediction), ground_truth);
}

int fuzz_ratio(const std::string& a, const std::string& b) {
  if (a == b) return 100;                // utils.check_for_equivalence (applied before the empty check)
  if (a.empty() || b.empty()) return 0;  // utils.check_empty_string
  const std::u32string x = decode_utf8(a), y = decode_utf8(b);
  // Levenshtein.ratio = rapidfuzz Indel.normalized_similarity = 1 − (len1 + len2 − 2·LCS) / (len1 + len2).
  std::vector<int64_t> row(y.size() + 1, 0);
  for (char32_t cx : x) {
    int64_t diagonal = 0;
    for (size_t j = 1; j <= y.size(); ++j) {
      const int64_t up = row[j];
      row[j] = cx == y[j - 1] ? diagonal + 1 : std::max(row[j], row[j - 1]);
      diagonal = up;
    }
  }
  const int64_t lcs = row[y.size()];
  const auto lensum = static_cast<double>(x.size() + y.size());
  const double norm_dist = (lensum - 2.0 * static_cast<double>(lcs)) / lensum;
  return round_half_even(100 * (1.0 - norm_dist));  // utils.intr: int(round(n))
}

double code_sim_score(const std::string& prediction, const std::string& ground_truth) {
  // all_lines = prediction.lstrip('\n').split('\n'); first line without '`', '#', '//'.
  const size_t begin = std::min(prediction.find_first_not_of('\n'), prediction.size());
  std::string chosen;
  size_t start = begin;
  while (start <= prediction.size()) {
    size_t end = prediction.find('\n', start);
    if (end == std::string::npos) end = prediction.size();
    const std::string line = prediction.substr(start, end - start);
    if (!contains(line, "`") && !contains(line, "#") && !contains(line, "//")) {
      chosen = line;
      break;
    }
    start = end + 1;
  }
  return fuzz_ratio(chosen, ground_truth) / 100.0;
}

// ---------------------------------------------------------------------------------------------
// Lookup and dataset tables
// ---------------------------------------------------------------------------------------------

const SampleScorer& scorer_by_name(const std::string& name) {
  for (const auto& scorer : scorer_table())
    if (scorer.name == name) return scorer;
  throw Error("unknown scorer '" + name + "'");
}

double longbench_score(const std::string& dataset, const std::string& prediction,
                       const std::vector<std::string>& answers, const std::vector<std::string>& all_classes) {
  const SampleScorer& scorer = scorer_by_name(longbench_metric(dataset));
  std::string scored = prediction;
  if (longbench_first_line_only(dataset)) {  // prediction.lstrip('\n').split('\n')[0]
    const size_t begin = std::min(prediction.find_first_not_of('\n'), prediction.size());
    scored = prediction.substr(begin, prediction.find('\n', begin) - begin);
  }
  return scorer.score(scored, answers, all_classes);
}

}  // namespace claa
