// RULER needle-in-a-haystack tasks: scripts/data/synthetic/niah.py with the configs of
// scripts/synthetic.yaml and the 'niah' template/answer prefix of constants.py.
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "datasets/length_fit.h"
#include "datasets/rng.h"
#include "datasets/ruler.h"

namespace claa {

namespace {

const char* const kNoise =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
const char* const kNeedle = "One of the special magic {type_needle_v} for {key} is: {value}.";
const char* const kTemplate =
    "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I will "
    "quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic {type_needle_v} "
    "for {query} mentioned in the provided text?";
const char* const kAnswerPrefix = " The special magic {type_needle_v} for {query} mentioned in the provided text are";

struct NiahConfig {
  std::string haystack;  // noise | essay | needle
  std::string key_type, value_type;  // words | numbers | uuids
  size_t k = 1, v = 1, q = 1;
};

NiahConfig niah_config(const std::string& task) {
  if (task == "niah_single_1") return {"noise", "words", "numbers"};
  if (task == "niah_single_2") return {"essay", "words", "numbers"};
  if (task == "niah_single_3") return {"essay", "words", "uuids"};
  if (task == "niah_multikey_1") return {"essay", "words", "numbers", 4, 1, 1};
  if (task == "niah_multikey_2") return {"needle", "words", "numbers"};
  if (task == "niah_multikey_3") return {"needle", "uuids", "uuids"};
  if (task == "niah_multivalue") return {"essay", "words", "numbers", 1, 4, 1};
  if (task == "niah_multiquery") return {"essay", "words", "numbers", 4, 1, 4};
  throw Error("unknown RULER niah task '" + task + "'");
}

std::string random_uuid4(Rng& r) {
  uint64_t hi = r.next(), lo = r.next();
  hi = (hi & ~0xF000ull) | 0x4000ull;                        // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);        // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", (unsigned long long)(hi >> 32),
                (unsigned long long)((hi >> 16) & 0xFFFF), (unsigned long long)(hi & 0xFFFF),
                (unsigned long long)(lo >> 48), (unsigned long long)(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

// RULER generate_random: 7-digit numbers, adjective-noun style word pairs, or UUIDv4.
std::string random_value(Rng& r, const std::string& type, const std::vector<std::string>& words) {
  if (type == "numbers") return std::to_string(r.uniform_int(1000000, 9999999));
  if (type == "uuids") return random_uuid4(r);
  return words[r.index(words.size())] + "-" + words[r.index(words.size())];
}

std::string format_needle(const std::string& type_v, const std::string& key, const std::string& value) {
  std::string s = replace_all(kNeedle, "{type_needle_v}", type_v);
  return replace_all(replace_all(s, "{key}", key), "{value}", value);
}

// niah.py DEPTHS = np.round(np.linspace(0, 100, num=40)).
std::vector<int> depth_grid() {
  std::vector<int> d;
  for (int j = 0; j < 40; ++j) d.push_back(static_cast<int>(std::lround(100.0 * j / 39.0)));
  return d;
}

struct Needles {
  std::vector<std::string> keys, texts;
  std::vector<std::vector<std::string>> values;
  std::vector<size_t> owner;  // key index of each needle text
};

Needles make_needles(Rng& r, const NiahConfig& c, const std::vector<std::string>& words) {
  Needles n;
  for (size_t i = 0; i < c.k; ++i) {
    n.keys.push_back(random_value(r, c.key_type, words));
    n.values.emplace_back();
    for (size_t j = 0; j < c.v; ++j) {
      n.values.back().push_back(random_value(r, c.value_type, words));
      n.texts.push_back(format_needle(c.value_type, n.keys.back(), n.values.back().back()));
      n.owner.push_back(i);
    }
  }
  std::vector<size_t> order(n.texts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  r.shuffle(order);
  Needles shuffled = n;
  for (size_t i = 0; i < order.size(); ++i) {
    shuffled.texts[i] = n.texts[order[i]];
    shuffled.owner[i] = n.owner[order[i]];
  }
  return shuffled;
}

// Essay: sentences of the first n words, needles between sentences at random grid depths.
// Returns the pieces; needle pieces are marked in `is_needle` with their needle index.
std::vector<std::string> essay_pieces(Rng& r, const std::vector<std::string>& essay, int64_t n,
                                      const Needles& nd, std::vector<int>& needle_of_piece) {
  std::vector<std::string> sents = split_sentences(join_words(essay, static_cast<size_t>(n)));
  std::vector<int> depths = depth_grid();
  std::vector<size_t> pick = r.sample_indices(depths.size(), nd.texts.size());
  std::vector<size_t> pos = {0};
  for (size_t p : pick) pos.push_back(static_cast<size_t>(sents.size() * (depths[p] / 100.0)));
  std::sort(pos.begin() + 1, pos.end());
  pos.push_back(sents.size());
  std::vector<std::string> pieces;
  for (size_t i = 1; i < pos.size(); ++i) {
    std::string chunk;
    for (size_t s = pos[i - 1]; s < pos[i]; ++s) chunk += (s > pos[i - 1] ? " " : "") + sents[s];
    pieces.push_back(chunk);
    needle_of_piece.push_back(-1);
    if (i - 1 < nd.texts.size()) {
      pieces.push_back(nd.texts[i - 1]);
      needle_of_piece.push_back(static_cast<int>(i - 1));
    }
  }
  return pieces;
}

// Noise / needle haystacks: n lines, needles inserted at random line indices.
std::vector<std::string> line_pieces(Rng& r, const NiahConfig& c, int64_t n, const Needles& nd,
                                     const std::vector<std::string>& words, std::vector<int>& needle_of_piece) {
  std::vector<std::string> lines;
  for (int64_t i = 0; i < n; ++i) {
    lines.push_back(c.haystack == "noise" ? std::string(kNoise)
                                          : format_needle(c.value_type, random_value(r, c.key_type, words),
                                                          random_value(r, c.value_type, words)));
  }
  needle_of_piece.assign(lines.size(), -1);
  std::vector<size_t> idx = r.sample_indices(static_cast<size_t>(n), nd.texts.size());
  std::sort(idx.rbegin(), idx.rend());
  for (size_t j = 0; j < idx.size(); ++j) {
    lines.insert(lines.begin() + idx[j], nd.texts[j]);
    needle_of_piece.insert(needle_of_piece.begin() + idx[j], static_cast<int>(j));
  }
  return lines;
}

Sample make_niah(const NiahConfig& c, uint64_t seed, int64_t n, const std::vector<std::string>& words,
                 const std::vector<std::string>* essay) {
  Rng r(seed);
  Needles nd = make_needles(r, c, words);
  std::vector<int> needle_of_piece;
  std::vector<std::string> pieces = c.haystack == "essay" ? essay_pieces(r, *essay, n, nd, needle_of_piece)
                                                          : line_pieces(r, c, n, nd, words, needle_of_piece);
  JoinedText joined = join_tracked(pieces, c.haystack == "essay" ? " " : "\n");

  std::vector<size_t> qidx = r.sample_indices(c.k, c.q);
  std::vector<std::string> queries;
  Sample s;
  for (size_t i : qidx) {
    queries.push_back(nd.keys[i]);
    for (const auto& v : nd.values[i]) s.answers.push_back(v);
  }
  std::string query = queries[0];
  if (queries.size() > 1) {
    query.clear();
    for (size_t i = 0; i + 1 < queries.size(); ++i) query += (i ? ", " : "") + queries[i];
    query += ", and " + queries.back();
  }
  for (size_t p = 0; p < pieces.size(); ++p) {
    int ni = needle_of_piece[p];
    if (ni >= 0 && std::find(qidx.begin(), qidx.end(), nd.owner[ni]) != qidx.end()) s.evidence.push_back(joined.ranges[p]);
  }

  std::string tmpl = kTemplate, prefix = kAnswerPrefix, type_v = c.value_type;
  if (c.q * c.v == 1) {  // niah.py singularises the template for one answer
    for (std::string* t : {&tmpl, &prefix}) {
      *t = replace_all(*t, "Some", "A");
      *t = replace_all(*t, "are all", "is");
      *t = replace_all(*t, "are", "is");
      *t = replace_all(*t, "answers", "answer");
    }
    type_v.pop_back();
  }
  auto fill = [&](std::string t) { return replace_all(replace_all(t, "{type_needle_v}", type_v), "{query}", query); };
  tmpl = fill(tmpl);
  const std::string marker = "\n{context}\n";
  size_t at = tmpl.find(marker);
  s.prompt_template = tmpl.substr(0, at + marker.size()) + "{question}";
  s.question = tmpl.substr(at + marker.size());
  s.answer_prefix = fill(prefix);
  s.context = std::move(joined.text);
  s.metadata["haystack"] = c.haystack;
  return s;
}

}  // namespace

std::vector<Sample> generate_ruler_niah(const std::string& task, const Tokenizer& tok,
                                        const std::optional<ChatTemplate>& chat, const RulerOptions& o) {
  NiahConfig c = niah_config(task);
  const auto& words = word_list(o.word_list);
  const std::vector<std::string>* essay = nullptr;
  if (c.haystack == "essay") essay = &essay_words(o.haystack_dir.empty() ? default_haystack_dir() : o.haystack_dir);
  FitRequest req{task, o.length, o.samples};
  req.min_n = static_cast<int64_t>(c.k * c.v);
  req.first_guess = c.haystack == "essay" ? o.length * 3 / 5 : o.length / 25;
  return fit_ruler_samples(
      req, [&](size_t i, int64_t n) { return make_niah(c, derive_seed(o.seed, i), n, words, essay); }, tok, chat);
}

}  // namespace claa
