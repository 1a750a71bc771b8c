// Each `claa` subcommand lives in its own file and registers itself on the CLI11 app here.
#pragma once

namespace CLI {
class App;
}

namespace claa {

void register_info_command(CLI::App& app);
void register_generate_command(CLI::App& app);
void register_bench_command(CLI::App& app);
void register_ttft_command(CLI::App& bench);  // under `claa bench`
void register_tokenize_commands(CLI::App& app);
void register_datasets_command(CLI::App& app);
void register_rank_command(CLI::App& app);
void register_run_commands(CLI::App& app);
void register_report_commands(CLI::App& app);
void register_export_command(CLI::App& app);

}  // namespace claa
