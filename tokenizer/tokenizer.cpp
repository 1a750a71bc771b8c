#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <queue>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/gguf.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/sentencepiece.h"

namespace claa {

namespace {

enum class TokenKind : uint8_t { Normal, Control, UserDefined };

// How a piece of text becomes token ids.
enum class ModelKind : uint8_t {
  ByteLevelBpe,  // GPT-2 byte alphabet, merges by rank (SmolLM2, Llama-3, Qwen2/3)
  CharBpe,       // HF BPE over characters with byte fallback (Llama 2, Mistral, Phi-3, Gemma tokenizer.json)
  SpmScores,     // GGUF "llama": llama.cpp's SentencePiece, merges by piece score
};

struct SpecialToken {
  std::string text;
  int32_t id;
  bool control;  // control tokens are only matched with parse_special
  bool lstrip, rstrip;  // HF added-token flags: the token swallows the whitespace before / after it
};

// HF AddedToken lstrip / rstrip.
struct StripFlags {
  bool left = false, right = false;
};

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

struct Tokenizer::Impl {
  std::vector<std::string> pieces;  // vocab strings, GPT-2 alphabet ("" for unused ids)
  std::vector<std::string> bytes;   // what each id decodes to
  std::vector<TokenKind> kinds;
  std::unordered_map<std::string, int32_t> piece_ids;
  std::array<int32_t, 256> byte_ids{};  // id of each single-byte token (-1 if the vocab lacks it)
  struct Merge {
    int32_t rank, result;
  };
  std::unordered_map<uint64_t, Merge> merges;  // (left id, right id) -> rank and merged id
  PreTokenizer pre;
  std::vector<SpecialToken> specials;  // longest first, so the longest match wins
  std::unordered_map<int32_t, StripFlags> strip_flags;  // of the added tokens that have any
  std::array<bool, 256> special_first_byte{};
  bool ignore_merges = false;  // HF BPE option (Llama-3): a piece already in the vocab is one token
  // A byte with no token of its own: HF with a BPE unk_token emits unk; llama.cpp and HF without
  // one drop the byte silently (SmolLM2's vocab lacks e.g. 0x04 and 0xF1, so both references drop).
  bool unk_for_missing_bytes = false;
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false;
  std::string chat_template;

  ModelKind model = ModelKind::ByteLevelBpe;
  std::string kind_name;               // pre_tokenizer_name() of the SentencePiece kinds
  Normalizer normalizer;               // tokenizer.json "normalizer" (none for GGUF)
  std::optional<Metaspace> metaspace;  // HF Metaspace pre-tokenizer, or llama.cpp's space handling
  bool regex_split = true;             // split with `pre` (false: each piece between special tokens is one word)
  Decoder decoder = Decoder::byte_level();
  bool byte_fallback = false;               // CharBpe: a character with no piece becomes its bytes' <0xXX> tokens
  bool fuse_unk = false;                    // CharBpe: consecutive unknown characters make one unk token
  std::array<int32_t, 256> fallback_ids{};  // id of each "<0xXX>" piece (-1 if absent)
  std::vector<float> scores;                // SpmScores: piece scores

  // Word -> ids cache. Natural text repeats words a lot, so this makes BPE nearly free. `lens`
  // (SentencePiece kinds only) are the bytes of the word each token covers.
  struct Cached {
    std::vector<int32_t> ids;
    std::vector<uint32_t> lens;
  };
  mutable std::mutex cache_mu;
  mutable std::unordered_map<std::string, Cached> cache;
  static constexpr size_t kCacheMaxEntries = 1 << 18;
  static constexpr size_t kCacheMaxWordBytes = 256;

  void add_piece(int32_t id, const std::string& piece, TokenKind kind);
  void add_merge(const std::string& left, const std::string& right, int32_t rank);
  void finish();
  void tokenize_word(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>& lens) const;
  void tokenize_word_uncached(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>& lens) const;
  void bpe_bytes(std::string_view word, std::vector<int32_t>& out) const;
  void bpe_chars(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>& lens) const;
  void spm_scores(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>& lens) const;
  void encode_words(std::string_view text, size_t base, Encoding& out, bool want_offsets) const;
  void encode_plain(std::string_view text, size_t base, Encoding& out, bool want_offsets) const;
  void encode(std::string_view text, bool parse_special, Encoding& out, bool want_offsets) const;
  const SpecialToken* match_special(std::string_view text, size_t pos, bool parse_special) const;
  void check_id(int32_t id) const;
};

void Tokenizer::Impl::add_piece(int32_t id, const std::string& piece, TokenKind kind) {
  // Bound ids so a corrupt file cannot make us allocate gigabytes.
  require(id >= 0 && id < (1 << 24), "tokenizer: token id " + std::to_string(id) + " out of range for '" + piece + "'");
  if (static_cast<size_t>(id) >= pieces.size()) {
    pieces.resize(id + 1);
    kinds.resize(id + 1, TokenKind::Normal);
  }
  pieces[id] = piece;
  kinds[id] = kind;
  piece_ids.emplace(piece, id);  // first id wins on duplicate strings (as llama.cpp)
}

void Tokenizer::Impl::add_merge(const std::string& left, const std::string& right, int32_t rank) {
  auto l = piece_ids.find(left), r = piece_ids.find(right), m = piece_ids.find(left + right);
  // A merge whose parts or result are not in the vocab can never fire; skip it.
  if (l == piece_ids.end() || r == piece_ids.end() || m == piece_ids.end()) return;
  merges.emplace(pair_key(l->second, r->second), Merge{rank, m->second});
}

void Tokenizer::Impl::finish() {
  require(!pieces.empty(), "tokenizer: empty vocabulary");
  const auto n = static_cast<int32_t>(pieces.size());
  for (auto [what, id] : {std::pair<const char*, int32_t>{"bos", bos}, {"eos", eos}, {"unknown", unk}}) {
    require(id < n,
            std::string("tokenizer: ") + what + " token id " + std::to_string(id) + " is outside the vocabulary");
  }
  bytes.resize(pieces.size());
  for (size_t id = 0; id < pieces.size(); ++id) {
    // Special tokens decode to their literal text; normal ones through the byte alphabet, or, for
    // the SentencePiece kinds, through the decoder's per-token steps ("▁" -> " ", <0xXX> -> byte).
    if (kinds[id] != TokenKind::Normal) {
      bytes[id] = pieces[id];
    } else {
      bytes[id] = model == ModelKind::ByteLevelBpe ? gpt2_piece_to_bytes(pieces[id]) : decoder.token_text(pieces[id]);
    }
    if (kinds[id] != TokenKind::Normal && !pieces[id].empty()) {
      auto flags = strip_flags.find(static_cast<int32_t>(id));
      StripFlags f = flags == strip_flags.end() ? StripFlags{} : flags->second;
      specials.push_back({pieces[id], static_cast<int32_t>(id), kinds[id] == TokenKind::Control, f.left, f.right});
    }
  }
  for (int b = 0; b < 256; ++b) {
    auto it = piece_ids.find(gpt2_bytes_to_piece(std::string(1, static_cast<char>(b))));
    byte_ids[b] = it == piece_ids.end() ? -1 : it->second;
    it = piece_ids.find(byte_token_piece(static_cast<unsigned char>(b)));
    fallback_ids[b] = it == piece_ids.end() ? -1 : it->second;
  }
  std::stable_sort(specials.begin(), specials.end(),
                   [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  special_first_byte.fill(false);
  for (const auto& s : specials) special_first_byte[static_cast<unsigned char>(s.text[0])] = true;
}

namespace {

// A symbol of a word being merged: token id, bytes of the word it covers, linked-list neighbours.
struct Symbol {
  int32_t id;
  uint32_t len;
  int prev, next;
};

void push_symbol(std::vector<Symbol>& sym, int32_t id, uint32_t len) {
  int n = static_cast<int>(sym.size());
  if (n > 0) sym[n - 1].next = n;
  sym.push_back({id, len, n - 1, -1});
}

}  // namespace

// Merge-rank BPE (HF models/bpe/word.rs merge_all): repeatedly apply the adjacent pair with the
// lowest rank, leftmost first. The heap holds candidate pairs; stale entries are skipped when
// popped. Leaves the merged symbols' ids and lengths in `ids` / `lens` (lens may be null).
template <typename Merges>
void merge_by_rank(std::vector<Symbol>& sym, const Merges& merges, std::vector<int32_t>& ids,
                   std::vector<uint32_t>* lens) {
  if (sym.empty()) return;
  struct Cand {
    int32_t rank;
    int pos;
    int32_t left, right;
  };
  auto worse = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  auto push_pair = [&](int pos) {
    if (pos < 0 || sym[pos].next < 0) return;
    auto it = merges.find(pair_key(sym[pos].id, sym[sym[pos].next].id));
    if (it != merges.end()) heap.push({it->second.rank, pos, sym[pos].id, sym[sym[pos].next].id});
  };
  for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) push_pair(i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Symbol& s = sym[c.pos];
    if (s.id < 0 || s.next < 0 || s.id != c.left || sym[s.next].id != c.right) continue;  // stale
    Symbol& r = sym[s.next];
    s.id = merges.at(pair_key(c.left, c.right)).result;
    s.len += r.len;
    r.id = -1;  // removed
    s.next = r.next;
    if (s.next >= 0) sym[s.next].prev = c.pos;
    push_pair(s.prev);
    push_pair(c.pos);
  }
  for (int i = 0; i >= 0 && i < static_cast<int>(sym.size()); i = sym[i].next) {
    ids.push_back(sym[i].id);
    if (lens) lens->push_back(sym[i].len);
  }
}

// Byte-level BPE of one pre-token: one symbol per byte of the GPT-2 alphabet, merged by rank.
void Tokenizer::Impl::bpe_bytes(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges) {
    auto it = piece_ids.find(gpt2_bytes_to_piece(word));
    if (it != piece_ids.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  bool previous_missing = false;
  for (size_t i = 0; i < word.size(); ++i) {
    int32_t id = byte_ids[static_cast<unsigned char>(word[i])];
    bool missing = id < 0;
    if (missing && unk_for_missing_bytes) id = unk;
    if (id >= 0 && !(missing && previous_missing && fuse_unk)) push_symbol(sym, id, 1);  // else dropped or fused
    previous_missing = missing;
  }
  merge_by_rank(sym, merges, out, nullptr);
}

// Character BPE of one word (HF models/bpe/model.rs merge_word): one symbol per character that
// is a piece; any other character becomes its bytes' <0xXX> tokens (byte_fallback, when the vocab
// has all of them) or the unknown token (consecutive ones fused into one with fuse_unk), or is
// dropped when there is no unknown token. Then merges by rank.
void Tokenizer::Impl::bpe_chars(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>& lens) const {
  if (ignore_merges) {
    auto it = piece_ids.find(std::string(word));
    if (it != piece_ids.end()) {
      ids.push_back(it->second);
      lens.push_back(static_cast<uint32_t>(word.size()));
      return;
    }
  }
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  uint32_t pending_unk = 0;  // bytes of unknown characters waiting to become one unk token
  for (size_t i = 0; i < word.size();) {
    auto len = static_cast<uint32_t>(std::max<size_t>(1, utf8_valid_char_len(word, i)));
    auto it = piece_ids.find(std::string(word.substr(i, len)));
    bool all_bytes = byte_fallback;
    for (uint32_t k = 0; all_bytes && k < len; ++k)
      all_bytes = fallback_ids[static_cast<unsigned char>(word[i + k])] >= 0;
    if (it != piece_ids.end()) {
      if (pending_unk > 0) push_symbol(sym, unk, pending_unk), pending_unk = 0;
      push_symbol(sym, it->second, len);
    } else if (all_bytes) {
      // HF adds the byte tokens without first emitting a pending unk (it follows them).
      for (uint32_t k = 0; k < len; ++k) push_symbol(sym, fallback_ids[static_cast<unsigned char>(word[i + k])], 1);
    } else if (unk >= 0) {
      if (pending_unk > 0 && !fuse_unk) push_symbol(sym, unk, pending_unk), pending_unk = 0;
      pending_unk += len;
    }
    i += len;
  }
  if (pending_unk > 0) push_symbol(sym, unk, pending_unk);
  merge_by_rank(sym, merges, ids, &lens);
}

// llama.cpp's SentencePiece tokenizer (GGUF "llama"): merges by score, then byte fallback with
// <0xXX> tokens, else a one-byte piece, else the unknown token.
void Tokenizer::Impl::spm_scores(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>& lens) const {
  auto piece_id = [&](const std::string& s) {
    auto it = piece_ids.find(s);
    return it == piece_ids.end() ? -1 : it->second;
  };
  auto score = [&](int32_t id) { return static_cast<size_t>(id) < scores.size() ? scores[id] : 0.0f; };
  auto byte_id = [&](unsigned char b) {
    if (fallback_ids[b] >= 0) return fallback_ids[b];
    int32_t id = piece_id(std::string(1, static_cast<char>(b)));
    return id >= 0 ? id : unk;
  };
  std::vector<SpmToken> toks;
  spm_tokenize(word, piece_id, score, byte_id, toks);
  for (const auto& t : toks) {
    ids.push_back(t.id);
    lens.push_back(static_cast<uint32_t>(t.len));
  }
}

void Tokenizer::Impl::tokenize_word_uncached(std::string_view word, std::vector<int32_t>& ids,
                                             std::vector<uint32_t>& lens) const {
  switch (model) {
    case ModelKind::ByteLevelBpe: bpe_bytes(word, ids); break;
    case ModelKind::CharBpe: bpe_chars(word, ids, lens); break;
    case ModelKind::SpmScores: spm_scores(word, ids, lens); break;
  }
}

void Tokenizer::Impl::tokenize_word(std::string_view word, std::vector<int32_t>& ids,
                                    std::vector<uint32_t>& lens) const {
  if (word.size() > kCacheMaxWordBytes) {
    tokenize_word_uncached(word, ids, lens);
    return;
  }
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(key);
    if (it != cache.end()) {
      ids.insert(ids.end(), it->second.ids.begin(), it->second.ids.end());
      lens.insert(lens.end(), it->second.lens.begin(), it->second.lens.end());
      return;
    }
  }
  size_t first_id = ids.size(), first_len = lens.size();
  tokenize_word_uncached(word, ids, lens);
  Cached c{std::vector<int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(first_id), ids.end()),
           std::vector<uint32_t>(lens.begin() + static_cast<std::ptrdiff_t>(first_len), lens.end())};
  std::lock_guard<std::mutex> lock(cache_mu);
  if (cache.size() >= kCacheMaxEntries) cache.clear();  // crude bound on memory
  cache.emplace(std::move(key), std::move(c));
}

// Pre-tokenise and tokenise a span with no special tokens in it. `base` is its offset in the
// coordinates the offsets are reported in.
void Tokenizer::Impl::encode_words(std::string_view text, size_t base, Encoding& out, bool want_offsets) const {
  std::vector<std::pair<size_t, size_t>> words;
  if (metaspace) {
    words = metaspace->pieces(text);
  } else if (regex_split) {
    words = pre.split(text);
  } else if (!text.empty()) {
    words = {{0, text.size()}};
  }
  std::vector<uint32_t> lens;
  for (auto [wb, we] : words) {
    std::string_view word = text.substr(wb, we - wb);
    size_t first = out.ids.size();
    lens.clear();
    tokenize_word(word, out.ids, lens);
    if (!want_offsets) continue;
    size_t pos = wb;
    for (size_t k = first; k < out.ids.size(); ++k) {
      size_t len;
      if (model != ModelKind::ByteLevelBpe) {
        len = lens[k - first];  // the SentencePiece kinds know each token's extent
      } else if (out.ids[k] == unk && unk >= 0 && unk_for_missing_bytes) {
        // unk stands for a missing byte, or with fuse_unk for the run of them
        len = 1;
        while (fuse_unk && pos + len < we && byte_ids[static_cast<unsigned char>(text[pos + len])] < 0) ++len;
      } else {
        len = bytes[out.ids[k]].size();
        // Skip bytes that were dropped for lack of a token; no token contains one.
        while (pos < we && byte_ids[static_cast<unsigned char>(text[pos])] < 0) ++pos;
      }
      size_t b = pos, e = std::min(pos + len, we);
      // Widen to whole characters: pre-tokens never cut a character, so stay inside the word.
      while (b > wb && utf8_is_continuation(static_cast<unsigned char>(text[b]))) --b;
      while (e < we && utf8_is_continuation(static_cast<unsigned char>(text[e]))) ++e;
      out.offsets.emplace_back(base + b, base + e);
      pos += len;
    }
  }
}

// A span with no special tokens: normalise it (keeping the alignment to the input), apply the
// Metaspace rewrite, tokenise, and map the offsets back to input bytes.
void Tokenizer::Impl::encode_plain(std::string_view text, size_t base, Encoding& out, bool want_offsets) const {
  if (normalizer.is_identity() && !metaspace) {
    encode_words(text, base, out, want_offsets);
    return;
  }
  NormalizedText norm = normalizer.apply(text);
  if (metaspace) metaspace->rewrite(norm, base == 0);
  Encoding local;
  encode_words(norm.text, 0, local, want_offsets);
  out.ids.insert(out.ids.end(), local.ids.begin(), local.ids.end());
  for (auto [b, e] : local.offsets) {
    auto [ob, oe] = norm.source_range(b, e);
    out.offsets.emplace_back(base + ob, base + oe);
  }
}

const SpecialToken* Tokenizer::Impl::match_special(std::string_view text, size_t pos, bool parse_special) const {
  for (const auto& s : specials) {
    if (s.control && !parse_special) continue;
    if (text.compare(pos, s.text.size(), s.text) == 0) return &s;
  }
  return nullptr;
}

namespace {

// Whether the character ending at / starting at byte `i` of `text` is Unicode whitespace, and its
// length (0 when it is not).
size_t whitespace_before(std::string_view text, size_t i) {
  size_t start = i - 1;
  while (start > 0 && utf8_is_continuation(static_cast<unsigned char>(text[start]))) --start;
  size_t len = utf8_valid_char_len(text, start);
  return len == i - start && is_unicode_whitespace(utf8_decode_at(text, start, len)) ? len : 0;
}

size_t whitespace_at(std::string_view text, size_t i) {
  size_t len = utf8_valid_char_len(text, i);
  return len > 0 && is_unicode_whitespace(utf8_decode_at(text, i, len)) ? len : 0;
}

}  // namespace

// Special tokens are found leftmost-longest before pre-tokenisation (HF AddedVocabulary,
// llama.cpp tokenizer_st_partition); the text between them is encoded normally. An HF added token
// with lstrip / rstrip also takes the whitespace before / after it (its offsets include it).
void Tokenizer::Impl::encode(std::string_view text, bool parse_special, Encoding& out, bool want_offsets) const {
  size_t plain_begin = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (!special_first_byte[static_cast<unsigned char>(text[pos])]) continue;
    const SpecialToken* s = match_special(text, pos, parse_special);
    if (s == nullptr) continue;
    size_t begin = pos, end = pos + s->text.size();
    for (size_t n; s->lstrip && begin > plain_begin && (n = whitespace_before(text, begin)) > 0;) begin -= n;
    for (size_t n; s->rstrip && end < text.size() && (n = whitespace_at(text, end)) > 0;) end += n;
    if (begin > plain_begin) {
      encode_plain(text.substr(plain_begin, begin - plain_begin), plain_begin, out, want_offsets);
    }
    out.ids.push_back(s->id);
    if (want_offsets) out.offsets.emplace_back(begin, end);
    plain_begin = end;
    pos = plain_begin - 1;
  }
  if (plain_begin < text.size()) encode_plain(text.substr(plain_begin), plain_begin, out, want_offsets);
}

void Tokenizer::Impl::check_id(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces.size()) {
    throw Error("token id " + std::to_string(id) + " is out of range (vocab size " + std::to_string(pieces.size()) +
                ")");
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

namespace {

// The end-of-turn tokens llama.cpp also treats as EOG when present.
const char* const kEndOfTurnTokens[] = {"<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<|end_of_text|>",
                                        "<|eom_id|>", "</s>",       "<end_of_turn>", "<|end|>"};

std::pair<std::string, std::string> split_merge(const std::string& merge) {
  // Vocab strings never contain a plain space (it is 'Ġ'); search from 1 as llama.cpp does.
  size_t sp = merge.find(' ', 1);
  require(sp != std::string::npos, "tokenizer: malformed merge '" + merge + "'");
  return {merge.substr(0, sp), merge.substr(sp + 1)};
}

}  // namespace

namespace {

// GGUF tokenizer.ggml.token_type (llama.cpp): 1 normal, 2 unknown, 3 control, 4 user defined,
// 5 unused, 6 byte. Unknown tokens are matched like control ones (only with parse_special).
TokenKind gguf_token_kind(int64_t type) {
  if (type == 2 || type == 3) return TokenKind::Control;
  return type == 4 ? TokenKind::UserDefined : TokenKind::Normal;
}

std::vector<float> gguf_scores(const GgufFile& gguf, size_t n_tokens) {
  std::vector<float> scores;
  if (!gguf.has("tokenizer.ggml.scores")) return scores;
  const GgufValue& v = gguf.get("tokenizer.ggml.scores");
  require(v.type == GgufValueType::ARRAY && v.array.size() == n_tokens,
          "tokenizer: tokenizer.ggml.scores must be an array with one score per token");
  for (const GgufValue& e : v.array) {
    require(e.is_float() || e.is_integer(), "tokenizer: tokenizer.ggml.scores holds a non-number");
    scores.push_back(static_cast<float>(e.is_float() ? e.f : static_cast<double>(e.i)));
  }
  return scores;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufFile& gguf) {
  std::string model = gguf.get_string("tokenizer.ggml.model");
  require(model == "gpt2" || model == "llama",
          "tokenizer: GGUF tokenizer model '" + model +
              "' is not supported (supported: gpt2 = byte-level BPE, llama = SentencePiece)");
  auto impl = std::make_shared<Impl>();
  auto tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  std::vector<int64_t> types;
  if (gguf.has("tokenizer.ggml.token_type")) types = gguf.get_int_array("tokenizer.ggml.token_type");
  require(types.empty() || types.size() == tokens.size(), "tokenizer: token_type and tokens differ in length");
  for (size_t i = 0; i < tokens.size(); ++i) {
    impl->add_piece(static_cast<int32_t>(i), tokens[i], gguf_token_kind(types.empty() ? 1 : types[i]));
  }
  impl->bos = static_cast<int32_t>(gguf.get_int("tokenizer.ggml.bos_token_id", -1));
  impl->eos = static_cast<int32_t>(gguf.get_int("tokenizer.ggml.eos_token_id", -1));
  impl->unk = static_cast<int32_t>(gguf.get_int("tokenizer.ggml.unknown_token_id", -1));
  impl->chat_template = gguf.get_string("tokenizer.chat_template", "");

  if (model == "llama") {
    // llama.cpp llama-vocab.cpp, LLAMA_VOCAB_TYPE_SPM: spaces become "▁", a space is put before
    // every piece of text between special tokens (add_space_prefix, default true), and pieces are
    // merged by score; decoding drops the first token's leading space again.
    impl->model = ModelKind::SpmScores;
    impl->kind_name = "sentencepiece";
    impl->scores = gguf_scores(gguf, tokens.size());
    bool space_prefix = gguf.get_int("tokenizer.ggml.add_space_prefix", 1) != 0;
    Metaspace ms;
    ms.prepend = space_prefix ? Metaspace::Prepend::Always : Metaspace::Prepend::Never;
    ms.split = false;
    ms.if_missing = false;
    impl->metaspace = ms;
    impl->regex_split = false;
    impl->decoder = Decoder::sentencepiece(space_prefix);
    impl->add_bos = gguf.get_int("tokenizer.ggml.add_bos_token", 1) != 0;
    impl->finish();
    return Tokenizer(impl);
  }

  std::string pre = gguf.get_string("tokenizer.ggml.pre", "gpt2");
  if (pre == "default" || pre == "gpt-2") pre = "gpt2";  // llama.cpp's names for the GPT-2 split
  impl->pre = PreTokenizer::from_name(pre);
  impl->ignore_merges = impl->pre.name() == "llama-bpe";
  auto merges = gguf.get_string_array("tokenizer.ggml.merges");
  for (size_t r = 0; r < merges.size(); ++r) {
    auto [l, rr] = split_merge(merges[r]);
    impl->add_merge(l, rr, static_cast<int32_t>(r));
  }
  bool default_bos = impl->pre.name() == "llama-bpe";
  impl->add_bos = gguf.get_int("tokenizer.ggml.add_bos_token", default_bos ? 1 : 0) != 0;
  impl->finish();
  return Tokenizer(impl);
}

namespace {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), "cannot open " + path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
}

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// What an HF pre_tokenizer amounts to: isolated-split regex steps, whether a ByteLevel step maps
// bytes to the GPT-2 alphabet, and a Metaspace step.
struct PreSteps {
  std::vector<SplitStep> regexes;
  bool byte_level = false;
  std::optional<Metaspace> metaspace;
};

// HF pre_tokenizers/metaspace.rs. Older files say add_prefix_space (true = always), newer ones
// prepend_scheme; split defaults to true.
Metaspace read_metaspace(const nlohmann::json& pt) {
  Metaspace ms;
  ms.replacement = pt.value("replacement", std::string(kSentencePieceSpace));
  require(!ms.replacement.empty() && utf8_valid_char_len(ms.replacement, 0) == ms.replacement.size(),
          "tokenizer.json: Metaspace replacement must be one character");
  if (pt.contains("prepend_scheme")) {
    std::string scheme = pt.at("prepend_scheme").get<std::string>();
    if (scheme == "always") {
      ms.prepend = Metaspace::Prepend::Always;
    } else if (scheme == "first") {
      ms.prepend = Metaspace::Prepend::First;
    } else if (scheme == "never") {
      ms.prepend = Metaspace::Prepend::Never;
    } else {
      throw Error("tokenizer.json: unknown Metaspace prepend_scheme '" + scheme + "'");
    }
  } else {
    ms.prepend = pt.value("add_prefix_space", true) ? Metaspace::Prepend::Always : Metaspace::Prepend::Never;
  }
  ms.split = pt.value("split", true);
  return ms;
}

SplitBehavior split_behavior(const std::string& name) {
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  throw Error("tokenizer.json: unknown Split behavior '" + name + "'");
}

// Translate an HF pre_tokenizer. ByteLevel(use_regex=true) is the GPT-2 split; Digits is \p{N}
// (individually) or \p{N}+; Split takes any behavior but invert; Metaspace must stand alone.
void collect_pre_steps(const nlohmann::json& pt, PreSteps& steps) {
  if (pt.is_null()) return;
  std::string type = pt.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : pt.at("pretokenizers")) collect_pre_steps(p, steps);
  } else if (type == "ByteLevel") {
    require(!pt.value("add_prefix_space", false), "tokenizer.json: ByteLevel add_prefix_space=true is not supported");
    if (pt.value("use_regex", true)) steps.regexes.push_back({kGpt2Pattern});
    steps.byte_level = true;
  } else if (type == "Digits") {
    steps.regexes.push_back({pt.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)"});
  } else if (type == "Split") {
    require(!pt.value("invert", false), "tokenizer.json: Split with invert=true is not supported");
    SplitStep step;
    step.behavior = split_behavior(pt.value("behavior", ""));
    const auto& pat = pt.at("pattern");
    if (pat.contains("Regex")) {
      step.pattern = pat.at("Regex").get<std::string>();
    } else {
      step.pattern = regex_escape(pat.at("String").get<std::string>());
    }
    steps.regexes.push_back(step);
  } else if (type == "Metaspace") {
    require(!steps.metaspace, "tokenizer.json: more than one Metaspace pre-tokenizer");
    steps.metaspace = read_metaspace(pt);
  } else {
    throw Error("tokenizer.json: unsupported pre_tokenizer type '" + type + "'");
  }
  require(!steps.metaspace || (steps.regexes.empty() && !steps.byte_level),
          "tokenizer.json: a Metaspace pre-tokenizer combined with other pre-tokenizers is not supported");
}

std::string name_for_steps(const std::vector<SplitStep>& split_steps) {
  std::vector<std::string> steps;
  for (const auto& s : split_steps) {
    if (s.behavior != SplitBehavior::Isolated) return "custom";
    steps.push_back(s.pattern);
  }
  if (steps == std::vector<std::string>{kGpt2Pattern}) return "gpt2";
  if (steps == std::vector<std::string>{kDigitPattern, kGpt2Pattern}) return "smollm";
  if (steps == std::vector<std::string>{kLlama3Pattern}) return "llama-bpe";
  if (steps == std::vector<std::string>{kQwen2Pattern}) return "qwen2";
  return "custom";
}

// tokenizer_config.json stores special tokens either as strings or as {"content": ...} objects.
std::string token_content(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j.at("content").get<std::string>();
  return "";
}

// A TemplateProcessing post-processor (alone or inside a Sequence, as Llama-3 has it) whose single-
// sequence template starts with a special token means "add BOS".
bool template_adds_bos(const nlohmann::json& post) {
  if (!post.is_object()) return false;
  std::string type = post.value("type", "");
  if (type == "Sequence" && post.contains("processors")) {
    for (const auto& p : post.at("processors"))
      if (template_adds_bos(p)) return true;
    return false;
  }
  if (type != "TemplateProcessing" || !post.contains("single")) return false;
  const auto& single = post.at("single");
  return single.is_array() && !single.empty() && single[0].contains("SpecialToken");
}

}  // namespace

Tokenizer Tokenizer::from_hf_json(const std::string& path) {
  nlohmann::json j = read_json_file(path);
  auto impl = std::make_shared<Impl>();
  try {
    const auto& model = j.at("model");
    require(model.value("type", "BPE") == "BPE", path + ": only BPE models are supported");
    impl->ignore_merges = model.value("ignore_merges", false);
    // BPE-dropout is random at encode time, and the word affixes change what a piece is: neither
    // is used by the supported models.
    require(!model.contains("dropout") || model.at("dropout").is_null(), path + ": BPE dropout is not supported");
    for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      require(!model.contains(affix) || model.at(affix).is_null() || model.at(affix) == "",
              path + ": BPE " + affix + " is not supported");
    }
    impl->byte_fallback = model.value("byte_fallback", false);
    impl->fuse_unk = model.value("fuse_unk", false);
    for (const auto& [piece, id] : model.at("vocab").items())
      impl->add_piece(id.get<int32_t>(), piece, TokenKind::Normal);
    for (const auto& at : j.value("added_tokens", nlohmann::json::array())) {
      TokenKind kind = at.value("special", false) ? TokenKind::Control : TokenKind::UserDefined;
      impl->add_piece(at.at("id").get<int32_t>(), at.at("content").get<std::string>(), kind);
      StripFlags strip{at.value("lstrip", false), at.value("rstrip", false)};
      if (strip.left || strip.right) impl->strip_flags[at.at("id").get<int32_t>()] = strip;
    }
    const auto& merges = model.at("merges");
    for (size_t r = 0; r < merges.size(); ++r) {
      // Older files store "a b" strings, newer ones ["a", "b"] pairs.
      if (merges[r].is_string()) {
        auto [l, rr] = split_merge(merges[r].get<std::string>());
        impl->add_merge(l, rr, static_cast<int32_t>(r));
      } else {
        impl->add_merge(merges[r].at(0).get<std::string>(), merges[r].at(1).get<std::string>(),
                        static_cast<int32_t>(r));
      }
    }
    if (model.contains("unk_token") && model.at("unk_token").is_string()) {
      impl->unk = impl->piece_ids.count(model.at("unk_token")) ? impl->piece_ids.at(model.at("unk_token")) : -1;
    }
    impl->normalizer = Normalizer::from_json(j.value("normalizer", nlohmann::json()));
    PreSteps pre;
    collect_pre_steps(j.value("pre_tokenizer", nlohmann::json()), pre);
    if (pre.byte_level) {
      // Byte-level BPE (GPT-2 family). The decoder is the byte alphabet whatever the file says.
      impl->unk_for_missing_bytes = impl->unk >= 0;
      impl->pre = PreTokenizer::from_steps(name_for_steps(pre.regexes), pre.regexes);
    } else {
      // SentencePiece-style BPE: pieces are characters with "▁" for spaces, the decoder is the file's.
      impl->model = ModelKind::CharBpe;
      impl->kind_name = "sentencepiece-bpe";
      impl->metaspace = pre.metaspace;
      impl->regex_split = !pre.regexes.empty();
      impl->pre = PreTokenizer::from_steps("sentencepiece-bpe", pre.regexes);
      impl->decoder = Decoder::from_json(j.value("decoder", nlohmann::json()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": unexpected tokenizer.json layout: " + e.what());
  }

  // BOS/EOS/chat template live in tokenizer_config.json next to tokenizer.json.
  auto id_of = [&](const std::string& s) {
    auto it = impl->piece_ids.find(s);
    return it == impl->piece_ids.end() ? -1 : it->second;
  };
  std::filesystem::path cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    nlohmann::json cfg = read_json_file(cfg_path.string());
    if (cfg.contains("bos_token")) impl->bos = id_of(token_content(cfg["bos_token"]));
    if (cfg.contains("eos_token")) impl->eos = id_of(token_content(cfg["eos_token"]));
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean())
      impl->add_bos = cfg["add_bos_token"].get<bool>();
    if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) impl->chat_template = cfg["chat_template"];
  } else {
    // No config: guess from conventional names.
    for (const char* b : {"<|begin_of_text|>", "<s>", "<|im_start|>"})
      if (impl->bos < 0) impl->bos = id_of(b);
    for (const char* e : {"<|end_of_text|>", "</s>", "<|im_end|>", "<|endoftext|>"})
      if (impl->eos < 0) impl->eos = id_of(e);
  }
  if (template_adds_bos(j.value("post_processor", nlohmann::json()))) impl->add_bos = true;
  impl->finish();
  return Tokenizer(impl);
}

// ---------------------------------------------------------------------------------------------
// Public API

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  Encoding e;
  impl_->encode(text, parse_special, e, false);
  return std::move(e.ids);
}

Encoding Tokenizer::encode_with_offsets(std::string_view text, bool parse_special) const {
  Encoding e;
  impl_->encode(text, parse_special, e, true);
  return e;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  if (impl_->model != ModelKind::ByteLevelBpe) {
    // The SentencePiece kinds run the decoder chain over the token strings, as HF does.
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      impl_->check_id(id);
      tokens.push_back(impl_->pieces[id]);
    }
    return impl_->decoder.decode(std::move(tokens));
  }
  std::string out;
  for (int32_t id : ids) {
    impl_->check_id(id);
    out += impl_->bytes[id];
  }
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  impl_->check_id(id);
  return impl_->bytes[id];
}

std::string Tokenizer::piece(int32_t id) const {
  impl_->check_id(id);
  return impl_->pieces[id];
}

int32_t Tokenizer::piece_to_id(const std::string& piece) const {
  auto it = impl_->piece_ids.find(piece);
  return it == impl_->piece_ids.end() ? -1 : it->second;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->pieces.size()); }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
std::string Tokenizer::pre_tokenizer_name() const {
  return impl_->model == ModelKind::ByteLevelBpe ? impl_->pre.name() : impl_->kind_name;
}

std::string Tokenizer::describe() const {
  const Impl& t = *impl_;
  std::string out = t.model == ModelKind::ByteLevelBpe ? "byte-level BPE, pre-tokenizer " + t.pre.name()
                    : t.model == ModelKind::CharBpe    ? "SentencePiece-style BPE (sentencepiece-bpe)"
                                                       : "SentencePiece (GGUF llama, merges by score)";
  if (!t.normalizer.is_identity()) out += ", normalizer " + t.normalizer.describe();
  if (t.metaspace) out += ", Metaspace";
  if (t.byte_fallback && t.model != ModelKind::ByteLevelBpe) out += ", byte fallback";
  if (t.model == ModelKind::CharBpe) out += ", decoder " + t.decoder.describe();
  return out;
}
std::string Tokenizer::chat_template() const { return impl_->chat_template; }

void Tokenizer::clear_cache() const {
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  impl_->cache.clear();
}

std::vector<int32_t> Tokenizer::eos_ids() const {
  std::vector<int32_t> ids;
  if (impl_->eos >= 0) ids.push_back(impl_->eos);
  for (const char* t : kEndOfTurnTokens) {
    int32_t id = piece_to_id(t);
    if (id >= 0 && impl_->kinds[id] != TokenKind::Normal && std::find(ids.begin(), ids.end(), id) == ids.end()) {
      ids.push_back(id);
    }
  }
  return ids;
}

std::pair<size_t, size_t> token_span(const Encoding& enc, size_t byte_begin, size_t byte_end) {
  const auto& off = enc.offsets;
  // Offsets are sorted and non-overlapping (up to shared multi-byte characters), so both ends
  // are binary searches.
  auto first = std::partition_point(off.begin(), off.end(), [&](const auto& o) { return o.second <= byte_begin; });
  if (byte_end <= byte_begin) {
    size_t f = static_cast<size_t>(first - off.begin());
    return {f, f};
  }
  auto last = std::partition_point(first, off.end(), [&](const auto& o) { return o.first < byte_end; });
  return {static_cast<size_t>(first - off.begin()), static_cast<size_t>(last - off.begin())};
}

double tokenizer_benchmark_mb_per_s(const Tokenizer& tok, const std::string& text) {
  // Cold cache every pass, so the number includes the BPE work, not just cache look-ups.
  using clock = std::chrono::steady_clock;
  double total_s = 0.0;
  const int passes = 3;
  size_t n_tokens = 0;
  for (int pass = 0; pass < passes; ++pass) {
    tok.clear_cache();
    auto t0 = clock::now();
    n_tokens += tok.encode(text).size();
    total_s += std::chrono::duration<double>(clock::now() - t0).count();
  }
  return total_s > 0 && n_tokens > 0 ? static_cast<double>(text.size()) * passes / 1e6 / total_s : 0.0;
}

}  // namespace claa
