// `claa rank`: one prompt (context file + question) through the model; the oracle from its own
// answer; every requested heuristic scored per layer against it. Prints the answer and a compact
// per-layer table (Spearman ρ / recall at the first keep rate); writes the metrics to --out and every
// layer's scores to --scores-out (safetensors), so anyone can compare claa with their own code.
//
// --heuristics takes specs (heuristic_spec.h: 'snapkv@kvpress,snapkv{window=64,kernel=5}') or a JSON
// file holding a config's "heuristics" list (names, specs or {name, label, preset, params} objects).
#include <algorithm>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "capture/capture.h"
#include "core/error.h"
#include "core/memory.h"
#include "evaluation/ranking_eval.h"
#include "formats/safetensors_writer.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_options.h"
#include "harness/cli/prompt_input.h"
#include "harness/runner/run_config.h"
#include "oracle/oracle.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

struct RankArgs {
  ModelOptions model;
  std::string context_file, question, out, scores_out, heuristics, keep = "0.1,0.2,0.4";
  int64_t max_new_tokens = 32;
  int window = 8;
  bool no_chat = false;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string p; std::getline(in, p, sep);)
    if (!p.empty()) parts.push_back(p);
  return parts;
}

std::vector<double> parse_keep_rates(const std::string& s) {
  std::vector<double> rates;
  for (const std::string& p : split(s, ',')) {
    double v = 0;
    try {
      v = std::stod(p);
    } catch (const std::exception&) {
      throw Error("bad keep rate '" + p + "' (expected numbers in (0, 1])");
    }
    require(v > 0 && v <= 1, "keep rate " + p + " is not in (0, 1]");
    rates.push_back(v);
  }
  require(!rates.empty(), "no keep rates given");
  return rates;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path + ": cannot read the context file");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void print_table(const std::vector<HeuristicEval>& evals, double keep) {
  std::string header = fmt::format("{:>5}", "layer");
  for (const HeuristicEval& e : evals) header += fmt::format(" {:>14}", e.name);
  fmt::print("\nper layer: Spearman ρ / recall@{:.0f}% vs the oracle\n{}\n", keep * 100, header);
  for (size_t l = 0; l < evals.front().layers.size(); ++l) {
    std::string row = fmt::format("{:>5}", l);
    for (const HeuristicEval& e : evals)
      row += fmt::format(" {:>7.3f}/{:<6.3f}", e.layers[l].spearman, e.layers[l].recall.front());
    fmt::print("{}\n", row);
  }
}

// The --heuristics value: a JSON file's list, or comma-separated specs ("" = every registered one).
std::vector<HeuristicSection> requested_heuristics(const std::string& value) {
  nlohmann::json list = "all";
  const bool is_file = value.size() > 5 && value.substr(value.size() - 5) == ".json";
  if (is_file) {
    try {
      list = nlohmann::json::parse(read_file(value));
    } catch (const nlohmann::json::exception& e) {
      throw Error(value + ": not valid JSON (" + e.what() + ")");
    }
    if (list.is_object() && list.contains("heuristics")) list = list["heuristics"];
  } else if (!value.empty()) {
    list = nlohmann::json::array();
    for (const HeuristicSpec& spec : parse_heuristic_specs(value)) list.push_back(spec.text);
  }
  return parse_heuristic_list(list, is_file ? value : "--heuristics");
}

// Every layer's per-head [R, N'] and combined [N'] scores of every heuristic, and the oracle [N].
// N' = N − W for window-based scores (aligned from the start, method.md §3).
void write_scores(const std::string& path, const std::vector<HeuristicEval>& evals,
                  const std::vector<HeuristicSection>& sections, const OracleCapture& capture, int window) {
  auto entry = [](std::string name, const at::Tensor& t) {
    at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
    std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
    return SafetensorsEntry{std::move(name), std::move(shape),
                            std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())};
  };
  std::vector<SafetensorsEntry> tensors = {entry("oracle", capture.oracle)};
  nlohmann::json params = nlohmann::json::object();
  for (size_t i = 0; i < evals.size(); ++i) {
    const std::string& label = sections[i].label;
    params[label] = {{"name", sections[i].name}, {"preset", sections[i].preset}, {"params", sections[i].params}};
    const HeuristicScores& s = evals[i].scores;
    for (size_t l = 0; l < s.combined.size(); ++l) {
      tensors.push_back(entry(fmt::format("{}/layer{}/per_head", label, l), s.per_head[l]));
      tensors.push_back(entry(fmt::format("{}/layer{}/combined", label, l), s.combined[l]));
    }
  }
  write_safetensors(path, tensors,
                    {{"format", "claa-scores-1"},
                     {"prompt_tokens", std::to_string(capture.n_prompt)},
                     {"window", std::to_string(window)},
                     {"heuristics", params.dump()},
                     {"alignment", "N' = N or N - window entries, aligned from the prompt's start"}});
}

void run_rank(const RankArgs& a) {
  std::vector<double> keep_rates = parse_keep_rates(a.keep);
  const std::vector<HeuristicSection> sections = requested_heuristics(a.heuristics);  // fail fast on typos
  std::vector<std::unique_ptr<Heuristic>> heuristics;
  for (const HeuristicSection& h : sections) heuristics.push_back(make_heuristic(h.name, h.params));
  require(!a.question.empty(), "--question is empty");
  std::string context = read_file(a.context_file);

  LoadedModel m = a.model.load();
  auto tok = model_tokenizer(m);
  require(tok != nullptr, "this model has no tokenizer");
  std::string user = context + "\n\n" + a.question;
  std::optional<ChatTemplate> chat;
  if (!a.no_chat) chat = ChatTemplate::detect(tok->chat_template());
  std::vector<int32_t> ids32 = chat ? build_chat_prompt(*tok, *chat, {{"user", user}}, true).ids : tok->encode(user);
  std::vector<int64_t> ids(ids32.begin(), ids32.end());
  const PromptFormat format{tok.get(), chat ? &*chat : nullptr};

  CaptureOptions options;
  options.window = a.window;
  options.max_new_tokens = a.max_new_tokens;
  options.eos_ids = stop_ids(m, tok.get());
  for (const auto& h : heuristics) options.extra |= h->needs();
  OracleCapture capture = capture_with_oracle(*m.model, ids, options, OracleOptions{});

  std::vector<int64_t> answer = capture.answer_tokens;
  if (capture.stopped_by_eos) answer.pop_back();
  std::string answer_text = tok->decode(std::vector<int32_t>(answer.begin(), answer.end()));
  fmt::print("prompt: {} tokens; answer ({} tokens): {}\n", ids.size(), answer.size(), answer_text);

  nlohmann::json out = {{"model", m.source.path}, {"prompt_tokens", ids.size()}, {"answer", answer_text},
                        {"answer_tokens", capture.answer_tokens}, {"empty_answer", capture.empty_answer},
                        {"oracle_steps", capture.oracle_steps}, {"keep_rates", keep_rates},
                        {"prefill_seconds", capture.prefill_seconds}, {"decode_seconds", capture.decode_seconds},
                        {"answer_pass_seconds", capture.answer_pass_seconds},
                        {"peak_rss_bytes", peak_rss_bytes()}};
  std::vector<HeuristicEval> evals;
  if (capture.empty_answer) {
    fmt::print("empty answer (the first token was EOS): no oracle, nothing scored\n");
  } else {
    EvalOptions eval;
    eval.keep_rates = keep_rates;
    eval.prompt_ids = &ids;
    eval.model = m.model.get();
    eval.format = &format;
    eval.diagnostics_layers = {std::max(0, m.model->n_layers() / 2 - 1)};  // the pipelines' l_p
    eval.keep_scores = !a.scores_out.empty();
    nlohmann::json results = nlohmann::json::array();
    for (size_t i = 0; i < heuristics.size(); ++i) {
      evals.push_back(evaluate_heuristic(*heuristics[i], capture, eval));
      evals.back().name = sections[i].label;
      results.push_back(to_json(evals.back(), keep_rates));
      results.back()["params"] = sections[i].params;
    }
    out["heuristics"] = results;
    out["oracle"] = to_float_vector(capture.oracle);
    print_table(evals, keep_rates.front());
  }
  if (!a.out.empty()) {
    std::ofstream f(a.out);
    require(f.good(), a.out + ": cannot write");
    f << out.dump() << "\n";
    fmt::print("wrote {}\n", a.out);
  }
  if (!a.scores_out.empty() && !evals.empty()) {  // after --out: a failure here loses no metrics
    write_scores(a.scores_out, evals, sections, capture, a.window);
    fmt::print("wrote {}\n", a.scores_out);
  }
}

}  // namespace

void register_rank_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("rank", "score heuristics per layer against the Answer-Informed Oracle for one prompt");
  auto a = std::make_shared<RankArgs>();
  a->model.add_to(*cmd, /*allow_random_weights=*/false);
  cmd->add_option("--context-file", a->context_file, "text file with the long context")->required();
  cmd->add_option("--question,-q", a->question, "question asked after the context")->required();
  cmd->add_option("--max-new-tokens,-n", a->max_new_tokens, "answer length limit")->capture_default_str();
  cmd->add_option("--heuristics", a->heuristics,
                  "comma-separated specs NAME[@PRESET][{KEY=VALUE,...}], or a .json file with a \"heuristics\" list "
                  "(default: all registered)");
  cmd->add_option("--keep", a->keep, "keep rates for recall@k")->capture_default_str();
  cmd->add_option("--window", a->window, "observation window W")->capture_default_str();
  cmd->add_flag("--no-chat", a->no_chat, "do not wrap the prompt in the chat template");
  cmd->add_option("--out,-o", a->out, "write full results (JSON)");
  cmd->add_option("--scores-out", a->scores_out,
                  "write every layer's per-head and combined scores and the oracle (safetensors)");
  cmd->callback([a] { run_rank(*a); });
}

}  // namespace claa
