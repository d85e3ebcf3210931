// `micronas evaluate`: how well a sweep's proxies rank cells by their benchmark accuracy (Kendall
// tau, Spearman rho, top-k accuracy), and the accuracy/latency Pareto front of the swept cells.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "export_files.hpp"
#include "micronas/benchmark_table.hpp"
#include "micronas/error.hpp"
#include "micronas/evaluation.hpp"
#include "micronas/graph.hpp"
#include "micronas/mcu.hpp"
#include "micronas/sweep.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct EvaluateCliOptions {
  std::string results, benchmark, svg, top_k = "10,50,100", accuracy = "cifar10_test";
  std::string hybrid = "0.25:0.25,0:0.5,0.5:0";
  bool json = false;
};

// Every proxy oriented so that a higher score predicts a better cell.
const char* kSignConvention =
    "scores are oriented so that higher = predicted better: ntk = -ntk_condition (a lower "
    "condition number is better), latency = -latency_ms, tenas = -(rank of ntk_condition "
    "ascending + rank of linear_regions descending) / 2 (average ranks for ties), "
    "hybrid(phi,lambda) = -(the MicroNAS weighted average of those two ranks and the ranks of "
    "flops_m and latency_ms ascending, weights (1-phi-lambda)/2, (1-phi-lambda)/2, phi, lambda); "
    "linear_regions, flops_m and params_m as they are";

struct Proxy {
  std::string name;
  std::vector<double> scores;
};

struct HybridWeights {
  double flops = 0, latency = 0;
};

std::string weight_text(double w) {
  std::ostringstream s;
  s << w;
  return s.str();
}

std::vector<Proxy> proxy_scores(const std::vector<SweepRow>& rows,
                                const std::vector<HybridWeights>& hybrids) {
  const std::size_t n = rows.size();
  std::vector<double> ntk(n), regions(n), flops(n), params(n), latency(n), negated_latency(n);
  for (std::size_t i = 0; i < n; ++i) {
    ntk[i] = rows[i].ntk_condition;
    regions[i] = rows[i].linear_regions;
    flops[i] = rows[i].flops_m;
    params[i] = rows[i].params_m;
    latency[i] = rows[i].latency_ms;
    negated_latency[i] = -rows[i].latency_ms;
  }
  std::vector<Proxy> proxies = {{"linear_regions", regions},
                                {"flops_m", flops},
                                {"params_m", params},
                                {"latency", negated_latency},
                                {"tenas", hybrid_rank_scores(ntk, regions, flops, latency, 0, 0)}};
  for (const HybridWeights& w : hybrids) {
    proxies.push_back({"hybrid(" + weight_text(w.flops) + "," + weight_text(w.latency) + ")",
                       hybrid_rank_scores(ntk, regions, flops, latency, w.flops, w.latency)});
  }
  for (double& v : ntk) v = -v;
  proxies.insert(proxies.begin(), {"ntk", ntk});
  return proxies;
}

// "PHI:LAMBDA,PHI:LAMBDA,..."; an empty text means none.
std::vector<HybridWeights> parse_hybrid(const std::string& text) {
  std::vector<HybridWeights> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const std::size_t colon = item.find(':');
    HybridWeights w;
    bool ok = colon != std::string::npos;
    try {
      std::size_t used_phi = 0, used_lambda = 0;
      const std::string phi = item.substr(0, colon), lambda = ok ? item.substr(colon + 1) : "";
      w.flops = ok ? std::stod(phi, &used_phi) : 0;
      w.latency = ok ? std::stod(lambda, &used_lambda) : 0;
      ok = ok && used_phi == phi.size() && used_lambda == lambda.size();
    } catch (const std::exception&) {
      ok = false;
    }
    ok = ok && w.flops >= 0 && w.latency >= 0 && w.flops + w.latency <= 1;
    if (!ok) {
      throw Error(Status::kInvalidArgument,
                  "--hybrid: '" + item +
                      "' is not PHI:LAMBDA with PHI, LAMBDA >= 0 and PHI + LAMBDA <= 1 (expected "
                      "e.g. 0.25:0.25,0:0.5)");
    }
    // The same weights twice would be the same row twice in the table, and one key in the JSON.
    for (const HybridWeights& seen : out)
      if (seen.flops == w.flops && seen.latency == w.latency)
        throw Error(Status::kInvalidArgument,
                    "--hybrid: '" + item + "' repeats weights given before");
    out.push_back(w);
  }
  return out;
}

std::vector<int> parse_top_k(const std::string& text) {
  std::vector<int> ks;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    int k = 0;
    try {
      k = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || k < 1)
      throw Error(Status::kInvalidArgument,
                  "--top-k: '" + item + "' is not a positive integer (expected e.g. 10,50,100)");
    ks.push_back(k);
  }
  if (ks.empty()) throw Error(Status::kInvalidArgument, "--top-k: no value given");
  return ks;
}

// JSON has no NaN: an undefined statistic is null.
nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

std::string cell_text(double v, int decimals, int width) {
  std::ostringstream s;
  if (std::isfinite(v))
    s << std::fixed << std::setprecision(decimals) << v;
  else
    s << "n/a";
  std::string t = s.str();
  return std::string(std::max(0, width - static_cast<int>(t.size())), ' ') + t;
}

// What `micronas sweep` recorded next to the results: the target (for the plot's axis) and how
// many cells the sweep planned (to say when the file holds fewer). Results from elsewhere have
// no sidecar; a sidecar that is there but malformed is an error like any malformed input.
struct SweepSidecar {
  std::string path;
  std::string target;
  std::int64_t cells_planned = -1;  // -1: not recorded
  // The target's whole profile and the dataset whose network the costs are of; null when not
  // recorded.
  nlohmann::json target_profile;
  std::string dataset;
};

SweepSidecar read_sweep_sidecar(const std::string& results) {
  const std::string path = results + ".json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const nlohmann::ordered_json j = read_sweep_sidecar_object(path);
  SweepSidecar s;
  s.path = path;
  if (j.contains("target") && j["target"].is_string()) s.target = j["target"];
  if (j.contains("target_profile") && j["target_profile"].is_object())
    s.target_profile = j["target_profile"];
  if (j.contains("dataset") && j["dataset"].is_string()) s.dataset = j["dataset"];
  if (j.contains("cells_planned") && j["cells_planned"].is_number_unsigned())
    s.cells_planned = j["cells_planned"].get<std::int64_t>();
  return s;
}

// The sidecar names the target on the Pareto front's axis; that is true only if the rows' costs
// are that target's. A results file replaced by another sweep's (its sidecar left behind) is
// refused rather than labelled with the wrong board.
void check_rows_match_target(const std::vector<SweepRow>& rows, const SweepSidecar& sidecar,
                             const std::string& results) {
  if (sidecar.target_profile.is_null() || sidecar.dataset.empty()) return;
  mcu::TargetProfile target;
  Dataset dataset;
  try {
    target = mcu::parse_target_json(sidecar.target_profile.dump(), sidecar.path);
    dataset = dataset_from_name(sidecar.dataset);
  } catch (const Error& e) {
    throw Error(Status::kIoError,
                sidecar.path + ": its target or dataset is malformed: " + e.what());
  }
  const mcu::Nb201CostTable costs(target, NetworkConfig::nb201(dataset));
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!sweep_row_costs_match(rows[i], costs))
      throw Error(Status::kIoError,
                  results + ": row " + std::to_string(i + 1) + " (cell " +
                      std::to_string(rows[i].cell_id) +
                      "): latency_ms, peak_sram_kb or flash_kb are not the costs on " +
                      target.name + " that " + sidecar.path +
                      " records: the sidecar belongs to another sweep (move it away to evaluate "
                      "the results without a target)");
}

void run_evaluate(const EvaluateCliOptions& cli) {
  const std::vector<int> ks = parse_top_k(cli.top_k);
  const std::vector<HybridWeights> hybrids = parse_hybrid(cli.hybrid);
  if (!cli.svg.empty()) check_new_output("--svg", cli.svg);
  const std::vector<SweepRow> rows = read_sweep_csv(cli.results);
  if (rows.empty()) throw Error(Status::kInvalidArgument, cli.results + ": no result rows");
  const SweepSidecar sidecar = read_sweep_sidecar(cli.results);
  check_rows_match_target(rows, sidecar, cli.results);
  // Fewer rows than planned: a sweep that was interrupted, evaluated as what it is.
  const bool incomplete = sidecar.cells_planned > static_cast<std::int64_t>(rows.size());
  const BenchmarkTable table = BenchmarkTable::load(cli.benchmark);

  std::vector<std::string> accuracy_columns;
  for (const std::string& c : table.columns())
    if (c.size() > 5 && c.compare(c.size() - 5, 5, "_test") == 0) accuracy_columns.push_back(c);
  const auto& all_columns = table.columns();
  if (std::find(all_columns.begin(), all_columns.end(), cli.accuracy) == all_columns.end()) {
    std::string known;
    for (const std::string& c : all_columns) known += (known.empty() ? "" : ", ") + c;
    throw Error(Status::kInvalidArgument, "--accuracy: '" + cli.accuracy + "' is not a column of " +
                                              cli.benchmark + " (columns: " + known + ")");
  }
  if (std::find(accuracy_columns.begin(), accuracy_columns.end(), cli.accuracy) ==
      accuracy_columns.end())
    accuracy_columns.push_back(cli.accuracy);

  const std::size_t n = rows.size();
  std::vector<std::size_t> table_rows(n);
  int invalid_ntk = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto found = table.find(rows[i].arch);
    if (!found)
      throw Error(Status::kInvalidArgument, cli.results + ": row " + std::to_string(i + 1) +
                                                " (cell " + std::to_string(rows[i].cell_id) + ", " +
                                                rows[i].arch.to_string() +
                                                ") is not in the benchmark table " + cli.benchmark);
    table_rows[i] = *found;
    invalid_ntk += rows[i].ntk_valid ? 0 : 1;
  }
  auto accuracies = [&](const std::string& column) {
    std::vector<double> acc(n);
    for (std::size_t i = 0; i < n; ++i) acc[i] = table.value(table_rows[i], column);
    return acc;
  };
  const std::vector<Proxy> proxies = proxy_scores(rows, hybrids);

  nlohmann::ordered_json out;
  out["results"] = cli.results;
  out["benchmark"] = cli.benchmark;
  out["n"] = n;
  if (sidecar.cells_planned >= 0) out["cells_planned"] = sidecar.cells_planned;
  out["complete"] = !incomplete;
  out["ntk_invalid"] = invalid_ntk;
  out["sign_convention"] = kSignConvention;
  // Every top-level key exists before references to its values are taken: the object keeps its
  // members in one vector, which an insertion may move.
  for (const char* key : {"correlations", "top_k", "pareto"})
    out[key] = nlohmann::ordered_json::object();

  // Rank correlations.
  nlohmann::ordered_json& correlations = out["correlations"];
  for (const std::string& column : accuracy_columns) {
    const std::vector<double> acc = accuracies(column);
    for (const Proxy& p : proxies)
      correlations[column][p.name] = {{"kendall_tau", number(kendall_tau(p.scores, acc))},
                                      {"spearman_rho", number(spearman_rho(p.scores, acc))}};
  }

  // Top-k: the cells a proxy ranks first; ties broken by cell id so the choice is reproducible.
  const std::vector<double> acc = accuracies(cli.accuracy);
  std::vector<std::size_t> with_accuracy;
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isnan(acc[i])) with_accuracy.push_back(i);
  double best = kNaN, mean_all = kNaN;
  if (!with_accuracy.empty()) {
    best = -std::numeric_limits<double>::infinity();
    mean_all = 0;
    for (std::size_t i : with_accuracy) {
      best = std::max(best, acc[i]);
      mean_all += acc[i];
    }
    mean_all /= static_cast<double>(with_accuracy.size());
  }
  nlohmann::ordered_json& top = out["top_k"];
  top["accuracy"] = cli.accuracy;
  top["best"] = number(best);
  top["mean_all"] = number(mean_all);
  top["evaluated"] = with_accuracy.size();
  top["without_accuracy"] = n - with_accuracy.size();
  top["k"] = nlohmann::ordered_json::array();
  std::vector<std::vector<std::size_t>> orders;
  for (const Proxy& p : proxies) {
    std::vector<std::size_t> order = with_accuracy;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const double sa = p.scores[a], sb = p.scores[b];
      if (std::isnan(sa) != std::isnan(sb)) return std::isnan(sb);  // NaN scores last
      if (sa != sb && !std::isnan(sa)) return sa > sb;
      return rows[a].cell_id < rows[b].cell_id;
    });
    orders.push_back(order);
  }
  for (int k : ks) {
    nlohmann::ordered_json entry;
    const std::size_t used =
        std::min<std::size_t>(static_cast<std::size_t>(k), with_accuracy.size());
    entry["k"] = k;
    entry["cells"] = used;
    for (std::size_t p = 0; p < proxies.size(); ++p) {
      double sum = 0, max = -std::numeric_limits<double>::infinity();
      for (std::size_t r = 0; r < used; ++r) {
        sum += acc[orders[p][r]];
        max = std::max(max, acc[orders[p][r]]);
      }
      entry[proxies[p].name] = {{"mean", number(used ? sum / static_cast<double>(used) : kNaN)},
                                {"max", number(used ? max : kNaN)}};
    }
    top["k"].push_back(entry);
  }

  // Pareto front of accuracy against modeled latency.
  std::vector<ParetoPoint> points(n);
  for (std::size_t i = 0; i < n; ++i) points[i] = {acc[i], rows[i].latency_ms};
  const std::vector<std::size_t> front = pareto_front(points);
  const std::string& target = sidecar.target;
  nlohmann::ordered_json& pareto = out["pareto"];
  pareto["accuracy"] = cli.accuracy;
  pareto["target"] =
      target.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(target);
  pareto["front"] = nlohmann::ordered_json::array();
  for (std::size_t i : front)
    pareto["front"].push_back({{"arch", rows[i].arch.to_string()},
                               {"index", table.index(table_rows[i])},
                               {"accuracy", acc[i]},
                               {"latency_ms", rows[i].latency_ms},
                               {"peak_sram_kb", rows[i].peak_sram_kb},
                               {"flash_kb", rows[i].flash_kb}});
  if (!cli.svg.empty()) {
    ParetoPlotOptions plot;
    plot.title = "Pareto front: " + cli.accuracy + " vs modeled latency (" + std::to_string(n) +
                 " cells, " + std::to_string(front.size()) + " on the front)";
    plot.x_label =
        "modeled latency (ms) on " + (target.empty() ? std::string("the target") : target);
    plot.y_label = cli.accuracy + " accuracy (%)";
    const std::string svg = pareto_svg(points, front, plot);
    write_option_file("--svg", cli.svg, svg, Publish::kCreateNew);
    pareto["svg"] = cli.svg;
  }

  if (cli.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "evaluated " << n << " cells of " << cli.results << " against " << cli.benchmark
            << " (ntk_valid=0 in " << invalid_ntk << ")\n";
  if (incomplete)
    std::cout << "incomplete: " << cli.results << " holds " << n << " of the "
              << sidecar.cells_planned
              << " cells its sweep planned (the sweep was interrupted; `micronas sweep ... "
                 "--resume` scores the rest)\n";
  // Cells the table gives no accuracy for are left out of what needs one; say how many.
  if (with_accuracy.size() < n)
    std::cout << n - with_accuracy.size() << " of the " << n << " cells have no " << cli.accuracy
              << " value in the table: they are left out of the top-k and the Pareto front, and "
                 "each correlation uses the cells with a value\n";
  std::cout << kSignConvention << "\n\n";
  std::cout << "rank correlation with benchmark accuracy: Kendall tau-b / Spearman rho\n"
            << std::left << std::setw(20) << "proxy" << std::right;
  for (const std::string& column : accuracy_columns) std::cout << std::setw(22) << column;
  std::cout << "\n";
  for (const Proxy& p : proxies) {
    std::cout << std::left << std::setw(20) << p.name << std::right;
    for (const std::string& column : accuracy_columns) {
      const auto& c = correlations[column][p.name];
      auto value = [](const nlohmann::ordered_json& v) {
        return v.is_null() ? kNaN : v.get<double>();
      };
      std::cout << cell_text(value(c["kendall_tau"]), 3, 12) << " /"
                << cell_text(value(c["spearman_rho"]), 3, 7);
    }
    std::cout << "\n";
  }

  std::cout << "\ntop-k by proxy: mean / max " << cli.accuracy << " of the k best-scored cells "
            << "(all " << with_accuracy.size() << " cells: best " << cell_text(best, 2, 0)
            << ", mean " << cell_text(mean_all, 2, 0) << ")\n"
            << std::left << std::setw(20) << "proxy" << std::right;
  for (const auto& entry : top["k"])
    std::cout << std::setw(18) << ("k=" + std::to_string(entry["cells"].get<std::size_t>()));
  std::cout << "\n";
  for (const Proxy& p : proxies) {
    std::cout << std::left << std::setw(20) << p.name << std::right;
    for (const auto& entry : top["k"]) {
      auto value = [](const nlohmann::ordered_json& v) {
        return v.is_null() ? kNaN : v.get<double>();
      };
      std::cout << cell_text(value(entry[p.name]["mean"]), 2, 10) << " /"
                << cell_text(value(entry[p.name]["max"]), 2, 6);
    }
    std::cout << "\n";
  }

  std::cout << "\nPareto front: " << cli.accuracy << " (maximised) vs modeled latency_ms"
            << (target.empty() ? "" : " on " + target) << " (minimised), " << front.size()
            << " cells\n"
            << std::setw(6) << "index" << std::setw(10) << "accuracy" << std::setw(12)
            << "latency_ms" << std::setw(14) << "peak_sram_kb" << std::setw(10) << "flash_kb"
            << "  arch\n";
  for (std::size_t i : front)
    std::cout << std::setw(6) << table.index(table_rows[i]) << cell_text(acc[i], 2, 10)
              << cell_text(rows[i].latency_ms, 3, 12) << cell_text(rows[i].peak_sram_kb, 1, 14)
              << cell_text(rows[i].flash_kb, 1, 10) << "  " << rows[i].arch.to_string() << "\n";
  if (!cli.svg.empty()) std::cout << "\nwrote " << cli.svg << "\n";
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto opt = std::make_shared<EvaluateCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate",
      "Rank correlations (Kendall tau, Spearman rho) and top-k accuracy of a sweep's proxies "
      "against a benchmark, and the accuracy/latency Pareto front");
  cmd->add_option("--results", opt->results, "Results CSV written by `micronas sweep`")->required();
  cmd->add_option("--benchmark", opt->benchmark, "NB201 table (e.g. nb201.csv)")->required();
  cmd->add_option("--accuracy", opt->accuracy, "Benchmark column for top-k and the Pareto front")
      ->capture_default_str();
  cmd->add_option("--top-k", opt->top_k, "Comma-separated k values")->capture_default_str();
  cmd->add_option("--hybrid", opt->hybrid,
                  "MicroNAS hybrid rank combinations to evaluate, PHI:LAMBDA,... (FLOPs and "
                  "latency weights; empty for none)")
      ->capture_default_str();
  cmd->add_option("--svg", opt->svg,
                  "Write the Pareto plot to this new SVG file (never overwritten)")
      ->check(output_path());
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->callback([opt]() { run_evaluate(*opt); });
}

}  // namespace micronas::cli
