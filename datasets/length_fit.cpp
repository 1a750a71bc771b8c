#include "datasets/length_fit.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "datasets/prompt_build.h"

namespace claa {

namespace {

// Largest n in [lo, max_n] with fits(n), given fits(lo); galloping from `guess` then bisection,
// so a good guess (the previous sample's n) costs only a few tokenizations.
int64_t largest_fitting(int64_t lo, int64_t max_n, int64_t guess, const std::function<bool(int64_t)>& fits) {
  int64_t good = lo, bad = max_n == std::numeric_limits<int64_t>::max() ? -1 : max_n + 1;
  guess = std::clamp(guess, lo, max_n);
  if (guess > lo) {
    if (fits(guess)) good = guess;
    else bad = guess;
  }
  int64_t step = std::max<int64_t>(1, good / 32);
  while (bad < 0) {  // gallop up until something does not fit
    int64_t probe = good + step;
    if (probe > max_n) probe = max_n;
    if (probe == good) return good;
    if (fits(probe)) good = probe;
    else bad = probe;
    step *= 2;
  }
  while (bad - good > 1) {
    int64_t mid = good + (bad - good) / 2;
    if (fits(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

}  // namespace

std::vector<Sample> fit_samples(const FitRequest& req, const SampleMaker& make, const Tokenizer& tok,
                                const std::optional<ChatTemplate>& chat) {
  std::vector<Sample> out;
  int64_t guess = req.first_guess;
  for (size_t i = 0; i < req.count; ++i) {
    std::map<int64_t, bool> cache;
    auto fits = [&](int64_t n) {
      auto it = cache.find(n);
      if (it != cache.end()) return it->second;
      bool ok = prompt_budget_tokens(tok, chat, make(i, n)) <= req.length;
      cache[n] = ok;
      return ok;
    };
    if (!fits(req.min_n)) {
      Sample smallest = make(i, req.min_n);
      throw Error(req.task + ": even the smallest prompt needs " +
                  std::to_string(prompt_budget_tokens(tok, chat, smallest)) + " tokens (with the output budget), " +
                  "more than --length " + std::to_string(req.length));
    }
    int64_t n = largest_fitting(req.min_n, req.max_n, guess, fits);
    Sample s = make(i, n);
    s.metadata["haystack_size"] = n;
    out.push_back(std::move(s));
    guess = n;
  }
  return out;
}

}  // namespace claa
