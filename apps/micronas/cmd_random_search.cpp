// `micronas random-search`: the baseline for the pruning search. Scores random cells that satisfy
// the same limits with the same proxies and returns the best by the same rank combination.
#include <iomanip>
#include <iostream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "export_files.hpp"
#include "micronas/error.hpp"
#include "micronas/random_search.hpp"
#include "micronas/threads.hpp"
#include "progress.hpp"
#include "search_options.hpp"

namespace micronas::cli {
namespace {

struct RandomSearchCliOptions {
  ProxyCliOptions proxies;
  CostCliOptions cost;
  int samples = 50;
  std::string benchmark, out;
  bool json = false, no_progress = false;
};

nlohmann::ordered_json result_json(const RandomSearchResult& r, const RandomSearchOptions& o,
                                   const BenchmarkTable* table) {
  nlohmann::ordered_json out;
  const RandomSearchCell* best = nullptr;
  for (const RandomSearchCell& c : r.cells)
    if (c.rank.order == 0) best = &c;
  out["arch"] = r.arch.to_string();
  out["cell_id"] = r.arch.cell_id();
  out["flops_m"] = best->score.size.flops_m();
  out["params_m"] = best->score.size.params_m();
  out["mcu"] = cost_json(best->cost, o.target, o.mcu);
  out["benchmark"] = benchmark_json(table, r.arch);
  out["options"] = {{"dataset", dataset_name(o.proxies.dataset)},
                    {"data", o.proxies.data.to_string()},
                    {"seed", o.proxies.seed},
                    {"batch", o.proxies.batch},
                    {"repeats", o.proxies.repeats},
                    {"init", init_scheme_name(o.proxies.init)},
                    {"samples", o.samples},
                    {"flops_weight", o.flops_weight},
                    {"latency_weight", o.latency_weight},
                    {"limits", limits_json(o.limits)},
                    {"backend", o.proxies.context.describe()},
                    {"threads", o.proxies.context.cpu_threads()}};
  out["feasible_cells"] = r.feasible_cells;
  nlohmann::ordered_json cells = nlohmann::ordered_json::array();
  for (const RandomSearchCell& c : r.cells) {
    nlohmann::ordered_json j = random_search_cell_json(c, o.target, o.mcu);
    j["benchmark"] = benchmark_json(table, c.score.arch);
    cells.push_back(j);
  }
  out["cells"] = cells;
  out["seconds"] = r.seconds;
  return out;
}

// The cell's benchmark index and its test accuracy on the dataset the cells were scored for.
void print_accuracy(const nlohmann::ordered_json& benchmark, Dataset dataset) {
  const std::string column = BenchmarkTable::accuracy_column(dataset);
  std::cout << "nb201 index     " << benchmark["index"] << "\n"
            << std::left << std::setw(16) << column << std::right;
  if (benchmark.contains(column) && !benchmark[column].is_null())
    std::cout << benchmark[column] << " %\n";
  else
    std::cout << "(not in the table)\n";
}

void run_random_search(const RandomSearchCliOptions& cli) {
  auto table = load_table(cli.benchmark);
  RandomSearchOptions o;
  o.proxies = cli.proxies.to_score_options();
  o.samples = cli.samples;
  o.flops_weight = cli.cost.flops_weight;
  o.latency_weight = cli.cost.latency_weight;
  o.target = cli.cost.target;
  o.mcu = cli.cost.to_estimate_options();
  o.limits = cli.cost.limits;
  if (!cli.out.empty()) check_new_output("--out", cli.out);
  ProgressBar bar("random search", cli.samples, !cli.no_progress);
  o.progress = [&bar](int done, int) { bar.update(done); };
  RandomSearchResult r = random_search(o);
  bar.finish();
  nlohmann::ordered_json j = result_json(r, o, table.get());
  if (!cli.out.empty()) {
    const std::string text = j.dump(2) + "\n";
    write_option_file("--out", cli.out, text, Publish::kCreateNew);
  }
  if (cli.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << std::setprecision(5) << "arch            " << j["arch"].get<std::string>() << "\n";
  if (!j["benchmark"].is_null()) print_accuracy(j["benchmark"], o.proxies.dataset);
  std::cout << "mcu             latency " << j["mcu"]["latency_ms"].get<double>()
            << " ms, peak SRAM " << j["mcu"]["peak_sram_kb"].get<double>() << " KiB, flash "
            << j["mcu"]["flash_kb"].get<double>() << " KiB\n"
            << "search          " << r.cells.size() << " of " << r.feasible_cells
            << " cells within the limits scored, " << r.seconds << " s\n";
}

}  // namespace

void add_random_search_command(CLI::App& app) {
  auto opt = std::make_shared<RandomSearchCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "random-search",
      "Baseline: score random cells within the limits with the same proxies and pick the best "
      "by the same rank combination");
  opt->proxies.add_to(cmd);
  opt->cost.add_to(cmd);
  cmd->add_option("--samples", opt->samples,
                  "Cells to draw and score (at most the cells within the limits are scored)")
      ->capture_default_str()
      ->check(integer_in(1, kNumCells));
  cmd->add_option("--benchmark", opt->benchmark, "NB201 table: report accuracies");
  cmd->add_option("--out", opt->out,
                  "Also write the JSON result to this new file (never overwritten; checked "
                  "before the search)")
      ->check(output_path());
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->add_flag("--no-progress", opt->no_progress,
                "No progress on stderr (a bar on a terminal, else a line every 10 s)");
  cmd->callback([opt]() { run_random_search(*opt); });
}

}  // namespace micronas::cli
