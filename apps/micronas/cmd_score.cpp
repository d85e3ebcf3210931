// `micronas score ARCH`: TE-NAS's proxies (NTK condition number, linear regions) of one cell or
// supernet state, with FLOPs/params and timings; optional dump of every intermediate.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "backend_options.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/score.hpp"
#include "runtime/file_io.hpp"
#include "search/search_json.hpp"

namespace micronas::cli {
namespace {

struct ScoreCliOptions {
  std::string arch, dataset = "cifar10", data = "synthetic", init = "released", dump, benchmark;
  std::uint64_t seed = 0;
  int batch = 72, repeats = 3;
  BackendCliOptions backend;
  bool json = false, verify_lr = false;
};

void run_score(const ScoreCliOptions& cli) {
  ScoreOptions o;
  o.context = cli.backend.to_context();
  auto table = load_table(cli.benchmark);
  o.dataset = dataset_from_name(cli.dataset);
  o.batch = cli.batch;
  o.repeats = cli.repeats;
  o.init = init_scheme_from_name(cli.init);
  o.data = DataSpec::parse(cli.data);
  o.seed = cli.seed;
  o.verify_lr = cli.verify_lr;
  o.dump_dir = cli.dump;
  if (!cli.dump.empty()) check_empty_folder("--dump", cli.dump);
  ScoreResult r = score_architecture(resolve_arch(cli.arch, table.get()), o);
  nlohmann::ordered_json out = score_json(r, o);
  if (!cli.dump.empty()) {
    write_output_file((std::filesystem::path(cli.dump) / "result.json").string(),
                      out.dump(2) + "\n");
  }
  if (cli.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "arch            " << out["arch"].get<std::string>() << "\n";
  std::cout << std::setprecision(6);
  for (std::size_t i = 0; i < r.repeats.size(); ++i) {
    const RepeatScore& rep = r.repeats[i];
    std::cout << "repeat " << i << "        ntk_cond " << rep.ntk.tenas_condition
              << (rep.ntk.valid ? "" : "  (INVALID: " + rep.ntk.invalid_reason + ")")
              << "   linear_regions " << rep.linear_regions << "\n";
  }
  std::cout << "ntk_cond        " << r.ntk_condition << (r.ntk_valid ? "" : "  (invalid repeats)")
            << "\nlinear_regions  " << r.linear_regions << "\nflops_m         " << r.size.flops_m()
            << "\nparams_m        " << r.size.params_m() << "\nseconds         ntk "
            << r.ntk_seconds << ", linear regions " << r.lr_seconds << "\n";
}

}  // namespace

void add_score_command(CLI::App& app) {
  auto opt = std::make_shared<ScoreCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "score",
      "TE-NAS proxies of a cell or supernet state: NTK condition number (batched "
      "Jacobian) and number of linear regions, plus FLOPs/params");
  cmd->add_option("ARCH", opt->arch,
                  "NB201 string, supernet state, 'supernet', or an index "
                  "with --benchmark")
      ->required();
  cmd->add_option("--seed", opt->seed, "Seed for weights and inputs")
      ->capture_default_str()
      ->check(seed_value());
  cmd->add_option("--batch", opt->batch, "NTK batch size (TE-NAS 72, MicroNAS 128)")
      ->capture_default_str();
  cmd->add_option("--repeat", opt->repeats, "Repeats (fresh data each)")->capture_default_str();
  cmd->add_option("--data", opt->data, "synthetic | cifar10:PATH | cifar100:PATH | npy:PATH")
      ->capture_default_str();
  cmd->add_option("--init", opt->init,
                  "released (PyTorch defaults, kept across repeats, as TE-NAS ran) | kaiming "
                  "(redrawn per repeat, as the paper intends)")
      ->capture_default_str();
  cmd->add_option("--dataset", opt->dataset, "cifar10 | cifar100 | imagenet16")
      ->capture_default_str();
  opt->backend.add_to(cmd);
  cmd->add_option("--benchmark", opt->benchmark, "NB201 table, to accept an index as ARCH");
  cmd->add_option("--dump", opt->dump,
                  "Write inputs, parameters, jacobian.npy, ntk.npy, eigenvalues.npy, "
                  "lr_inputs.npy and result.json (repeat 0) into this folder (new or empty)")
      ->check(output_path());
  cmd->add_flag("--verify-lr", opt->verify_lr,
                "Also count exact activation bit rows and check the hash count");
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->callback([opt]() { run_score(*opt); });
}

}  // namespace micronas::cli
