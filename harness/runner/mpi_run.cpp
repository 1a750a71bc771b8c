#include "harness/runner/mpi_run.h"

#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <sched.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fingerprint.h"
#include "harness/runner/merge.h"
#include "harness/runner/mpi_world.h"
#include "harness/runner/provenance.h"
#include "harness/runner/run_folder.h"
#include "model/model_loader.h"
#include "reports/run_reports.h"

namespace claa {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One line per error, without LibTorch's backtrace.
std::string message_of(const std::exception& e) {
  if (const auto* t = dynamic_cast<const c10::Error*>(&e)) return std::string("torch: ") + t->what_without_backtrace();
  return e.what();
}

template <typename F>
std::string capture_error(F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    std::string m = message_of(e);
    return m.empty() ? "unknown error" : m;
  }
  return "";
}

int affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

// Parses "shard-R-of-K"; returns K (0 when the name is something else).
int shard_count_of(const std::string& name) {
  int r = 0, k = 0;
  char tail = 0;
  if (std::sscanf(name.c_str(), "shard-%d-of-%d%c", &r, &k, &tail) != 2) return 0;
  return k;
}

// Rank 0, before any rank loads a model: OUT must not mix this job with another one.
void check_output_folder(const std::string& dir, int size, bool resume) {
  const std::string how = resume ? "" : "; use --resume to continue it, or choose another --out";
  for (const auto& e : fs::directory_iterator(dir)) {
    const int k = shard_count_of(e.path().filename().string());
    if (k > 0 && k != size)
      throw Error(fmt::format("{} holds the shards of a {}-rank run (this one has {} ranks): {}", dir, k, size,
                              resume ? fmt::format("resume it with mpirun -np {}", k) : "choose another --out"));
    const fs::path samples = e.path() / "samples.jsonl";
    if (!resume && k == size && fs::exists(samples) && fs::file_size(samples) > 0)
      throw Error(samples.string() + " already holds results" + how);
  }
  const fs::path merged = fs::path(dir) / "samples.jsonl";
  if (!fs::exists(merged)) return;
  json run;
  if (std::ifstream in(fs::path(dir) / "run.json"); in.good()) run = json::parse(in, nullptr, false);
  if (!run.is_object() || !run.contains("mpi"))
    throw Error(dir + " holds a run made without mpirun: resume it without mpirun, or choose another --out");
  if (!resume) throw Error(merged.string() + " already holds results" + how);
}

// What every rank must agree on, as JSON; compared field by field with rank 0's.
json job_description(const RunConfig& c, const std::string& dir, const RunOptions& o, const std::string& model_fp) {
  return {{"config", fingerprint_text(fnv1a(c.resolved.dump()))},
          {"model", model_fp},
          {"output folder", fs::absolute(dir).lexically_normal().string()},
          {"--resume", o.resume},
          {"--limit", o.limit},
          {"--no-report", !o.reports}};
}

// The ranks' answers of one step: "" where a rank succeeded, else its error. Every rank gets the
// same one-line verdict ("" = all fine): identical errors (a bad config on every rank) once,
// otherwise per rank.
std::string verdict(const std::vector<std::string>& errors) {
  std::vector<int> failed;
  for (size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty()) failed.push_back(static_cast<int>(r));
  if (failed.empty()) return "";
  bool same = failed.size() == errors.size();
  for (int r : failed) same = same && errors[static_cast<size_t>(r)] == errors[0];
  if (same) return errors[0];
  std::string out;
  for (int r : failed) out += fmt::format("{}rank {}: {}", out.empty() ? "" : "; ", r, errors[static_cast<size_t>(r)]);
  return out;
}

// A rank other than 0 leaves the reporting to rank 0 and ends with this code.
[[noreturn]] void end_quietly(int code) { throw ExitCode{code}; }

}  // namespace

std::string shard_folder(const std::string& out, int rank, int size) {
  return (fs::path(out) / fmt::format("shard-{}-of-{}", rank, size)).string();
}

int run_experiment_mpi(const MpiRunArgs& a) {
  MpiWorld world;  // MPI_Finalize when this returns or throws
  const int rank = world.rank(), size = world.size();
  // A step every rank takes; an error on any rank stops all of them, reported once by rank 0.
  auto collective = [&](const std::string& my_error) {
    const std::string v = verdict(world.all_gather(my_error));
    if (v.empty()) return;
    if (rank == 0) throw Error(v);
    end_quietly(1);
  };

  // 1. Every rank loads and describes the job; rank 0 takes the output folder.
  RunConfig config;
  std::string dir, model_fp;
  std::unique_ptr<RunFolderLock> lock;
  json description;
  collective(capture_error([&] {
    require(!a.shard_given, "--shard cannot be combined with mpirun: each rank takes shard RANK/SIZE itself");
    config = load_run_config(a.config, a.overrides);
    dir = a.options.out.empty() ? config.output : a.options.out;
    if (rank == 0) {
      lock = std::make_unique<RunFolderLock>(dir);
      if (lock->stale_pid() != 0)
        fmt::print(stderr, "note: taking over {}: its lock was left by pid {}, which is no longer running\n", dir,
                   lock->stale_pid());
      check_output_folder(dir, size, a.options.resume);
    }
    model_fp = model_fingerprint(resolve_model(config.model.path));
    description = job_description(config, dir, a.options, model_fp);
  }));

  // 2. All ranks run the same job, into a folder they all see.
  const std::vector<std::string> descriptions = world.all_gather(description.dump());
  std::string mismatch;
  const json first = json::parse(descriptions[0]);
  for (int r = 1; r < size && mismatch.empty(); ++r) {
    const json other = json::parse(descriptions[static_cast<size_t>(r)]);
    for (const auto& [key, value] : first.items())
      if (other.value(key, json()) != value) {
        mismatch = fmt::format("rank {}'s {} differs from rank 0's ({} on rank 0, {} on rank {}): every rank must run "
                               "the same config, model and options",
                               r, key, value.dump(), other.value(key, json()).dump(), r);
        break;
      }
  }
  if (!mismatch.empty()) {
    if (rank == 0) throw Error(mismatch);
    end_quietly(1);
  }
  collective(capture_error([&] {
    require(rank == 0 || fs::exists(RunFolderLock::lock_path(dir)),
            "cannot see the output folder rank 0 holds (" + RunFolderLock::lock_path(dir) +
                " is missing): --out must be on a filesystem every rank shares");
  }));

  // 3. Each rank runs its shard on its own device(s) and share of the cores.
  ModelSection& m = config.model;  // the resolved config (run.json, --resume checks) stays as written
  const int gpus = static_cast<int>(at::getNumGPUs());
  if (m.devices.empty()) {
    m.device = rank_device(m.device, world.local_rank(), 1, gpus);
  } else {
    for (std::string& d : m.devices) d = rank_device(d, world.local_rank(), static_cast<int>(m.devices.size()), gpus);
    m.device = m.devices.front();
  }
  if (m.threads <= 0)
    m.threads = rank_threads(affinity_cores(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
                             world.local_size());
  RunOptions mine = a.options;
  mine.shard_index = rank;
  mine.shard_count = size;
  mine.out = shard_folder(dir, rank, size);
  mine.reports = false;
  mine.model_fingerprint = model_fp;
  const std::string run_error = capture_error([&] { run_experiment(config, mine); });
  const json status = {{"error", run_error}, {"device", m.devices.empty() ? json(m.device) : json(m.devices)},
                       {"threads", m.threads}};

  // 4. Rank 0 joins the shards once every rank is done.
  const std::vector<std::string> statuses = world.all_gather(status.dump());
  std::vector<std::string> errors;
  json devices = json::array(), threads = json::array(), shards = json::array();
  for (int r = 0; r < size; ++r) {
    const json s = json::parse(statuses[static_cast<size_t>(r)]);
    errors.push_back(s["error"].get<std::string>());
    devices.push_back(s["device"]);
    threads.push_back(s["threads"]);
    shards.push_back(fs::path(shard_folder(dir, r, size)).filename().string());
  }
  if (rank != 0) {
    if (!verdict(errors).empty()) end_quietly(1);
    return 0;
  }
  if (const std::string v = verdict(errors); !v.empty())
    throw Error(v + fmt::format(" — the samples each rank finished are kept in {}/shard-*-of-{}: rerun the same "
                                "command with --resume to continue",
                                dir, size));
  std::vector<std::string> dirs;
  for (int r = 0; r < size; ++r) dirs.push_back(shard_folder(dir, r, size));
  for (const std::string& d : dirs)
    require(fs::exists(d + "/samples.jsonl"),
            d + "/samples.jsonl is not visible on rank 0: --out must be on a filesystem every rank shares");
  MergeOptions merge;
  merge.replace = true;  // derived from the shards: a resumed job writes it again
  const int64_t samples = merge_shards(dirs, dir, merge);
  std::ifstream in(dir + "/run.json");
  json run = json::parse(in, nullptr, false);
  require(run.is_object(), dir + "/run.json: not valid JSON");
  run["shard"] = fmt::format("all {} shards (mpi)", size);
  run["samples"] = samples;
  run["mpi"] = {{"ranks", size}, {"shards", shards}, {"devices", devices}, {"threads", threads}};
  write_file_atomically(dir + "/run.json", run.dump(2) + "\n");
  if (a.options.reports) write_run_reports(dir);
  fmt::print("merged {} samples from {} ranks\n", samples, size);
  fmt::print("results: {}/samples.jsonl\n", dir);
  if (a.options.reports) fmt::print("report:  {}/report.md and {}/report.html\n", dir, dir);
  return 0;
}

}  // namespace claa
