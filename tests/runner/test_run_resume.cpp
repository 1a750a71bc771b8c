// The main job end to end through the real CLI, on configs/ci.json (SmolLM2, RULER at 512 and 640 tokens):
//  - a run killed mid-way and resumed (with a torn last line) holds every sample exactly once and
//    is byte-identical to an uninterrupted run (CPU determinism);
//  - `claa check` passes against the committed baseline and fails on a worsened copy;
//  - its token views hold the kept sets behind every recall, and its explorer page shows them in
//    headless Chromium (tests/browser/check_explorer.py).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/catch.h"
#include "tests/cli_run.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

size_t line_count(const std::string& path) {
  std::string text = read_all(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string fresh_dir(const std::string& name) { return claa::test::fresh_temp_path("run_" + name).string(); }

// What the shared run depends on: the binary (path, size, modification time), the config, the model.
std::string complete_run_key(const std::string& config, const std::string& model) {
  std::string key = read_all(config);
  for (const std::string& path : {std::string(CLAA_BINARY), model})
    key += path + std::to_string(fs::file_size(path)) +
           std::to_string(fs::last_write_time(path).time_since_epoch().count());
  return std::to_string(std::hash<std::string>{}(key));
}

// One uninterrupted run of configs/ci.json shared by the test cases. ctest runs each test case in
// its own process, so the run is shared through the temp folder under a lock: the first process
// makes it, the others wait for it and read it (none writes into it). The key ties it to this
// binary, config and model, so a rebuilt binary never reads an older run.
const std::string& complete_run() {
  static std::string dir;
  if (!dir.empty()) return dir;
  const std::string config = source_path("configs/ci.json");
  const std::string model = default_model_path();  // fails clearly when setup has not fetched the model
  const fs::path shared = fs::temp_directory_path() / ("claa_shared_ci_run_" + complete_run_key(config, model));
  // Closing the descriptor releases the lock, also when a REQUIRE below throws (several test cases
  // in one process would otherwise wait on each other); not inherited by the claa child process.
  struct Lock {
    int fd;
    ~Lock() {
      if (fd >= 0) ::close(fd);
    }
  } lock{::open((shared.string() + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)};
  REQUIRE(lock.fd >= 0);
  REQUIRE(::flock(lock.fd, LOCK_EX) == 0);
  const fs::path done = shared.string() + ".done";
  if (!fs::exists(done)) {
    claa::test::remove_tree(shared);
    std::string out;
    const int rc = run_cli("run " + config + " --out " + shared.string(), &out);
    INFO(out);
    REQUIRE(rc == 0);
    std::ofstream(done) << "ok\n";
  }
  dir = shared.string();
  return dir;
}

}  // namespace

TEST_CASE("A killed run resumes to the same results, each sample once", "[runner][slow]") {
  const std::string complete = complete_run() + "/samples.jsonl";
  const std::string dir = fresh_dir("killed"), samples = dir + "/samples.jsonl";
  pid_t pid = fork();
  if (pid == 0) {
    pin_cpu_kernels();
    execl(CLAA_BINARY, CLAA_BINARY, "run", source_path("configs/ci.json").c_str(), "--out", dir.c_str(), "--no-report",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (line_count(samples) < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  size_t before = line_count(samples);
  REQUIRE(before >= 2);
  REQUIRE(before < line_count(complete));  // it really was interrupted
  std::ofstream(samples, std::ios::app) << R"({"id": "niah_single_1-10)";  // a record torn mid-write

  std::string out;
  CHECK(run_cli("run " + source_path("configs/ci.json") + " --out " + dir, &out) == 1);  // no --resume: refuses
  CHECK_THAT(out, Catch::Contains("already holds results: use --resume"));
  REQUIRE(run_cli("run " + source_path("configs/ci.json") + " --out " + dir + " --resume --no-report", &out) == 0);

  std::set<std::string> ids;
  std::istringstream lines(read_all(samples));
  for (std::string line; std::getline(lines, line);) {
    std::string id = nlohmann::json::parse(line)["id"];
    CHECK(ids.insert(id).second);  // exactly once
  }
  CHECK(ids.size() == line_count(complete));
  CHECK(read_all(samples) == read_all(complete));  // byte-identical to the uninterrupted run
}

TEST_CASE("claa check passes on the baseline and fails on a worsened run", "[runner][slow]") {
  const std::string dir = complete_run();
  std::string out;
  CHECK(run_cli("check " + dir + " --baseline " + source_path("tests/baselines/ci.json"), &out) == 0);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("check passed"));

  // Worsen FastKV's per-layer Spearman by 0.1 in every sample.
  const std::string worse = fresh_dir("worse");
  fs::create_directories(worse);
  fs::copy_file(dir + "/run.json", worse + "/run.json");
  std::ofstream w(worse + "/samples.jsonl");
  std::istringstream lines(read_all(dir + "/samples.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json rec = nlohmann::json::parse(line);
    if (rec.contains("heuristics"))
      for (auto& layer : rec["heuristics"]["fastkv"]["layers"]) layer["spearman"] = layer["spearman"].get<double>() - 0.1;
    w << rec.dump() << "\n";
  }
  w.close();
  CHECK(run_cli("check " + worse + " --baseline " + source_path("tests/baselines/ci.json"), &out) != 0);
  CHECK_THAT(out, Catch::Contains("MOVED DOWN"));
  CHECK_THAT(out, Catch::Contains("fastkv"));
}

namespace {

// A copy of the run's summary.json with CLAA's overall recall@0.1 moved by `delta` on every layer.
std::string summary_with_claa_recall_moved(const std::string& run_dir, double delta, const std::string& name) {
  nlohmann::json summary = nlohmann::json::parse(read_all(run_dir + "/summary.json"));
  for (auto& scope : summary["scopes"])
    if (scope["kind"] == "overall")
      for (auto& layer : scope["heuristics"]["claa"]["layers"])
        layer["recall@0.1"]["mean"] = layer["recall@0.1"]["mean"].get<double>() + delta;
  const std::string path = fresh_dir(name) + ".json";
  std::ofstream(path) << summary.dump();
  return path;
}

}  // namespace

TEST_CASE("claa check is two-sided: a CLAA recall raised or lowered by 0.05 fails", "[runner][slow]") {
  const std::string dir = complete_run();
  for (double delta : {0.05, -0.05}) {
    INFO("delta " << delta);
    std::string out;
    CHECK(run_cli("check " + dir + " --baseline " + summary_with_claa_recall_moved(dir, delta, "moved"), &out) != 0);
    INFO(out);
    // The baseline moved by delta, so this run moved by −delta relative to it.
    CHECK_THAT(out, Catch::Contains(delta > 0 ? "MOVED DOWN  claa layer 0 recall@0.1" : "MOVED UP    claa layer 0 recall@0.1"));
    CHECK_THAT(out, Catch::Contains("--write-baseline"));
  }
  std::string out;
  CHECK(run_cli("check " + dir + " --baseline " + summary_with_claa_recall_moved(dir, 0.0, "same"), &out) == 0);
}

TEST_CASE("e2e mode runs every pipeline and matches its committed baseline", "[runner][slow][e2e]") {
  default_model_path();
  const std::string dir = fresh_dir("e2e");
  std::string out;
  REQUIRE(run_cli("run " + source_path("configs/ci_e2e.json") + " --out " + dir, &out) == 0);
  INFO(out);
  CHECK(line_count(dir + "/samples.jsonl") == 3);
  CHECK(fs::exists(dir + "/report.md"));
  // Full KV's record carries its cache (keys + values of every prompt token, 30 layers × 3 KV heads × 64
  // dims, fp32), so the report sets every method's cache against it.
  std::ifstream records(dir + "/samples.jsonl");
  for (std::string line; std::getline(records, line);) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    const nlohmann::json& full = rec["results"][0];
    REQUIRE(full["method"] == "full");
    CHECK(full["cache_bytes"].get<int64_t>() == 2 * rec["prompt_tokens"].get<int64_t>() * 30 * 3 * 64 * 4);
  }
  CHECK(run_cli("check " + dir + " --baseline " + source_path("tests/baselines/ci_e2e.json"), &out) == 0);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("check passed"));
  // Every method at both keep rates (and Full KV) is in the check.
  for (const char* row : {"full@1", "fastkv@0.1", "claa@0.4", "oracle@0.1", "gemfilter@0.4", "specprefill@0.1"}) {
    INFO(row);
    CHECK_THAT(read_all(source_path("tests/baselines/ci_e2e.json")), Catch::Contains(std::string("e2e:") + row));
  }
}

namespace {

// Tokens [begin, end) of the evidence spans, merged (as evidence recall counts them).
std::set<int64_t> evidence_tokens(const nlohmann::json& spans) {
  std::set<int64_t> tokens;
  for (const auto& span : spans)
    for (int64_t t = span[0].get<int64_t>(); t < span[1].get<int64_t>(); ++t) tokens.insert(t);
  return tokens;
}

// The kept set at the i-th smallest keep rate of a recorded entry: a levels string, or flag strings
// per rate (an independent decoder of the format in evaluation/kept_levels.h).
std::set<int64_t> kept_set(const nlohmann::json& entry, size_t i) {
  std::set<int64_t> kept;
  if (entry.is_array()) {
    const std::string flags = entry[i];
    for (size_t t = 0; t < flags.size(); ++t)
      if (flags[t] == '1') kept.insert(static_cast<int64_t>(t));
    return kept;
  }
  const std::string levels = entry;
  for (size_t t = 0; t < levels.size(); ++t)
    if (levels[t] != '.' && static_cast<size_t>(std::stoi(std::string(1, levels[t]), nullptr, 36)) <= i)
      kept.insert(static_cast<int64_t>(t));
  return kept;
}

}  // namespace

TEST_CASE("Token views record the kept sets behind every layer's recall and evidence recall", "[runner][explorer]") {
  const std::string dir = complete_run();
  std::ifstream records(dir + "/samples.jsonl");
  int views = 0;
  for (std::string line; std::getline(records, line);) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    if (!rec.contains("token_view")) continue;
    ++views;
    const nlohmann::json& view = rec["token_view"];
    INFO("sample " << rec["id"]);
    const auto prompt = rec["prompt_tokens"].get<size_t>();
    CHECK(view["tokens"].size() == prompt);
    CHECK(view["oracle"].size() == prompt);
    // Window-query heuristics rank the N − W positions before the window (W = 8), the others all N.
    CHECK(view["oracle_levels"].size() == 2);
    CHECK(view["oracle_levels"].contains(std::to_string(prompt - 8)));
    CHECK(view["oracle_levels"].contains(std::to_string(prompt)));
    CHECK(view["keep_rates"] == rec["keep_rates"]);  // configs/ci.json lists them ascending
    CHECK(view["gold"].size() >= 1);
    const std::set<int64_t> evidence = evidence_tokens(view["evidence"]);
    for (const auto& [name, h] : rec["heuristics"].items()) {
      const nlohmann::json& kept = view["kept"][name];
      REQUIRE(kept.size() == (h["layer_independent"].get<bool>() ? 1u : h["layers"].size()));
      for (size_t l = 0; l < h["layers"].size(); ++l) {
        const nlohmann::json& m = h["layers"][l];
        const nlohmann::json& entry = kept[std::min(l, kept.size() - 1)];
        const std::string first = entry.is_array() ? entry[0] : entry;
        REQUIRE(static_cast<int64_t>(first.size()) == m["n"].get<int64_t>());  // the positions compared
        const nlohmann::json& oracle_levels = view["oracle_levels"][std::to_string(first.size())];
        for (size_t i = 0; i < view["keep_rates"].size(); ++i) {
          const std::set<int64_t> mine = kept_set(entry, i), oracle = kept_set(oracle_levels, i);
          INFO(name << " layer " << l << " keep " << view["keep_rates"][i]);
          const int64_t k = m["k"][i];
          CHECK(static_cast<int64_t>(oracle.size()) == k);
          CHECK(static_cast<int64_t>(mine.size()) == (m.contains("k_kept") ? m["k_kept"][i].get<int64_t>() : k));
          int64_t hits = 0, evidence_kept = 0;
          for (int64_t t : mine) {
            hits += oracle.count(t);
            evidence_kept += evidence.count(t);
          }
          CHECK(static_cast<double>(hits) / static_cast<double>(k) ==
                Approx(m["recall"][i].get<double>()).epsilon(1e-12));
          if (m.contains("evidence_recall"))
            CHECK(static_cast<double>(evidence_kept) / static_cast<double>(evidence.size()) ==
                  Approx(m["evidence_recall"][i].get<double>()).epsilon(1e-12));
        }
      }
    }
  }
  CHECK(views == 2);  // capture.token_views = 1: the first sample of each of the two datasets
}

TEST_CASE("The explorer page shows the recorded kept sets in headless Chromium and the check catches a tampered page",
          "[runner][explorer][browser]") {
  // The venv scripts/setup.sh --with-tests makes: $CLAA_BROWSER_VENV, else $XDG_CACHE_HOME (or
  // ~/.cache)/claa/browser-venv.
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v && *v ? v : "");
  };
  const std::string cache = !env("XDG_CACHE_HOME").empty() ? env("XDG_CACHE_HOME") : env("HOME") + "/.cache";
  const std::string venv = !env("CLAA_BROWSER_VENV").empty() ? env("CLAA_BROWSER_VENV") : cache + "/claa/browser-venv";
  const std::string python = !env("CLAA_BROWSER_PYTHON").empty() ? env("CLAA_BROWSER_PYTHON") : venv + "/bin/python";
  if (!fs::exists(python)) {
    std::cout << "CLAA-SKIP: no Python with Playwright at " << python
              << " (scripts/setup.sh --with-tests makes it; or set CLAA_BROWSER_PYTHON)\n";
    return;
  }
  const std::string dir = complete_run();
  REQUIRE(fs::exists(dir + "/explorer.html"));
  // Screenshots of the main views stay in the build folder as test artifacts.
  const std::string artifacts = (fs::path(CLAA_BINARY).parent_path() / "test-artifacts" / "browser").string();
  const std::string check = python + " " + source_path("tests/browser/check_explorer.py") + " " + dir;
  const std::string log = fresh_dir("browser_log");
  auto run = [&](const std::string& args, std::string& out) {
    const int status = std::system((check + " " + args + " > " + log + " 2>&1").c_str());
    out = read_all(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  const int rc = run("--artifacts " + artifacts, out);
  INFO(out);
  if (out.find("CLAA-SKIP:") != std::string::npos) {
    std::cout << out;  // no Chromium here: reported as skipped
    return;
  }
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("browser check: ok"));
  for (const char* shot : {"token_view.png", "heatmap_detail.png", "line_plot.png"})
    CHECK(fs::exists(artifacts + "/" + shot));
  // One token dropped from the page's copy of a kept set: the same check must now fail.
  std::string tampered;
  CHECK(run("--tamper " + fresh_dir("tampered") + ".html --artifacts " + artifacts + "/tampered", tampered) == 0);
  INFO(tampered);
  CHECK_THAT(tampered, Catch::Contains("mismatch found as expected"));
}
