#include "tokenizer/sentencepiece.h"

#include <algorithm>
#include <queue>

namespace claa {

void Metaspace::rewrite(NormalizedText& t, bool at_input_start) const {
  replace_all(t, " ", replacement);
  bool want = prepend == Prepend::Always || (prepend == Prepend::First && at_input_start);
  if (want && !(if_missing && t.text.compare(0, replacement.size(), replacement) == 0)) {
    claa::prepend(t, replacement);
  }
}

std::vector<std::pair<size_t, size_t>> Metaspace::pieces(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (text.empty()) return out;
  if (!split) return {{0, text.size()}};
  // MergedWithNext: each replacement character starts a piece and stays with what follows it.
  size_t begin = 0;
  for (size_t hit = text.find(replacement, 1); hit != std::string_view::npos; hit = text.find(replacement, hit + 1)) {
    if (hit > begin) out.emplace_back(begin, hit);
    begin = hit;
  }
  out.emplace_back(begin, text.size());
  return out;
}

namespace {

// llama.cpp unicode_len_utf8: the length a lead byte announces, from its high four bits (1 for
// ASCII and stray continuation bytes).
size_t lead_byte_len(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  return c < 0xF0 ? 3 : 4;
}

struct Symbol {
  size_t begin, len;  // len 0: merged into its left neighbour
  int prev, next;
};

struct Bigram {
  int left, right;
  float score;
  size_t size;
};

// Highest score first, then the leftmost pair (llama.cpp llm_bigram_spm::comparator).
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void spm_tokenize(std::string_view text, const std::function<int32_t(const std::string&)>& piece_id,
                  const std::function<float(int32_t)>& score, const std::function<int32_t(unsigned char)>& byte_id,
                  std::vector<SpmToken>& out) {
  std::vector<Symbol> sym;
  for (size_t pos = 0; pos < text.size();) {
    size_t len = std::min(lead_byte_len(static_cast<unsigned char>(text[pos])), text.size() - pos);
    int n = static_cast<int>(sym.size());
    sym.push_back({pos, len, n - 1, pos + len == text.size() ? -1 : n + 1});
    pos += len;
  }
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    std::string merged(text.substr(sym[left].begin, sym[left].len + sym[right].len));
    int32_t id = piece_id(merged);
    if (id < 0) return;
    queue.push({left, right, score(id), merged.size()});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_pair(i - 1, i);
  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Symbol &l = sym[b.left], &r = sym[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // one side changed since
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }
  // llama.cpp then "re-segments" each symbol: a piece is one token, anything else goes out as
  // bytes. Only pairs whose text is a piece are ever merged, so a symbol that is no piece is a
  // single character (llama.cpp's rev_merge path never finds one) and becomes byte tokens.
  for (int i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
    int32_t id = piece_id(std::string(text.substr(sym[i].begin, sym[i].len)));
    if (id >= 0) {
      out.push_back({id, sym[i].begin, sym[i].len});
      continue;
    }
    for (size_t k = sym[i].begin; k < sym[i].begin + sym[i].len; ++k) {
      int32_t b = byte_id(static_cast<unsigned char>(text[k]));
      if (b >= 0) out.push_back({b, k, 1});
    }
  }
}

}  // namespace claa
