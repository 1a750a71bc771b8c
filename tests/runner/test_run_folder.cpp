// Run-folder guards (harness/runner/run_folder.h): one live run per folder, stale locks taken
// over, unwritable folders refused, and --resume refused when anything that shapes the results
// differs from run.json. Torch-free: these also run under the sanitizers.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "harness/runner/run_folder.h"
#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) { return claa::test::fresh_temp_path("folder_" + name).string(); }

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const claa::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("run folder lock: a second holder is refused with the first holder's pid", "[runner][lock]") {
  const std::string dir = fresh_dir("held");
  {
    claa::RunFolderLock first(dir);
    CHECK(first.stale_pid() == 0);
    CHECK(read_all(claa::RunFolderLock::lock_path(dir)) == std::to_string(getpid()) + "\n");
    std::string msg = error_of([&] { claa::RunFolderLock second(dir); });
    CHECK_THAT(msg, Catch::Contains("is in use by another claa run (pid " + std::to_string(getpid()) + ")"));
    CHECK_THAT(msg, Catch::Contains("choose another --out"));
  }
  CHECK_FALSE(fs::exists(claa::RunFolderLock::lock_path(dir)));  // released and removed
  claa::RunFolderLock again(dir);  // free again
  CHECK(again.stale_pid() == 0);
}

TEST_CASE("run folder lock: a lock left by a killed run is taken over", "[runner][lock]") {
  const std::string dir = fresh_dir("stale");
  pid_t child = fork();
  if (child == 0) {
    new claa::RunFolderLock(dir);  // never destroyed: the process dies holding it, like kill -9
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(read_all(claa::RunFolderLock::lock_path(dir)) == std::to_string(child) + "\n");  // left behind
  claa::RunFolderLock lock(dir);
  CHECK(lock.stale_pid() == child);
  CHECK(read_all(claa::RunFolderLock::lock_path(dir)) == std::to_string(getpid()) + "\n");
}

TEST_CASE("run folder lock: an output folder that cannot be created or written is refused", "[runner][lock]") {
  const std::string file = fresh_dir("plain_file");
  std::ofstream(file) << "not a folder";
  CHECK_THAT(error_of([&] { claa::RunFolderLock l(file + "/run"); }), Catch::Contains("cannot create the output folder"));
  // /proc/self is a folder nobody, root included, can create files in.
  CHECK_THAT(error_of([&] { claa::RunFolderLock l("/proc/self"); }), Catch::Contains("the output folder is not writable"));
  fs::remove(file);
}

TEST_CASE("resume check: same identity passes, each difference is named", "[runner][resume]") {
  const nlohmann::json run = {{"config", {{"keep_rates", {0.1, 0.2}}, {"model", {{"path", "m.gguf"}}}, {"output", "runs/a"}}},
                              {"shard", "0/1"},
                              {"model", {{"fingerprint", "fnv1a64:00000000000000aa"}}},
                              {"dataset_samples", "fnv1a64:00000000000000bb"}};
  claa::RunIdentity same{run["config"], "0/1", "fnv1a64:00000000000000aa", "fnv1a64:00000000000000bb"};
  CHECK_NOTHROW(claa::check_resume("R", run, same));
  claa::RunIdentity other_out = same;
  other_out.config["output"] = "runs/b";  // the folder is given by --out: not a difference
  CHECK_NOTHROW(claa::check_resume("R", run, other_out));

  claa::RunIdentity keep = same;
  keep.config["keep_rates"] = {0.3};
  std::string msg = error_of([&] { claa::check_resume("R", run, keep); });
  CHECK_THAT(msg, Catch::Contains("R: --resume refused: the config differs from run.json at keep_rates"));
  CHECK_THAT(msg, Catch::Contains("start a new folder with --out"));
  CHECK(msg.find('\n') == std::string::npos);  // one line

  claa::RunIdentity model = same;
  model.model_fingerprint = "fnv1a64:00000000000000cc";
  CHECK_THAT(error_of([&] { claa::check_resume("R", run, model); }),
             Catch::Contains("the model file's hash differs from run.json (fnv1a64:00000000000000aa in run.json, "
                             "fnv1a64:00000000000000cc now)"));

  claa::RunIdentity data = same;
  data.samples_fingerprint = "fnv1a64:00000000000000dd";
  CHECK_THAT(error_of([&] { claa::check_resume("R", run, data); }), Catch::Contains("the dataset samples' hash differs"));

  claa::RunIdentity shard = same;
  shard.shard = "1/2";
  CHECK_THAT(error_of([&] { claa::check_resume("R", run, shard); }), Catch::Contains("the shard differs"));

  // An older run.json without hashes: what it lacks cannot be compared, the rest still is.
  const nlohmann::json old = {{"config", run["config"]}};
  CHECK_NOTHROW(claa::check_resume("R", old, model));
  CHECK_THROWS_AS(claa::check_resume("R", old, keep), claa::Error);
}
