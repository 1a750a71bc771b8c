#include "tokenizer/decoder.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/byte_unicode.h"

namespace claa {

int byte_token_value(const std::string& piece) {
  // HF decoders/byte_fallback.rs: six bytes "<0x" HH ">", either case of hex digit.
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = hex(piece[3]), lo = hex(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string byte_token_piece(unsigned char b) {
  const char* digits = "0123456789ABCDEF";
  return std::string("<0x") + digits[b >> 4] + digits[b & 15] + ">";
}

struct Decoder::Step {
  enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace } kind;
  std::string name;
  std::string pattern, content;        // Replace; Strip's and Metaspace's character in `content`
  size_t start = 0, stop = 0;          // Strip
  bool drop_first_replacement = true;  // Metaspace with prepend_scheme other than "never"

  void apply(std::vector<std::string>& tokens) const;
  std::string apply_one(const std::string& token) const;
};

namespace {

std::string replace_all_copy(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, pos)) {
    out.append(s, pos, hit - pos).append(to);
    pos = hit + from.size();
  }
  return out.append(s, pos, std::string::npos);
}

// HF decoders/strip.rs: drop up to `start` leading and `stop` trailing copies of one character.
std::string strip_token(const std::string& token, const std::string& ch, size_t start, size_t stop) {
  size_t b = 0, e = token.size();
  for (size_t i = 0; i < start && e - b >= ch.size() && token.compare(b, ch.size(), ch) == 0; ++i) b += ch.size();
  for (size_t i = 0; i < stop && e - b >= ch.size() && token.compare(e - ch.size(), ch.size(), ch) == 0; ++i)
    e -= ch.size();
  return token.substr(b, e - b);
}

}  // namespace

void Decoder::Step::apply(std::vector<std::string>& tokens) const {
  switch (kind) {
    case Kind::Fuse: {
      // HF decoders/fuse.rs: one string of everything.
      std::string all;
      for (const auto& t : tokens) all += t;
      tokens.assign(1, all);
      return;
    }
    case Kind::ByteLevel: {
      // HF decoders/byte_level.rs joins the tokens, then maps the alphabet back to bytes.
      std::string all;
      for (const auto& t : tokens) all += gpt2_piece_to_bytes(t);
      tokens.assign(1, all);
      return;
    }
    case Kind::ByteFallback: {
      // Runs of byte tokens become one string of their bytes (decoders/byte_fallback.rs).
      std::vector<std::string> out;
      std::string bytes;
      bool in_run = false;
      for (auto& t : tokens) {
        int b = byte_token_value(t);
        if (b >= 0) {
          bytes.push_back(static_cast<char>(b));
          in_run = true;
          continue;
        }
        if (in_run) out.push_back(std::move(bytes)), bytes.clear(), in_run = false;
        out.push_back(std::move(t));
      }
      if (in_run) out.push_back(std::move(bytes));
      tokens = std::move(out);
      return;
    }
    case Kind::Metaspace:
      // decoders/metaspace (pre_tokenizers/metaspace.rs): the replacement becomes a space, except
      // in the first token, where it is dropped unless prepend_scheme is "never".
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all_copy(tokens[i], content, i == 0 && drop_first_replacement ? "" : " ");
      }
      return;
    default:
      for (auto& t : tokens) t = apply_one(t);
  }
}

std::string Decoder::Step::apply_one(const std::string& token) const {
  switch (kind) {
    case Kind::Replace: return replace_all_copy(token, pattern, content);
    case Kind::Strip: return strip_token(token, content, start, stop);
    case Kind::ByteLevel: return gpt2_piece_to_bytes(token);
    case Kind::Metaspace: return replace_all_copy(token, content, " ");
    case Kind::ByteFallback: {
      int b = byte_token_value(token);
      return b >= 0 ? std::string(1, static_cast<char>(b)) : token;
    }
    default: return token;
  }
}

namespace {

std::string string_field(const nlohmann::json& j, const char* key, const std::string& type) {
  require(j.contains(key) && j.at(key).is_string(),
          "tokenizer.json: decoder " + type + " needs a string '" + key + "'");
  return j.at(key).get<std::string>();
}

size_t count_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return 0;
  require(j.at(key).is_number_integer() && j.at(key).get<int64_t>() >= 0 && j.at(key).get<int64_t>() < (1 << 20),
          std::string("tokenizer.json: decoder Strip needs a small non-negative '") + key + "'");
  return j.at(key).get<size_t>();
}

void collect_steps(const nlohmann::json& j, std::vector<std::shared_ptr<const Decoder::Step>>& steps, int depth) {
  using Step = Decoder::Step;
  if (j.is_null()) return;
  require(j.is_object() && j.contains("type") && j.at("type").is_string(),
          "tokenizer.json: a decoder must be an object with a string 'type'");
  require(depth < 32, "tokenizer.json: decoders nested too deeply");
  const std::string type = j.at("type").get<std::string>();
  auto step = std::make_shared<Step>();
  step->name = type;
  if (type == "Sequence") {
    require(j.contains("decoders") && j.at("decoders").is_array(),
            "tokenizer.json: decoder Sequence needs an array 'decoders'");
    for (const auto& d : j.at("decoders")) collect_steps(d, steps, depth + 1);
    return;
  } else if (type == "ByteLevel") {
    step->kind = Step::Kind::ByteLevel;
  } else if (type == "Replace") {
    step->kind = Step::Kind::Replace;
    const auto& pat = j.contains("pattern") ? j.at("pattern") : nlohmann::json();
    require(pat.is_object() && pat.contains("String") && pat.at("String").is_string(),
            "tokenizer.json: decoder Replace is supported with a String pattern only");
    step->pattern = pat.at("String").get<std::string>();
    step->content = string_field(j, "content", type);
  } else if (type == "ByteFallback") {
    step->kind = Step::Kind::ByteFallback;
  } else if (type == "Fuse") {
    step->kind = Step::Kind::Fuse;
  } else if (type == "Strip") {
    step->kind = Step::Kind::Strip;
    step->content = string_field(j, "content", type);
    require(utf8_valid_char_len(step->content, 0) == step->content.size() && !step->content.empty(),
            "tokenizer.json: decoder Strip's content must be one character");
    step->start = count_field(j, "start");
    step->stop = count_field(j, "stop");
  } else if (type == "Metaspace") {
    step->kind = Step::Kind::Metaspace;
    step->content = string_field(j, "replacement", type);
    // Older files say add_prefix_space (true: drop), newer ones prepend_scheme.
    if (j.contains("prepend_scheme")) {
      step->drop_first_replacement = string_field(j, "prepend_scheme", type) != "never";
    } else {
      step->drop_first_replacement = j.value("add_prefix_space", true);
    }
  } else {
    throw Error("tokenizer.json: unsupported decoder '" + type +
                "' (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)");
  }
  steps.push_back(std::move(step));
}

}  // namespace

Decoder Decoder::from_json(const nlohmann::json& j) {
  Decoder d;
  try {
    collect_steps(j, d.steps_, 0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("tokenizer.json: malformed decoder: ") + e.what());
  }
  return d;
}

Decoder Decoder::byte_level() { return from_json({{"type", "ByteLevel"}}); }

Decoder Decoder::sentencepiece(bool strip_leading_space) {
  nlohmann::json steps = nlohmann::json::array();
  steps.push_back({{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}});
  steps.push_back({{"type", "ByteFallback"}});
  steps.push_back({{"type", "Fuse"}});
  if (strip_leading_space) steps.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  return from_json({{"type", "Sequence"}, {"decoders", steps}});
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  for (const auto& s : steps_) s->apply(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::string Decoder::token_text(const std::string& token) const {
  std::string t = token;
  for (const auto& s : steps_) {
    if (s->kind != Step::Kind::Strip) t = s->apply_one(t);  // Strip acts on the ends of the whole text
  }
  return t;
}

std::string Decoder::describe() const {
  if (steps_.empty()) return "none";
  std::string out;
  for (const auto& s : steps_) out += (out.empty() ? "" : "+") + s->name;
  return out;
}

}  // namespace claa
