#include "datasets/niah_grid.h"

#include <cstdio>

#include "core/error.h"
#include "datasets/length_fit.h"
#include "datasets/text_sources.h"

namespace claa {

std::vector<double> even_depths(size_t k) {
  if (k <= 1) return {50.0};
  std::vector<double> d;
  for (size_t i = 0; i < k; ++i) d.push_back(100.0 * static_cast<double>(i) / static_cast<double>(k - 1));
  return d;
}

namespace {

// Byte position of the sentence boundary at or before `target`: just after the last ". " (or
// "? "/"! ") that ends before it; 0 when there is none.
size_t sentence_boundary_before(const std::string& text, size_t target) {
  for (size_t i = std::min(target, text.size()); i > 0; --i) {
    char c = text[i - 1];
    if ((c == '.' || c == '?' || c == '!') && i < text.size() && text[i] == ' ') return i + 1;
  }
  return 0;
}

Sample make_grid_sample(const std::vector<std::string>& essay, int64_t n, double depth) {
  std::string hay = join_words(essay, static_cast<size_t>(n));
  const std::string needle = kNiahNeedle;
  size_t at;
  std::string inserted;
  if (depth >= 100.0) {  // the needle goes last (the original's depth_percent == 100 case)
    at = hay.size() + 1;
    inserted = hay + " " + needle;
  } else {
    at = sentence_boundary_before(hay, static_cast<size_t>(static_cast<double>(hay.size()) * depth / 100.0));
    inserted = hay.substr(0, at) + needle + " " + hay.substr(at);
  }
  Sample s;
  s.prompt_template = "{context}\n\n{question}";
  s.question = std::string(kNiahQuestion) + " Don't give information outside the document or repeat your findings";
  s.context = std::move(inserted);
  s.evidence = {{at, at + needle.size()}};
  s.answers = {"eat a sandwich and sit in Dolores Park on a sunny day"};
  s.scorer = "rouge";
  return s;
}

}  // namespace

std::vector<Sample> generate_niah_grid(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                       const NiahGridOptions& o) {
  const auto& essay = essay_words(o.haystack_dir.empty() ? default_haystack_dir() : o.haystack_dir);
  require(!o.lengths.empty() && !o.depths.empty(), "niah: need at least one length and one depth");
  std::vector<Sample> out;
  for (int64_t length : o.lengths) {
    for (double depth : o.depths) {
      require(depth >= 0 && depth <= 100, "niah: depths are percentages in [0, 100]");
      FitRequest req{"niah", length, 1};
      req.first_guess = length * 3 / 5;
      auto fitted = fit_samples(
          req,
          [&](size_t, int64_t n) {
            Sample s = make_grid_sample(essay, n, depth);
            s.max_new_tokens = o.max_new_tokens;
            return s;
          },
          tok, chat);
      Sample s = std::move(fitted[0]);
      char depth_text[32];
      std::snprintf(depth_text, sizeof depth_text, "%g", depth);
      s.id = "niah-" + std::to_string(length) + "-d" + depth_text;
      s.task = "niah";
      s.metadata["benchmark"] = "niah";
      s.metadata["length"] = length;
      s.metadata["depth_percent"] = depth;
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace claa
