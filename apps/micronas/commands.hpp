// The `micronas` program: one file per verb, each registering a CLI11 subcommand.
#pragma once

#include <CLI/CLI.hpp>

namespace micronas::cli {

void add_info_command(CLI::App& app);
void add_mcu_command(CLI::App& app);
void add_score_command(CLI::App& app);
void add_search_command(CLI::App& app);
void add_random_search_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_devices_command(CLI::App& app);
void add_export_naslib_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_ts_cost_command(CLI::App& app);
void add_ts_search_command(CLI::App& app);
void add_ts_train_command(CLI::App& app);

}  // namespace micronas::cli
