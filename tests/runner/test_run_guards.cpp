// Run-folder guards through the real CLI (harness/runner/run_folder.h): --resume refuses a changed
// config or model file with one line naming the difference; a folder held by a live run is
// refused; an unwritable --out fails before any model loads.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/runner/run_folder.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int run_cli(const std::string& args, std::string* output) {
  std::string log = (fs::temp_directory_path() / ("claa_guard_" + std::to_string(getpid()) + ".log")).string();
  int status = std::system((std::string(CLAA_BINARY) + " " + args + " > " + log + " 2>&1").c_str());
  *output = read_all(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string fresh_dir(const std::string& name) { return claa::test::fresh_temp_path("guard_" + name).string(); }

const std::string kConfig = source_path("configs/ci.json");

}  // namespace

TEST_CASE("claa run --resume refuses a changed config or model file, naming what differs", "[runner][resume]") {
  // One sample with a private copy of the model, so the copy can change afterwards.
  const std::string dir = fresh_dir("resume"), model = dir + "_model.gguf";
  fs::copy_file(default_model_path(), model, fs::copy_options::overwrite_existing);
  const std::string base = "run " + kConfig + " --out " + dir + " --no-report --set model.path=" + model;
  std::string out;
  REQUIRE(run_cli(base + " --limit 1", &out) == 0);
  const std::string samples = read_all(dir + "/samples.jsonl");
  const nlohmann::json run = nlohmann::json::parse(read_all(dir + "/run.json"));
  CHECK(run["dataset_samples"].get<std::string>().rfind("fnv1a64:", 0) == 0);
  CHECK(run["git_commit"].is_string());
  CHECK(run["git_dirty"].is_string());
  CHECK(run["dataset_files"].is_array());

  // The example: other keep rates on --resume would mix results in one folder.
  CHECK(run_cli(base + " --limit 2 --resume --set keep_rates=[0.3]", &out) == 1);
  CHECK_THAT(out, Catch::Contains("--resume refused: the config differs from run.json at keep_rates"));
  CHECK_THAT(out, Catch::Contains("start a new folder with --out"));

  // The same path, other bytes: the model file's hash gives it away.
  std::ofstream(model, std::ios::binary | std::ios::app) << "appended";
  CHECK(run_cli(base + " --limit 2 --resume", &out) == 1);
  CHECK_THAT(out, Catch::Contains("--resume refused: the model file's hash differs from run.json"));
  CHECK(read_all(dir + "/samples.jsonl") == samples);  // nothing was appended by the refused runs
  fs::remove(model);
}

TEST_CASE("claa run into a folder a live run holds is refused", "[runner][lock]") {
  const std::string dir = fresh_dir("held");
  claa::RunFolderLock holder(dir);  // this test process plays the live run
  std::string out;
  CHECK(run_cli("run " + kConfig + " --out " + dir, &out) == 1);
  CHECK_THAT(out, Catch::Contains("is in use by another claa run (pid " + std::to_string(getpid()) + ")"));
  CHECK_FALSE(fs::exists(dir + "/samples.jsonl"));
}

TEST_CASE("claa run with an unwritable --out fails before loading a model", "[runner][lock]") {
  // A model path that does not exist: had the model been loaded first, the error would be about it.
  const std::string no_model = " --set model.path=/nonexistent/claa-model.gguf";
  std::string out;
  const auto start = std::chrono::steady_clock::now();
  CHECK(run_cli("run " + kConfig + " --out /proc/self" + no_model, &out) == 1);  // root cannot write there either
  CHECK_THAT(out, Catch::Contains("/proc/self: the output folder is not writable"));
  CHECK(out.find("claa-model.gguf") == std::string::npos);
  const std::string file = fresh_dir("a_file");
  std::ofstream(file) << "x";
  CHECK(run_cli("run " + kConfig + " --out " + file + "/run" + no_model, &out) == 1);
  CHECK_THAT(out, Catch::Contains("cannot create the output folder"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  fs::remove(file);
}
