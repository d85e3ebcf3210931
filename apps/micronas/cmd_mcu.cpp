// `micronas mcu ARCH | predict | calibrate | lut`: the microcontroller cost model.
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "runtime/csv.hpp"
#include "runtime/file_io.hpp"
#include "search/search_json.hpp"

namespace micronas::cli {
namespace {

struct McuOptions {
  std::string arch;
  std::string target = "stm32f746";
  double clock_mhz = 0;
  std::string runtime = "tflm";
  std::string dataset = "cifar10";
  std::string benchmark;
  bool json = false;
  bool micronas_table = false;
  std::string lut, out, base, name, space;
};

std::string shape_text(const Shape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::string origin_text(const Origin& o) {
  switch (o.block) {
    case BlockKind::kStem: return "stem";
    case BlockKind::kHead: return "head";
    case BlockKind::kReduction: return "reduction." + std::to_string(o.block_index);
    case BlockKind::kCell:
      if (o.edge < 0) return "cell." + std::to_string(o.block_index) + ".sum";
      return "cell." + std::to_string(o.block_index) + ".edge" + std::to_string(o.edge) + "." +
             op_name(o.op);
  }
  return "?";
}

mcu::EstimateOptions estimate_options(const McuOptions& opt) {
  mcu::EstimateOptions e;
  e.runtime = mcu::runtime_from_name(opt.runtime);
  if (opt.clock_mhz < 0) throw Error(Status::kInvalidArgument, "--clock-mhz must be > 0");
  e.clock_mhz = opt.clock_mhz;
  e.latency_model =
      opt.micronas_table ? mcu::LatencyModel::kMicronasConstantTable : mcu::LatencyModel::kAnalytic;
  return e;
}

// A number as the CSV files have always written it (ostream's default format).
template <class T>
std::string text_of(T value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

void run_estimate(const McuOptions& opt) {
  auto table = load_table(opt.benchmark);
  Arch arch = resolve_arch(opt.arch, table.get());
  mcu::TargetProfile target = mcu::load_target(opt.target);
  mcu::EstimateOptions eo = estimate_options(opt);
  NetworkConfig config = NetworkConfig::nb201(dataset_from_name(opt.dataset));
  mcu::NetworkEstimate est = mcu::estimate_network(target, config, arch, eo);
  mcu::Nb201CostTable fast(target, config, eo);
  auto deltas = fast.pruning_deltas_ms(arch);

  // Per (edge, op): latency of that op summed over the network's cells.
  std::map<std::pair<int, int>, double> edge_op_ms;
  for (const auto& l : est.layers)
    if (l.op.origin.block == BlockKind::kCell && l.op.origin.edge >= 0)
      edge_op_ms[{l.op.origin.edge, static_cast<int>(l.op.origin.op)}] += l.ms;

  nlohmann::ordered_json out =
      network_totals_json(arch, dataset_from_name(opt.dataset), target, eo, est);
  auto& edges = out["edge_ops"] = nlohmann::ordered_json::array();
  for (int e = 0; e < kNumEdges; ++e)
    for (Op op : arch.ops(e))
      edges.push_back({{"edge", e},
                       {"op", op_name(op)},
                       {"ms_in_network", edge_op_ms[{e, static_cast<int>(op)}]},
                       {"ms_removed_if_pruned", deltas[e][static_cast<int>(op)]}});
  auto& layers = out["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : est.layers)
    layers.push_back({{"op", mcu::deployed_op_name(l.op.kind)},
                      {"family", mcu::cost_family_name(l.cost.family)},
                      {"origin", origin_text(l.op.origin)},
                      {"input", shape_text(l.op.input)},
                      {"output", shape_text(l.op.output)},
                      {"macs", l.cost.macs},
                      {"instructions", std::llround(l.cost.instructions)},
                      {"cycles", l.cost.cycles},
                      {"ms", l.ms},
                      {"live_sram_bytes", l.live_sram_bytes},
                      {"scratch_bytes", l.cost.scratch_bytes},
                      {"persistent_bytes", l.cost.persistent_bytes},
                      {"flash_bytes", l.cost.flash_bytes}});
  if (opt.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << std::left << std::setw(16) << "op" << std::setw(28) << "origin" << std::setw(11)
            << "input" << std::setw(11) << "output" << std::right << std::setw(10) << "MACs"
            << std::setw(11) << "cycles" << std::setw(9) << "ms" << std::setw(10) << "live_B"
            << "\n";
  for (const auto& l : est.layers)
    std::cout << std::left << std::setw(16) << mcu::deployed_op_name(l.op.kind) << std::setw(28)
              << origin_text(l.op.origin) << std::setw(11) << shape_text(l.op.input)
              << std::setw(11) << shape_text(l.op.output) << std::right << std::setw(10)
              << l.cost.macs << std::setw(11) << l.cost.cycles << std::setw(9) << std::fixed
              << std::setprecision(3) << l.ms << std::setw(10) << l.live_sram_bytes << "\n";
  std::cout << "\nper (edge, op): ms in network, ms removed if pruned\n";
  for (const auto& e : edges)
    std::cout << "  edge " << e["edge"].get<int>() << " " << std::left << std::setw(14)
              << e["op"].get<std::string>() << std::right << std::setw(10)
              << e["ms_in_network"].get<double>() << std::setw(10)
              << e["ms_removed_if_pruned"].get<double>() << "\n";
  std::cout << "\n";
  for (const char* key : {"arch", "target", "clock_mhz", "runtime", "latency_model", "latency_ms",
                          "analytic_latency_ms", "micronas_table_ms", "peak_sram_kb", "flash_kb",
                          "model_flash_kb", "macs", "fits_sram", "fits_flash"}) {
    std::cout << std::left << std::setw(20) << key << " ";
    if (out[key].is_string())
      std::cout << out[key].get<std::string>() << "\n";
    else
      std::cout << out[key].dump() << "\n";
  }
}

void run_predict(const McuOptions& opt) {
  mcu::TargetProfile target = mcu::load_target(opt.target);
  const double clock = opt.clock_mhz > 0 ? opt.clock_mhz : target.clock_mhz;
  std::vector<mcu::MeasuredOp> rows = mcu::rows_for_target(target, mcu::read_measured_ops(opt.lut));
  int supported = 0;
  for (const auto& r : rows) supported += r.supported ? 1 : 0;
  if (supported == 0)
    throw Error(
        Status::kInvalidArgument,
        opt.lut + ": none of its " + std::to_string(rows.size()) +
            " rows is of a modelled op (conv2d, add, global_average_pooling2d, softmax): nothing "
            "to predict");
  std::string csv =
      csv_record({"line", "device", "op", "input_shape", "output_shape", "kernel", "stride",
                  "family", "measured_cycles", "predicted_cycles", "error_pct", "predicted_ms",
                  "measured_arena_bytes", "predicted_arena_bytes"});
  struct Summary {
    int n = 0;
    double abs_pct = 0, max_pct = 0;
    int arena_n = 0, arena_ok = 0;
  };
  std::map<std::string, Summary> by_op;
  int skipped = 0;
  for (const auto& r : rows) {
    if (!r.supported) {
      ++skipped;
      continue;
    }
    mcu::OpPrediction p = mcu::predict_measured(target, r);
    const double err = 100.0 * (static_cast<double>(p.kernel_cycles) / r.kernel_cycles - 1.0);
    csv += csv_record({text_of(r.line), r.device, r.op, r.input_shape, r.output_shape, r.kernel,
                       r.stride, mcu::cost_family_name(p.family), text_of(r.kernel_cycles),
                       text_of(p.kernel_cycles), text_of(err),
                       text_of(p.kernel_cycles / (clock * 1e3)), text_of(r.arena_bytes),
                       text_of(p.arena_bytes)});
    Summary& s = by_op[r.op];
    ++s.n;
    s.abs_pct += std::fabs(err);
    s.max_pct = std::max(s.max_pct, std::fabs(err));
    if (r.arena_bytes >= 0) {
      ++s.arena_n;
      const double d = std::fabs(static_cast<double>(p.arena_bytes - r.arena_bytes));
      s.arena_ok += (d <= 256 || d <= 0.02 * r.arena_bytes) ? 1 : 0;
    }
  }
  write_output_file(opt.out, csv);
  std::cout << "target " << target.name << ": " << rows.size() << " rows"
            << (skipped ? " (" + std::to_string(skipped) + " of unmodelled ops skipped)" : "")
            << "; predictions in " << opt.out << "\n";
  std::cout << std::left << std::setw(26) << "op" << std::right << std::setw(6) << "rows"
            << std::setw(12) << "MAPE_%" << std::setw(12) << "max_err_%" << std::setw(18)
            << "arena_within_tol"
            << "\n";
  for (const auto& [op, s] : by_op)
    std::cout << std::left << std::setw(26) << op << std::right << std::setw(6) << s.n
              << std::setw(12) << std::fixed << std::setprecision(2) << s.abs_pct / s.n
              << std::setw(12) << s.max_pct << std::setw(12) << s.arena_ok << "/" << s.arena_n
              << "\n";
}

void run_calibrate(const McuOptions& opt) {
  mcu::TargetProfile base = mcu::load_target(opt.base);
  std::vector<mcu::MeasuredOp> rows = mcu::read_measured_ops(opt.lut);
  std::string name = opt.name.empty() ? base.name + "-calibrated" : opt.name;
  mcu::TargetProfile p = mcu::calibrate(base, rows, name);
  write_output_file(opt.out, p.to_json());
  std::cout << "wrote " << opt.out << " (target '" << p.name << "'); CPI:";
  for (int i = 0; i < mcu::kNumCostFamilies; ++i)
    std::cout << " " << mcu::cost_family_name(static_cast<mcu::CostFamily>(i)) << "=" << p.cpi[i];
  std::cout << "; op overhead " << p.tflm_op_overhead_cycles << " cycles\n";
}

void run_lut(const McuOptions& opt) {
  mcu::TargetProfile target = mcu::load_target(opt.target);
  mcu::EstimateOptions eo = estimate_options(opt);
  NetworkConfig config = NetworkConfig::nb201(dataset_from_name(opt.dataset));
  std::string csv =
      csv_record({"target", "clock_mhz", "runtime", "stage", "block", "edge", "op", "deployed_op",
                  "input_shape", "output_shape", "macs", "cycles", "ms"});
  auto emit = [&](const Arch& arch, bool cells_only_first) {
    mcu::NetworkEstimate est = mcu::estimate_network(target, config, arch, eo);
    std::set<int> seen_blocks;
    for (const auto& l : est.layers) {
      const Origin& o = l.op.origin;
      int stage = o.block == BlockKind::kCell ? o.block_index / (config.cells_per_stage + 1) : -1;
      // For the op table of the space, one cell per stage is enough (cells of a stage agree).
      if (cells_only_first && o.block == BlockKind::kCell &&
          o.block_index % (config.cells_per_stage + 1) != 0)
        continue;
      csv += csv_record({target.name, text_of(est.clock_mhz), mcu::runtime_name(eo.runtime),
                         text_of(stage), origin_text(o), text_of(o.edge),
                         o.block == BlockKind::kCell && o.edge >= 0 ? op_name(o.op) : "",
                         mcu::deployed_op_name(l.op.kind), shape_text(l.op.input),
                         shape_text(l.op.output), text_of(l.cost.macs), text_of(l.cost.cycles),
                         text_of(l.ms)});
    }
  };
  if (!opt.space.empty() && !opt.arch.empty())
    throw Error(Status::kInvalidArgument,
                "mcu lut: give either ARCH or --space nb201, not both (ARCH '" + opt.arch +
                    "' would be ignored)");
  if (!opt.space.empty()) {
    if (opt.space != "nb201")
      throw Error(Status::kInvalidArgument, "unknown --space '" + opt.space + "' (nb201)");
    emit(Arch(), true);  // every op on every edge: each (stage, edge, op) once
  } else {
    if (opt.arch.empty()) throw Error(Status::kInvalidArgument, "give ARCH or --space nb201");
    auto table = load_table(opt.benchmark);
    emit(resolve_arch(opt.arch, table.get()), false);
  }
  if (opt.out.empty())
    std::cout << csv;
  else
    write_output_file(opt.out, csv);
}

void add_common(CLI::App* cmd, McuOptions& opt) {
  cmd->add_option("--target", opt.target,
                  "Target profile: stm32f746 | stm32f446re | stm32l552 | PROFILE.json")
      ->capture_default_str();
  cmd->add_option("--clock-mhz", opt.clock_mhz, "Override the target's clock (MHz)")
      ->check(positive_finite());
}

}  // namespace

void add_mcu_command(CLI::App& app) {
  auto opt = std::make_shared<McuOptions>();
  CLI::App* cmd = app.add_subcommand(
      "mcu",
      "Microcontroller cost model: latency, peak SRAM and flash of NB201's C=16, N=5 "
      "network deployed as int8 TFLite Micro + CMSIS-NN");
  cmd->add_option("ARCH", opt->arch,
                  "NB201 string, supernet state, 'supernet', or an index with --benchmark");
  add_common(cmd, *opt);
  cmd->add_option("--runtime", opt->runtime, "tflm (interpreter overhead per op) | codegen")
      ->capture_default_str();
  cmd->add_option("--dataset", opt->dataset, "cifar10 | cifar100 | imagenet16")
      ->capture_default_str();
  cmd->add_option("--benchmark", opt->benchmark, "NB201 table for an index ARCH");
  cmd->add_flag("--micronas-table", opt->micronas_table,
                "Report latency with zero-shot MicroNAS's constant per-op table");
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");

  auto predict = std::make_shared<McuOptions>();
  CLI::App* p =
      cmd->add_subcommand("predict",
                          "Predict kernel cycles and arena bytes for each row of a measured table "
                          "(format of measured_ops_cmsis_tflm.csv) and summarise the error per op");
  add_common(p, *predict);
  p->add_option("--lut", predict->lut, "Measured table (CSV)")->required();
  p->add_option("--out", predict->out, "Predictions (CSV)")->required();
  p->callback([predict]() { run_predict(*predict); });

  auto cal = std::make_shared<McuOptions>();
  CLI::App* c =
      cmd->add_subcommand("calibrate",
                          "Refit a target's CPIs and per-op overhead to your own measurements and "
                          "write a profile usable with --target PROFILE.json");
  c->add_option("--lut", cal->lut, "Measured table (CSV)")->required();
  c->add_option("--base", cal->base, "Profile to start from (name or .json)")->required();
  c->add_option("--out", cal->out, "Output profile (JSON)")->required();
  c->add_option("--name", cal->name, "Name of the new target (default BASE-calibrated)");
  c->callback([cal]() { run_calibrate(*cal); });

  auto lut = std::make_shared<McuOptions>();
  CLI::App* l = cmd->add_subcommand(
      "lut", "Export a per-op latency lookup table (CSV) for an architecture or the NB201 space");
  l->add_option("ARCH", lut->arch, "NB201 string or supernet state");
  add_common(l, *lut);
  l->add_option("--space", lut->space, "nb201: every (stage, edge, op) of the space");
  l->add_option("--runtime", lut->runtime, "tflm | codegen")->capture_default_str();
  l->add_option("--dataset", lut->dataset, "cifar10 | cifar100 | imagenet16")
      ->capture_default_str();
  l->add_option("--benchmark", lut->benchmark, "NB201 table for an index ARCH");
  l->add_option("--out", lut->out, "Output CSV (default: stdout)");
  l->callback([lut]() { run_lut(*lut); });

  cmd->callback([opt, cmd]() {
    if (!cmd->get_subcommands().empty()) return;
    if (opt->arch.empty())
      throw Error(Status::kInvalidArgument, "mcu: give ARCH or one of predict, calibrate, lut");
    run_estimate(*opt);
  });
}

}  // namespace micronas::cli
