// Reports are replaced atomically (core/atomic_file.h): a report write that dies midway —
// the process killed mid-write, or the disk full — leaves the previous report intact next to the
// samples. Both are simulated with RLIMIT_FSIZE in a forked child: past the limit a write either
// kills the process (SIGXFSZ, like a crash) or fails with EFBIG (like a full disk).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "reports/run_reports.h"
#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const char* const kReports[] = {"summary.json", "layers.csv", "report.md", "report.html"};

std::map<std::string, std::string> reports_of(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (const char* name : kReports) m[name] = read_all(dir + "/" + name);
  return m;
}

// A copy of the small fixture run with its reports written, then one sample dropped so the next
// report differs from the current one.
std::string run_with_reports(const std::string& name) {
  fs::path dir = claa::test::fresh_temp_path("atomic_" + name);
  fs::create_directories(dir);
  fs::copy_file(source_path("tests/fixtures/reports/small_run/run.json"), dir / "run.json");
  fs::copy_file(source_path("tests/fixtures/reports/small_run/samples.jsonl"), dir / "samples.jsonl");
  claa::ReportOptions no_plots;
  no_plots.plots = false;
  claa::write_run_reports(dir.string(), {}, no_plots);
  std::string samples = read_all((dir / "samples.jsonl").string());
  samples.erase(samples.rfind('\n', samples.size() - 2) + 1);  // drop the last record
  std::ofstream(dir / "samples.jsonl", std::ios::binary | std::ios::trunc) << samples;
  return dir.string();
}

// Regenerates the reports in a child limited to `max_bytes` per file; returns its wait status.
int write_reports_in_limited_child(const std::string& dir, rlim_t max_bytes, bool die_on_limit) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!die_on_limit) signal(SIGXFSZ, SIG_IGN);
    rlimit limit{max_bytes, max_bytes};
    setrlimit(RLIMIT_FSIZE, &limit);
    claa::ReportOptions no_plots;
    no_plots.plots = false;
    try {
      claa::write_run_reports(dir, {}, no_plots);
    } catch (const claa::Error& e) {
      _exit(std::string(e.what()).find("the previous file is unchanged") != std::string::npos ? 3 : 4);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("a report write killed midway leaves the previous report intact", "[reports][atomic]") {
  const std::string dir = run_with_reports("killed");
  const auto before = reports_of(dir);
  REQUIRE(before.at("report.md").size() > 200);
  int status = write_reports_in_limited_child(dir, 64, /*die_on_limit=*/true);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGXFSZ);  // it really died mid-write
  CHECK(reports_of(dir) == before);
}

TEST_CASE("a report write on a full disk fails with one error and leaves the previous report intact", "[reports][atomic]") {
  const std::string dir = run_with_reports("full");
  const auto before = reports_of(dir);
  int status = write_reports_in_limited_child(dir, 64, /*die_on_limit=*/false);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);  // claa::Error saying the previous file is unchanged
  CHECK(reports_of(dir) == before);
  for (const auto& e : fs::directory_iterator(dir))  // no temporary left behind
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);

  // Without the limit the same call replaces every report.
  claa::ReportOptions no_plots;
  no_plots.plots = false;
  claa::write_run_reports(dir, {}, no_plots);
  CHECK(reports_of(dir).at("summary.json") != before.at("summary.json"));
}

TEST_CASE("write_file_atomically replaces a file and reports an unwritable folder", "[atomic]") {
  const std::string path = (fs::temp_directory_path() / ("claa_atomic_file_" + std::to_string(getpid()))).string();
  claa::write_file_atomically(path, "old");
  claa::write_file_atomically(path, "new content");
  CHECK(read_all(path) == "new content");
  fs::remove(path);
  CHECK_THROWS_AS(claa::write_file_atomically("/proc/self/claa_report.md", "x"), claa::Error);
}
