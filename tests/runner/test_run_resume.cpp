// The main job end to end through the real CLI, on configs/ci.json (SmolLM2, RULER at 512 and 640 tokens):
//  - a run killed mid-way and resumed (with a torn last line) holds every sample exactly once and
//    is byte-identical to an uninterrupted run (CPU determinism);
//  - `claa check` passes against the committed baseline and fails on a worsened copy.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
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
