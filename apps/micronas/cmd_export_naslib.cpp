// `micronas export-naslib`: a sweep's rows as NAS-Bench-Suite-Zero JSON, the file NASLib's
// get_zc_benchmark_api() loads, so NASLib users read our proxies as they read theirs.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/error.hpp"
#include "micronas/naslib_export.hpp"
#include "micronas/sweep.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

struct ExportCliOptions {
  std::string results, benchmark, out, dataset = "cifar10", accuracy;
};

void run_export(const ExportCliOptions& cli) {
  const Dataset dataset = dataset_from_name(cli.dataset);
  const std::vector<SweepRow> rows = read_sweep_csv(cli.results);
  auto table = load_table(cli.benchmark);
  const std::string accuracy =
      cli.accuracy.empty() ? BenchmarkTable::accuracy_column(dataset) : cli.accuracy;
  write_output_file(cli.out, naslib_zero_cost_json(rows, dataset, table.get(), accuracy),
                    Publish::kCreateNew);
}

}  // namespace

void add_export_naslib_command(CLI::App& app) {
  auto opt = std::make_shared<ExportCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export-naslib",
      "Write a sweep as NAS-Bench-Suite-Zero JSON (NASLib's zc_nasbench201.json shape), keyed "
      "by NASLib's op-index tuples");
  cmd->add_option("--results", opt->results, "Sweep results CSV (micronas sweep --out)")
      ->required();
  cmd->add_option("--out", opt->out, "JSON file to create (never overwritten)")->required();
  cmd->add_option("--benchmark", opt->benchmark,
                  "NB201 table: adds each cell's index (id) and accuracy (val_accuracy)");
  cmd->add_option("--dataset", opt->dataset, "cifar10 | cifar100 | imagenet16")
      ->capture_default_str();
  cmd->add_option("--accuracy", opt->accuracy,
                  "Table column for val_accuracy (default: the dataset's test accuracy, what "
                  "nb201.csv holds)");
  cmd->callback([opt] { run_export(*opt); });
}

}  // namespace micronas::cli
