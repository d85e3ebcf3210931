// `micronas info ARCH`: canonical string, benchmark index and accuracies, FLOPs and params.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/graph.hpp"

namespace micronas::cli {
namespace {

struct InfoOptions {
  std::string arch;
  std::string dataset = "cifar10";
  std::string benchmark;
  bool json = false;
};

void run_info(const InfoOptions& opt) {
  auto table = load_table(opt.benchmark);
  Arch arch = resolve_arch(opt.arch, table.get());
  Dataset dataset = dataset_from_name(opt.dataset);
  ModelSize size = model_size(build_graph(NetworkConfig::nb201(dataset), arch));

  nlohmann::ordered_json out;
  out["arch"] = arch.to_string();
  out["is_cell"] = arch.is_cell();
  if (arch.is_cell()) out["cell_id"] = arch.cell_id();
  out["dataset"] = dataset_name(dataset);
  out["flops_m"] = size.flops_m();
  out["params_m"] = size.params_m();
  if (table) {
    auto row = table->find(arch);
    out["benchmark"] = table->path();
    if (row) {
      out["index"] = table->index(*row);
      for (const std::string& col : table->columns()) {
        if (col.find("test") == std::string::npos) continue;
        double v = table->value(*row, col);
        if (!std::isnan(v)) out[col] = v;
      }
    } else {
      out["index"] = nullptr;
    }
  }
  if (opt.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  for (auto it = out.begin(); it != out.end(); ++it) {
    std::cout << std::left << std::setw(22) << it.key() << " ";
    if (it->is_string())
      std::cout << it->get<std::string>();
    else
      std::cout << it->dump();
    std::cout << "\n";
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info",
      "Describe an architecture: canonical string, benchmark index and accuracies, "
      "FLOPs and params of NB201's evaluation network (C=16, N=5)");
  cmd->add_option("ARCH", opt->arch,
                  "NB201 string (|op~0|+|op~0|op~1|+|op~0|op~1|op~2|), supernet state "
                  "(ops joined with '/'), 'supernet', or an index with --benchmark")
      ->required();
  cmd->add_option("--dataset", opt->dataset, "cifar10 | cifar100 | imagenet16")
      ->capture_default_str();
  cmd->add_option("--benchmark", opt->benchmark,
                  "NB201 table (CSV with index,arch,... columns) for index and accuracies");
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->callback([opt]() { run_info(*opt); });
}

}  // namespace micronas::cli
