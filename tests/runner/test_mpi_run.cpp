// `mpirun -np 2 --oversubscribe claa run configs/ci.json` on the CPU, through the real CLI:
//  - the merged samples.jsonl holds the same records as a single-process run (compared as a set,
//    by id, every field exactly) and summary.json the same results;
//  - a rank killed with SIGKILL mid-run loses only unfinished samples, and `--resume` finishes
//    the job with every sample exactly once and the same records;
//  - ranks that disagree on the config, --shard under mpirun, and a single-process folder are
//    refused with one line.
// Needs Open MPI's mpirun (scripts/setup.sh installs it); without it the cases say so and pass.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/catch.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string log_path() { return (fs::temp_directory_path() / ("claa_mpi_" + std::to_string(getpid()) + ".log")).string(); }

int shell(const std::string& command, std::string* output = nullptr) {
  const std::string log = log_path();
  int status = std::system((command + " > " + log + " 2>&1").c_str());
  if (output) *output = read_all(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_mpirun() { return std::system("command -v mpirun > /dev/null 2>&1") == 0; }

// Open MPI refuses to run as root (CI) without --allow-run-as-root.
std::vector<std::string> mpirun_args(int ranks) {
  std::vector<std::string> a = {"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
  if (getuid() == 0) a.push_back("--allow-run-as-root");
  return a;
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string fresh_dir(const std::string& name) { return claa::test::fresh_temp_path("mpi_" + name).string(); }

// configs/ci.json with one thread per process: CPU results are byte-identical only between runs
// with the same thread count (ATen's parallel reductions round differently), and the 2 ranks on
// CI's 2 cores take one thread each.
std::vector<std::string> job_args() { return {source_path("configs/ci.json"), "--set", "model.threads=1"}; }
std::string ci_config() {
  std::string s;
  for (const std::string& a : job_args()) s += (s.empty() ? "" : " ") + a;
  return s;
}

// id → record; fails on a duplicate id.
std::map<std::string, json> records_by_id(const std::string& path) {
  std::map<std::string, json> out;
  std::istringstream lines(read_all(path));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    json rec = json::parse(line);
    const std::string id = rec["id"];
    INFO(path << ": sample " << id);
    CHECK(out.emplace(id, rec).second);  // exactly once
  }
  return out;
}

size_t line_count(const std::string& path) {
  std::string text = read_all(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The single-process run of configs/ci.json, made once per test process.
const std::string& reference_run() {
  static std::string dir;
  if (dir.empty()) {
    default_model_path();
    dir = fresh_dir("single");
    std::string out;
    const int rc = shell(std::string(CLAA_BINARY) + " run " + ci_config() + " --out " + dir, &out);
    INFO(out);
    REQUIRE(rc == 0);
  }
  return dir;
}

// Same samples, same records: every field of every record (no timings live in samples.jsonl).
void check_same_records(const std::string& samples, const std::string& reference) {
  const std::map<std::string, json> got = records_by_id(samples), want = records_by_id(reference);
  REQUIRE(want.size() == 5);
  CHECK(got.size() == want.size());
  for (const auto& [id, rec] : want) {
    INFO("sample " << id);
    REQUIRE(got.count(id) == 1);
    const json patch = json::diff(rec, got.at(id));
    INFO("first difference: " << (patch.empty() ? "none" : patch[0].dump()));
    CHECK(patch.empty());
  }
}

// Drops timing fields (seconds differ from run to run), after checking they were averaged.
void strip_timings(json& j) {
  if (!j.is_object() && !j.is_array()) return;
  if (j.is_object())
    for (const char* key : {"prefill_seconds", "decode_seconds"})
      if (j.contains(key)) {
        CHECK(j[key].value("n", 0) > 0);  // the shards' timings.jsonl were joined too
        j.erase(key);
      }
  for (auto& child : j) strip_timings(child);
}

// summary.json without its copy of run.json (start time, shard, the "mpi" block), which the
// test compares field by field where the two runs must agree, and without timings (nor the cost per
// heuristic, which is timings too).
json results_of_summary(const std::string& dir) {
  json s = json::parse(read_all(dir + "/summary.json"));
  s.erase("run");
  REQUIRE(s.contains("heuristic_costs"));  // each heuristic's seconds: joined from the shards, not compared
  s.erase("heuristic_costs");
  strip_timings(s);
  return s;
}

}  // namespace

TEST_CASE("mpirun -np 2 claa run gives a single-process run's records, and resumes a killed rank", "[runner][mpi][slow]") {
  if (!have_mpirun()) {
    WARN("mpirun not found (scripts/setup.sh installs openmpi-bin): the MPI run was not tested");
    return;
  }
  const std::string reference = reference_run();

  SECTION("an uninterrupted run") {
    const std::string dir = fresh_dir("np2");
    std::string out;
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = shell(joined(mpirun_args(2)) + " " + CLAA_BINARY + " run " + ci_config() + " --out " + dir, &out);
    INFO(out);
    REQUIRE(rc == 0);
    WARN("mpirun -np 2 claa run configs/ci.json: "
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
    CHECK_THAT(out, Catch::Contains("merged 5 samples from 2 ranks"));
    check_same_records(dir + "/samples.jsonl", reference + "/samples.jsonl");
    // Rank order differs from run order only inside the shards: the merged file is in run order.
    CHECK(read_all(dir + "/samples.jsonl") == read_all(reference + "/samples.jsonl"));
    CHECK(line_count(dir + "/shard-0-of-2/samples.jsonl") == 3);
    CHECK(line_count(dir + "/shard-1-of-2/samples.jsonl") == 2);
    const json summary = results_of_summary(dir), single = results_of_summary(reference);
    const json patch = json::diff(single, summary);
    INFO("summary.json: first difference " << (patch.empty() ? "none" : patch[0].dump()));
    CHECK(patch.empty());
    const json run = json::parse(read_all(dir + "/run.json")), run1 = json::parse(read_all(reference + "/run.json"));
    for (const char* key : {"config", "model", "dataset_samples", "dataset_files", "device", "dtype"}) {
      INFO("run.json " << key);
      CHECK(run[key] == run1[key]);
    }
    CHECK(run["mpi"]["ranks"] == 2);
    CHECK(run["samples"] == 5);
    CHECK(run["mpi"]["threads"] == json::array({1, 1}));
    CHECK(run["mpi"]["shards"] == json::array({"shard-0-of-2", "shard-1-of-2"}));
    CHECK(fs::exists(dir + "/report.md"));

    // Without --resume the folder is not touched again; with it, nothing is left to do.
    CHECK(shell(joined(mpirun_args(2)) + " " + CLAA_BINARY + " run " + ci_config() + " --out " + dir, &out) != 0);
    CHECK_THAT(out, Catch::Contains("already holds results"));
    CHECK(shell(joined(mpirun_args(2)) + " " + CLAA_BINARY + " run " + ci_config() + " --out " + dir + " --resume", &out) == 0);
    CHECK(read_all(dir + "/samples.jsonl") == read_all(reference + "/samples.jsonl"));
  }

  SECTION("a rank killed with SIGKILL mid-run, then --resume") {
    const std::string dir = fresh_dir("killed");
    std::vector<std::string> args = mpirun_args(2);
    args.push_back(CLAA_BINARY);
    args.push_back("run");
    for (const std::string& a : job_args()) args.push_back(a);
    for (const std::string& a : {std::string("--out"), dir, std::string("--no-report")}) args.push_back(a);
    const std::string log = log_path();
    pid_t launcher = fork();
    if (launcher == 0) {
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("mpirun", argv.data());
      _exit(127);
    }
    // Rank 1 (2 samples) is killed once its first sample is on disk.
    const std::string shard1 = dir + "/shard-1-of-2";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (line_count(shard1 + "/samples.jsonl") < 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(line_count(shard1 + "/samples.jsonl") == 1);
    const long rank1 = std::stol(read_all(shard1 + "/.claa-run.lock"));  // the lock file holds the rank's pid
    REQUIRE(rank1 > 0);
    REQUIRE(kill(static_cast<pid_t>(rank1), SIGKILL) == 0);
    int status = 0;
    waitpid(launcher, &status, 0);
    INFO(read_all(log));
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));  // mpirun reports the lost rank
    CHECK_FALSE(fs::exists(dir + "/samples.jsonl"));          // nothing merged
    const size_t kept = line_count(dir + "/shard-0-of-2/samples.jsonl") + line_count(shard1 + "/samples.jsonl");
    CHECK(kept < 5);  // it really was interrupted

    std::string out;
    const int rc = shell(joined(mpirun_args(2)) + " " + CLAA_BINARY + " run " + ci_config() + " --out " + dir +
                             " --resume --no-report",
                         &out);
    INFO(out);
    REQUIRE(rc == 0);
    CHECK_THAT(out, Catch::Contains("merged 5 samples from 2 ranks"));
    records_by_id(dir + "/shard-0-of-2/samples.jsonl");  // no sample twice within a shard
    records_by_id(shard1 + "/samples.jsonl");
    check_same_records(dir + "/samples.jsonl", reference + "/samples.jsonl");
  }
}

TEST_CASE("mpirun refuses ranks that disagree, --shard, and a single-process folder", "[runner][mpi]") {
  if (!have_mpirun()) {
    WARN("mpirun not found (scripts/setup.sh installs openmpi-bin): the MPI checks were not tested");
    return;
  }
  default_model_path();
  const std::string bin = CLAA_BINARY, config = ci_config();
  std::string out;

  // MPMD launch: rank 1 runs another keep rate.
  std::vector<std::string> a = mpirun_args(1);
  const std::string dir = fresh_dir("mismatch");
  const std::string mpmd = joined(a) + " " + bin + " run " + config + " --out " + dir + " : -np 1 " + bin + " run " +
                           config + " --out " + dir + " --set 'keep_rates=[0.5]'";
  CHECK(shell(mpmd, &out) == 1);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("error: rank 1's config differs from rank 0's"));
  CHECK_FALSE(fs::exists(dir + "/shard-0-of-2"));  // refused before anything ran

  CHECK(shell(joined(mpirun_args(2)) + " " + bin + " run " + config + " --out " + fresh_dir("shard") + " --shard 0/2",
              &out) == 1);
  CHECK_THAT(out, Catch::Contains("error: --shard cannot be combined with mpirun"));

  // A folder holding a run made without mpirun.
  const std::string single = fresh_dir("plain");
  fs::create_directories(single);
  std::ofstream(single + "/samples.jsonl") << "{\"id\": \"x\"}\n";
  std::ofstream(single + "/run.json") << "{\"shard\": \"0/1\"}\n";
  CHECK(shell(joined(mpirun_args(2)) + " " + bin + " run " + config + " --out " + single + " --resume", &out) == 1);
  CHECK_THAT(out, Catch::Contains("holds a run made without mpirun"));
}
