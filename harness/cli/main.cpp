// claa: how good is a token-ranking heuristic for long-context prefill, layer by layer?
// Entry point: parses the command line and turns every user-caused error into one line + exit 1.
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "core/error.h"
#include "harness/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"claa: per-layer evaluation of token-ranking heuristics for long-context prefill"};
  app.require_subcommand(1);
  claa::register_info_command(app);
  claa::register_generate_command(app);
  claa::register_bench_command(app);
  claa::register_tokenize_commands(app);
  claa::register_rank_command(app);
  claa::register_datasets_command(app);
  claa::register_run_commands(app);
  claa::register_report_commands(app);
  claa::register_export_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const claa::ExitCode& e) {
    return e.code;
  } catch (const claa::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "error: torch: {}\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
