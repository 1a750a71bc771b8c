#include "harness/runner/multi_turn.h"

#include "core/error.h"
#include "datasets/dataset_spec.h"
#include "datasets/scbench.h"
#include "evaluation/ranking_eval.h"
#include "evaluation/task_score.h"

namespace claa {

std::vector<float> slice_ranking(const std::vector<float>& v, size_t begin, size_t end) {
  end = std::min(end, v.size());
  if (begin >= end) return {};
  return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(end));
}

namespace {

using Rankings = std::vector<std::vector<float>>;  // [layer] → context-only ranking

// Every heuristic's per-layer rankings of one capture, cut to the context span.
std::vector<Rankings> context_rankings(const TurnContext& ctx, const CaptureResult& capture,
                                       const std::vector<int64_t>& ids, TokenSpan span) {
  std::vector<Rankings> out;
  const PromptFormat format{&ctx.tok, ctx.chat ? &*ctx.chat : nullptr};  // multi-turn samples are chats
  for (const auto& h : ctx.heuristics) {
    HeuristicScores scores = h->score({capture, ctx.sample_seed, &ids, &ctx.model, &format});
    Rankings r;
    for (const at::Tensor& layer : scores.combined) r.push_back(slice_ranking(to_float_vector(layer), span.first, span.second));
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json compare_layers(const Rankings& rankings, const std::vector<float>& oracle,
                              const std::vector<double>& keep_rates) {
  nlohmann::json layers = nlohmann::json::array();
  const OracleRanking prepared(oracle);  // the oracle's sorts once for every layer
  for (const std::vector<float>& r : rankings) layers.push_back(to_json(compare_rankings(r, prepared, keep_rates)));
  return layers;
}

struct TurnRun {
  PromptBuild prompt;
  std::vector<int64_t> ids;
  OracleCapture capture;
};

TurnRun run_turn(const TurnContext& ctx, const Sample& s, size_t turn) {
  PromptOptions po;
  po.max_prompt_tokens = ctx.model.config().context - s.max_new_tokens;
  po.turn = turn;
  TurnRun t;
  t.prompt = build_prompt(ctx.tok, ctx.chat, s, po);
  t.ids.assign(t.prompt.ids.begin(), t.prompt.ids.end());
  CaptureOptions options;
  options.window = ctx.config.window;
  options.max_new_tokens = s.max_new_tokens;
  options.eos_ids = ctx.stops;
  for (const auto& h : ctx.heuristics) options.extra |= h->needs();
  t.capture = capture_with_oracle(ctx.model, t.ids, options, ctx.config.oracle);
  return t;
}

// The turn's record without the heuristics: answer, score, sizes.
nlohmann::json turn_record(const TurnContext& ctx, const Sample& s, size_t turn, const std::vector<int64_t>& ids,
                           const CaptureResult& capture, TokenSpan span) {
  std::vector<int64_t> answer = capture.answer_tokens;
  if (capture.stopped_by_eos) answer.pop_back();
  const std::string text = ctx.tok.decode(std::vector<int32_t>(answer.begin(), answer.end()));
  return {{"turn", turn + 1}, {"prompt_tokens", ids.size()}, {"context_tokens", span.second - span.first},
          {"answer", text}, {"answer_tokens", answer.size()}, {"empty_answer", capture.empty_answer},
          {"score", score_sample(turn_sample(s, turn), text)}};
}

bool same_context_tokens(const std::vector<int64_t>& a, const std::vector<int64_t>& b, TokenSpan span) {
  if (a.size() < span.second || b.size() < span.second) return false;
  return std::equal(a.begin() + static_cast<std::ptrdiff_t>(span.first), a.begin() + static_cast<std::ptrdiff_t>(span.second),
                    b.begin() + static_cast<std::ptrdiff_t>(span.first));
}

}  // namespace

nlohmann::json evaluate_turns(const TurnContext& ctx, const Sample& s, const PromptBuild& first_prompt,
                              const std::vector<int64_t>& first_ids, const OracleCapture& first_capture) {
  const TokenSpan span = first_prompt.context_token_span;
  require(span.second > span.first, "sample " + s.id + ": multi-turn evaluation needs a non-empty context");
  const std::vector<Rankings> one_shot = context_rankings(ctx, first_capture, first_ids, span);
  nlohmann::json turns = nlohmann::json::array();
  for (size_t t = 0; t < turn_count(s); ++t) {
    std::optional<TurnRun> run;
    if (t > 0) run = run_turn(ctx, s, t);
    const std::vector<int64_t>& ids = run ? run->ids : first_ids;
    const OracleCapture& capture = run ? run->capture : first_capture;
    nlohmann::json rec = turn_record(ctx, s, t, ids, capture, span);
    // The context must be the same tokens at the same positions, else the comparison is meaningless.
    if (run && run->prompt.context_token_span != span) rec["context_mismatch"] = true;
    if (run && !same_context_tokens(ids, first_ids, span)) rec["context_mismatch"] = true;
    if (!capture.empty_answer && !rec.contains("context_mismatch")) {
      const std::vector<float> oracle = slice_ranking(to_float_vector(capture.oracle), span.first, span.second);
      const std::vector<Rankings> fresh = run ? context_rankings(ctx, capture, ids, span) : one_shot;
      nlohmann::json heuristics = nlohmann::json::object();
      for (size_t i = 0; i < ctx.heuristics.size(); ++i) {
        nlohmann::json a = compare_layers(one_shot[i], oracle, ctx.config.keep_rates);
        nlohmann::json b = run ? compare_layers(fresh[i], oracle, ctx.config.keep_rates) : a;
        heuristics[ctx.config.heuristics[i].label] = {{"one_shot", std::move(a)}, {"fresh", std::move(b)}};
      }
      rec["heuristics"] = std::move(heuristics);
    }
    turns.push_back(std::move(rec));
  }
  return turns;
}

}  // namespace claa
