// RULER variable tracking (variable_tracking.py), common words (common_words_extraction.py) and
// frequent words (freq_words_extraction.py); templates from constants.py.
#include <cmath>

#include "core/error.h"
#include "datasets/length_fit.h"
#include "datasets/rng.h"
#include "datasets/ruler.h"

namespace claa {

namespace {

// ---- vt --------------------------------------------------------------------------------------

const char* const kVtNoise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n";
const char* const kVtTemplate =
    "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\n";
const char* const kVtQuestion = "Question: Find all variables that are assigned the value {query} in the text above.";
// "assgined" is RULER's own spelling.
const char* const kVtAnswerPrefix =
    " Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assgined "
    "the value {query}, they are: ";

struct VtChain {
  std::vector<std::string> vars, lines;
  std::string value;
};

// generate_chains for one chain: distinct random upper-case names, "VAR A = 12345", "VAR B = VAR A ".
VtChain make_chain(Rng& r, size_t hops, size_t name_len) {
  VtChain c;
  while (c.vars.size() < hops + 1) {
    std::string v;
    for (size_t i = 0; i < name_len; ++i) v += static_cast<char>('A' + r.uniform_int(0, 25));
    if (std::find(c.vars.begin(), c.vars.end(), v) == c.vars.end()) c.vars.push_back(v);
  }
  c.value = std::to_string(r.uniform_int(10000, 99998));  // np.random.randint(10000, 99999)
  c.lines.push_back("VAR " + c.vars[0] + " = " + c.value);
  for (size_t j = 0; j < hops; ++j) c.lines.push_back("VAR " + c.vars[j + 1] + " = VAR " + c.vars[j] + " ");
  return c;
}

// The chain lines inserted in order at random positions among n noise paragraphs, joined by "\n".
JoinedText vt_context(Rng& r, const VtChain& c, int64_t n, std::vector<size_t>& chain_piece) {
  std::vector<std::string> sents(static_cast<size_t>(n), kVtNoise);
  if (sents.size() <= c.lines.size()) {  // too few paragraphs: split them into sentences (as RULER)
    std::vector<std::string> split;
    for (const auto& para : sents) {
      size_t start = 0;
      for (size_t dot; (dot = para.find('.', start)) != std::string::npos; start = dot + 1) split.push_back(para.substr(start, dot - start) + ".");
      if (start < para.size()) split.push_back(para.substr(start));
    }
    sents = split;
  }
  std::vector<size_t> pos = r.sample_indices(sents.size(), c.lines.size());
  std::sort(pos.begin(), pos.end());
  for (size_t j = 0; j < pos.size(); ++j) {
    sents.insert(sents.begin() + pos[j] + j, c.lines[j]);
    chain_piece.push_back(pos[j] + j);
  }
  return join_tracked(sents, "\n");
}

std::string vt_fill(std::string t, const VtChain& c) {
  return replace_all(replace_all(t, "{query}", c.value), "{num_v}", std::to_string(c.vars.size()));
}

Sample make_vt(uint64_t seed, int64_t n) {
  Rng r(seed);
  // The in-context example (variable_tracking.py is_icl): 3-letter names, a short noise haystack.
  VtChain icl = make_chain(r, 4, 3);
  std::vector<size_t> unused;
  JoinedText icl_ctx = vt_context(r, icl, 5, unused);
  std::string icl_text = replace_all(kVtTemplate, "{context}", icl_ctx.text) + vt_fill(kVtQuestion, icl) +
                         vt_fill(kVtAnswerPrefix, icl);
  for (size_t i = 0; i < icl.vars.size(); ++i) icl_text += (i ? " " : "") + icl.vars[i];

  VtChain c = make_chain(r, 4, 5);
  std::vector<size_t> chain_piece;
  JoinedText ctx = vt_context(r, c, n, chain_piece);
  Sample s;
  s.prompt_template = icl_text + "\n\n" + kVtTemplate + "{question}";
  s.question = vt_fill(kVtQuestion, c);
  s.answer_prefix = vt_fill(kVtAnswerPrefix, c);
  s.answers = c.vars;
  for (size_t p : chain_piece) {
    EvidenceSpan e = ctx.ranges[p];
    while (e.end > e.begin && ctx.text[e.end - 1] == ' ') --e.end;  // the line without its trailing space
    s.evidence.push_back(e);
  }
  s.context = std::move(ctx.text);
  return s;
}

// ---- cwe -------------------------------------------------------------------------------------

const char* const kCweTemplate =
    "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that "
    "appear most often.\n{context}\n";
const char* const kCweQuestion = "Question: What are the 10 most common words in the above list?";
const char* const kCweAnswerPrefix = " Answer: The top 10 words that appear most often in the list are:";

struct CweList {
  JoinedText text;
  std::vector<std::string> common;
  std::vector<size_t> common_pieces;  // pieces "i. word" holding a common word
};

// get_example: num_words distinct words, the first common_nums repeated common_reps times, the rest
// uncommon_reps times, shuffled, numbered "1. w 2. w ...".
CweList cwe_list(Rng& r, const std::vector<std::string>& words, size_t num_words, size_t common_reps,
                 size_t uncommon_reps, size_t common_nums) {
  std::vector<size_t> pick = r.sample_indices(words.size(), num_words);
  std::vector<std::pair<std::string, bool>> list;
  for (size_t i = 0; i < pick.size(); ++i) {
    bool common = i < common_nums;
    for (size_t k = 0; k < (common ? common_reps : uncommon_reps); ++k) list.push_back({words[pick[i]], common});
  }
  r.shuffle(list);
  CweList out;
  for (size_t i = 0; i < common_nums; ++i) out.common.push_back(words[pick[i]]);
  std::vector<std::string> pieces;
  for (size_t i = 0; i < list.size(); ++i) {
    pieces.push_back(std::to_string(i + 1) + ". " + list[i].first);
    if (list[i].second) out.common_pieces.push_back(i);
  }
  out.text = join_tracked(pieces, " ");
  return out;
}

Sample make_cwe(uint64_t seed, int64_t n, int64_t length, const std::vector<std::string>& words) {
  Rng r(seed);
  const bool short_ctx = length < 4096;  // common_words_extraction.py uses lighter repeats below 4K
  CweList ex = short_ctx ? cwe_list(r, words, 20, 3, 1, 10) : cwe_list(r, words, 40, 10, 3, 10);
  CweList main = short_ctx ? cwe_list(r, words, static_cast<size_t>(n), 6, 1, 10)
                           : cwe_list(r, words, static_cast<size_t>(n), 30, 3, 10);
  std::string example = replace_all(kCweTemplate, "{context}", ex.text.text) + kCweQuestion + kCweAnswerPrefix;
  for (size_t i = 0; i < ex.common.size(); ++i) example += " " + std::to_string(i + 1) + ". " + ex.common[i];
  Sample s;
  s.prompt_template = example + "\n" + kCweTemplate + "{question}";
  s.question = kCweQuestion;
  s.answer_prefix = kCweAnswerPrefix;
  s.answers = main.common;
  for (size_t p : main.common_pieces) {
    EvidenceSpan e = main.text.ranges[p];
    e.begin = main.text.text.find(". ", e.begin) + 2;  // the word, not its number
    s.evidence.push_back(e);
  }
  s.context = std::move(main.text.text);
  return s;
}

// ---- fwe -------------------------------------------------------------------------------------

const char* const kFweTemplate =
    "Read the following coded text and track the frequency of each coded word. Find the three most frequently "
    "appeared coded words. {context}\n";
const char* const kFweQuestion =
    "Question: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently "
    "appeared words in the above coded text?";
const char* const kFweAnswerPrefix = " Answer: According to the coded text above, the three most frequently appeared words are:";

Sample make_fwe(uint64_t seed, int64_t n) {
  Rng r(seed);
  const size_t vocab_size = 2000, word_len = 6;
  const double alpha = 2.0, zeta2 = M_PI * M_PI / 6.0;  // scipy.special.zeta(2)
  std::vector<std::string> vocab;
  while (vocab.size() < vocab_size) {
    std::string w;
    for (size_t i = 0; i < word_len; ++i) w += static_cast<char>('a' + r.uniform_int(0, 25));
    vocab.push_back(w);
    if (vocab.size() == vocab_size) {
      std::sort(vocab.begin(), vocab.end());
      vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
    }
  }
  r.shuffle(vocab);
  vocab[0] = "...";  // the top-ranked word is noise
  std::vector<size_t> list;
  for (size_t k = 1; k <= vocab.size(); ++k) {
    auto count = static_cast<int64_t>(static_cast<double>(n) * std::pow(static_cast<double>(k), -alpha) / zeta2);
    for (int64_t c = 0; c < count; ++c) list.push_back(k - 1);
  }
  r.shuffle(list);
  std::vector<std::string> pieces;
  for (size_t w : list) pieces.push_back(vocab[w]);
  JoinedText ctx = join_tracked(pieces, " ");
  Sample s;
  s.prompt_template = std::string(kFweTemplate) + "{question}";
  s.question = kFweQuestion;
  s.answer_prefix = kFweAnswerPrefix;
  s.answers = {vocab[1], vocab[2], vocab[3]};
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] >= 1 && list[i] <= 3) s.evidence.push_back(ctx.ranges[i]);
  }
  s.context = std::move(ctx.text);
  return s;
}

}  // namespace

std::vector<Sample> generate_ruler_vt(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                      const RulerOptions& o) {
  FitRequest req{"vt", o.length, o.samples};
  req.first_guess = o.length / 30;
  return fit_ruler_samples(req, [&](size_t i, int64_t n) { return make_vt(derive_seed(o.seed, i), n); }, tok, chat);
}

std::vector<Sample> generate_ruler_cwe(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                       const RulerOptions& o) {
  const auto& words = word_list(o.word_list);
  FitRequest req{"cwe", o.length, o.samples};
  req.min_n = 11;
  req.max_n = static_cast<int64_t>(words.size());
  req.first_guess = std::max<int64_t>(11, o.length / 25);
  return fit_ruler_samples(
      req, [&](size_t i, int64_t n) { return make_cwe(derive_seed(o.seed, i), n, o.length, words); }, tok, chat);
}

std::vector<Sample> generate_ruler_fwe(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                       const RulerOptions& o) {
  FitRequest req{"fwe", o.length, o.samples};
  req.min_n = 40;
  req.first_guess = std::max<int64_t>(40, o.length / 3);
  return fit_ruler_samples(req, [&](size_t i, int64_t n) { return make_fwe(derive_seed(o.seed, i), n); }, tok, chat);
}

}  // namespace claa
