// The C ABI (include/micronas/micronas.h) over the C++ library. Every entry point runs its body
// through `guarded`, which turns every exception into a status and the per-thread last error, so
// that no C++ exception crosses into C.
#include <atomic>
#include <cstring>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "micronas/benchmark_table.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/micronas.h"
#include "micronas/npy.hpp"
#include "micronas/pruning_search.hpp"
#include "micronas/random_search.hpp"
#include "micronas/sweep.hpp"
#include "micronas/threads.hpp"
#include "options_json.hpp"
#include "runtime/proxy_evaluator.hpp"
#include "search/search_json.hpp"

struct micronas_context {
  micronas::ComputeContext context;
  std::atomic<bool> cancel{false};
};

struct micronas_benchmark {
  micronas::BenchmarkTable table;
};

namespace micronas::c_api {
namespace {

thread_local std::string last_error;

micronas_status to_c(Status s) {
  switch (s) {
    case Status::kOk: return MICRONAS_OK;
    case Status::kInvalidArgument: return MICRONAS_INVALID_ARGUMENT;
    case Status::kParseError: return MICRONAS_PARSE_ERROR;
    case Status::kIoError: return MICRONAS_IO_ERROR;
    case Status::kOutOfMemory: return MICRONAS_OUT_OF_MEMORY;
    case Status::kNumericalError: return MICRONAS_NUMERICAL_ERROR;
    case Status::kUnsupported: return MICRONAS_UNSUPPORTED;
    case Status::kInfeasible: return MICRONAS_INFEASIBLE;
    case Status::kCancelled: return MICRONAS_CANCELLED;
    case Status::kInternal: return MICRONAS_INTERNAL;
  }
  return MICRONAS_INTERNAL;
}

// An error message of bounded length: messages quote the caller's text (an architecture string,
// a path), which may be megabytes long. Cut at a UTF-8 character boundary.
std::string bounded(const char* message) {
  constexpr std::size_t kMax = 2000;
  std::string text = message;
  if (text.size() <= kMax) return text;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "... (" + std::to_string(text.size()) + " bytes in all)";
}

template <class Body>
micronas_status guarded(Body&& body) {
  last_error.clear();
  try {
    body();
    return MICRONAS_OK;
  } catch (const Error& e) {
    last_error = bounded(e.what());
    return to_c(e.status());
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return MICRONAS_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = bounded(e.what());
    return MICRONAS_INTERNAL;
  } catch (...) {
    last_error = "unknown error";
    return MICRONAS_INTERNAL;
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw Error(Status::kInvalidArgument, what);
}

char* copy_out(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

void write_json(const nlohmann::ordered_json& j, char** out) { *out = copy_out(j.dump()); }

// The context of a call: its cancel request is cleared when the call starts.
ComputeContext begin_call(micronas_context* context) {
  require(context != nullptr, "context is NULL");
  context->cancel.store(false);
  ComputeContext c = context->context;
  c.cancel = &context->cancel;
  return c;
}

// A progress callback that cancels the call when it returns non-zero.
struct Progress {
  micronas_progress_fn fn;
  void* user;
  void operator()(std::int64_t done, std::int64_t total) const {
    if (fn && fn(done, total, user) != 0)
      throw Error(Status::kCancelled, "cancelled by the progress callback");
  }
};

// Copies the caller's parameters into `net` by name; every parameter must be given once, and
// with the network's shape where the caller stated its shape (a transposed weight has the right
// size but the wrong values).
void set_named_parameters(ProxyNetwork& net, const micronas_tensor* params, int count,
                          const std::map<std::string, std::vector<std::int64_t>>& shapes) {
  require(count >= 0, "num_params must be >= 0");
  require(count == 0 || params != nullptr, "params is NULL");
  const Graph& g = net.graph();
  std::vector<float> values(static_cast<std::size_t>(g.num_params));
  std::vector<bool> given(g.params.size(), false);
  for (int i = 0; i < count; ++i) {
    require(params[i].name != nullptr && params[i].data != nullptr,
            "a parameter has a NULL name or data");
    const std::string name = params[i].name;
    std::size_t p = 0;
    while (p < g.params.size() && g.params[p].name != name) ++p;
    if (p == g.params.size())
      throw Error(Status::kInvalidArgument, "the network has no parameter '" + name + "'");
    if (given[p]) throw Error(Status::kInvalidArgument, "parameter '" + name + "' given twice");
    if (params[i].size != g.params[p].size)
      throw Error(Status::kInvalidArgument,
                  "parameter '" + name + "' has " + std::to_string(params[i].size) +
                      " values, the network needs " + std::to_string(g.params[p].size));
    if (auto s = shapes.find(name); s != shapes.end()) {
      const std::vector<std::int64_t> want(g.params[p].shape.begin(), g.params[p].shape.end());
      if (s->second != want)
        throw Error(Status::kInvalidArgument, "parameter '" + name + "' has shape " +
                                                  npy_shape_text(s->second) +
                                                  ", the network needs " + npy_shape_text(want));
    }
    std::memcpy(values.data() + g.params[p].offset, params[i].data,
                static_cast<std::size_t>(params[i].size) * sizeof(float));
    given[p] = true;
  }
  for (std::size_t p = 0; p < g.params.size(); ++p)
    if (!given[p])
      throw Error(Status::kInvalidArgument, "parameter '" + g.params[p].name + "' is missing");
  for (const auto& [name, dims] : shapes) {
    bool named = false;
    for (int i = 0; i < count && !named; ++i) named = name == params[i].name;
    if (!named)
      throw Error(Status::kInvalidArgument,
                  "param_shapes names '" + name + "', which is not among the parameters given");
  }
  net.set_parameters(std::move(values));
}

// The caller's inputs as a batch of the network's input shape.
ImageBatch caller_batch(const Graph& g, const float* inputs, int n, int c, int h, int w) {
  require(inputs != nullptr, "inputs is NULL");
  const Shape& want = g.values[0];
  if (n < 2 || c != want.c || h != want.h || w != want.w)
    throw Error(Status::kInvalidArgument,
                "inputs are [" + std::to_string(n) + ", " + std::to_string(c) + ", " +
                    std::to_string(h) + ", " + std::to_string(w) +
                    "], the network needs [N >= 2, " + std::to_string(want.c) + ", " +
                    std::to_string(want.h) + ", " + std::to_string(want.w) + "]");
  ImageBatch b;
  b.n = n;
  b.c = c;
  b.h = h;
  b.w = w;
  b.data.assign(inputs, inputs + static_cast<std::size_t>(n) * c * h * w);
  return b;
}

// A network of `arch` with the caller's parameters, or drawn from the options' seed and init
// exactly as `micronas score --seed` draws them for its first repeat.
ProxyNetwork caller_network(ProxyEvaluator& evaluator, const NetworkConfig& config,
                            const Arch& arch, const ScoreOptions& o, bool ntk,
                            const micronas_tensor* params, int num_params,
                            const std::map<std::string, std::vector<std::int64_t>>& shapes) {
  ProxyNetwork net = evaluator.network(config, arch);
  if (num_params > 0 || params) {
    set_named_parameters(net, params, num_params, shapes);
  } else {
    require(shapes.empty(), "param_shapes is given without parameters");
    if (o.init == InitScheme::kReleased)
      net.initialize(InitMode::kPyTorchDefault, score_init_seed(o.seed, ntk, -1));
    else
      net.initialize(ntk ? InitMode::kKaimingFanOut : InitMode::kKaimingFanIn,
                     score_init_seed(o.seed, ntk, 0));
  }
  return net;
}

}  // namespace
}  // namespace micronas::c_api

using namespace micronas;
using namespace micronas::c_api;

extern "C" {

const char* micronas_version(void) { return MICRONAS_VERSION_STRING; }

const char* micronas_last_error(void) { return last_error.c_str(); }

const char* micronas_status_name(micronas_status status) {
  switch (status) {
    case MICRONAS_OK: return "ok";
    case MICRONAS_CANCELLED: return "cancelled";
    default: break;
  }
  if (status < MICRONAS_OK || status > MICRONAS_INTERNAL) return "unknown status";
  static const Status order[] = {
      Status::kOk,          Status::kInvalidArgument, Status::kParseError,  Status::kIoError,
      Status::kOutOfMemory, Status::kNumericalError,  Status::kUnsupported, Status::kInfeasible,
      Status::kCancelled,   Status::kInternal};
  return micronas::status_name(order[status]);
}

void micronas_free(char* text) { std::free(text); }

micronas_status micronas_context_create(const char* backend, int threads, int device,
                                        micronas_context** out) {
  return guarded([&] {
    require(out != nullptr, "out is NULL");
    *out = nullptr;
    ComputeContext c;
    c.backend = backend_from_name(backend ? backend : "cpu");
    c.threads = threads;
    c.device = device;
    auto ctx = std::make_unique<micronas_context>();
    ctx->context = c.resolved();
    *out = ctx.release();
  });
}

void micronas_context_destroy(micronas_context* context) { delete context; }

micronas_status micronas_context_describe(const micronas_context* context, char** out) {
  return guarded([&] {
    require(context != nullptr && out != nullptr, "context or out is NULL");
    *out = copy_out(context->context.describe());
  });
}

void micronas_cancel(micronas_context* context) {
  if (context) context->cancel.store(true);
}

micronas_status micronas_devices(char** json_out) {
  return guarded([&] {
    require(json_out != nullptr, "json_out is NULL");
    write_json(devices_json(), json_out);
  });
}

micronas_status micronas_arch_canonical(const char* text, char** out) {
  return guarded([&] {
    require(text != nullptr && out != nullptr, "text or out is NULL");
    *out = copy_out(Arch::parse(text).to_string());
  });
}

micronas_status micronas_benchmark_open(const char* path, micronas_benchmark** out) {
  return guarded([&] {
    require(path != nullptr && out != nullptr, "path or out is NULL");
    *out = nullptr;
    *out = new micronas_benchmark{BenchmarkTable::load(path)};
  });
}

void micronas_benchmark_close(micronas_benchmark* table) { delete table; }

micronas_status micronas_benchmark_index(const micronas_benchmark* table, const char* arch,
                                         int64_t* index) {
  return guarded([&] {
    require(table != nullptr && arch != nullptr && index != nullptr, "an argument is NULL");
    const Arch a = Arch::parse(arch);
    auto row = table->table.find(a);
    if (!row)
      throw Error(Status::kInvalidArgument,
                  "'" + a.to_string() + "' is not in " + table->table.path());
    *index = table->table.index(*row);
  });
}

micronas_status micronas_benchmark_arch(const micronas_benchmark* table, int64_t index,
                                        char** arch_out) {
  return guarded([&] {
    require(table != nullptr && arch_out != nullptr, "an argument is NULL");
    require(index >= 0 && index <= INT32_MAX, "index out of range");
    auto row = table->table.find_index(static_cast<int>(index));
    if (!row)
      throw Error(Status::kInvalidArgument,
                  "index " + std::to_string(index) + " is not in " + table->table.path());
    *arch_out = copy_out(table->table.arch(*row).to_string());
  });
}

micronas_status micronas_benchmark_row(const micronas_benchmark* table, const char* arch,
                                       char** json_out) {
  return guarded([&] {
    require(table != nullptr && arch != nullptr && json_out != nullptr, "an argument is NULL");
    const Arch a = Arch::parse(arch);
    auto row = table->table.find(a);
    if (!row)
      throw Error(Status::kInvalidArgument,
                  "'" + a.to_string() + "' is not in " + table->table.path());
    nlohmann::ordered_json out;
    out["index"] = table->table.index(*row);
    for (const std::string& column : table->table.columns())
      out[column] = json_number(table->table.value(*row, column));
    write_json(out, json_out);
  });
}

micronas_status micronas_score(micronas_context* context, const char* arch,
                               const char* options_json, char** result_json) {
  return guarded([&] {
    require(arch != nullptr && result_json != nullptr, "arch or result_json is NULL");
    OptionsJson options(options_json);
    ScoreOptions o = options.score();
    options.require_all_used();
    o.context = begin_call(context);
    write_json(score_json(score_architecture(Arch::parse(arch), o), o), result_json);
  });
}

micronas_status micronas_ntk_condition(micronas_context* context, const char* arch,
                                       const char* options_json, const float* inputs, int n, int c,
                                       int h, int w, const micronas_tensor* params, int num_params,
                                       char** result_json) {
  return guarded([&] {
    require(arch != nullptr && result_json != nullptr, "arch or result_json is NULL");
    OptionsJson options(options_json);
    ScoreOptions o = options.network();
    const auto shapes = options.parameter_shapes();
    options.require_all_used();
    o.context = begin_call(context);
    ProxyEvaluator evaluator(o.context);
    ProxyNetwork net = caller_network(evaluator, NetworkConfig::ntk(o.dataset), Arch::parse(arch),
                                      o, /*ntk=*/true, params, num_params, shapes);
    const ImageBatch batch = caller_batch(net.graph(), inputs, n, c, h, w);
    const NtkCondition k = evaluator.ntk_condition(net, batch);
    nlohmann::ordered_json out;
    out["ntk_condition"] = json_number(k.condition);
    out["ntk_condition_tenas"] = json_number(k.tenas_condition);
    out["ntk_valid"] = k.valid;
    if (!k.valid) out["ntk_invalid_reason"] = k.invalid_reason;
    out["lambda_min"] = json_number(k.lambda_min);
    out["lambda_max"] = json_number(k.lambda_max);
    nlohmann::ordered_json eig = nlohmann::ordered_json::array();
    for (double v : k.eigenvalues) eig.push_back(json_number(v));
    out["eigenvalues"] = eig;
    std::int64_t columns = 0;
    for (const Parameter& p : net.graph().params)
      if (p.is_weight()) columns += p.size;
    out["jacobian_columns"] = columns;
    write_json(out, result_json);
  });
}

micronas_status micronas_linear_regions(micronas_context* context, const char* arch,
                                        const char* options_json, const float* inputs, int n, int c,
                                        int h, int w, const micronas_tensor* params, int num_params,
                                        int64_t* count) {
  return guarded([&] {
    require(arch != nullptr && count != nullptr, "arch or count is NULL");
    OptionsJson options(options_json);
    ScoreOptions o = options.network();
    const auto shapes = options.parameter_shapes();
    options.require_all_used();
    o.context = begin_call(context);
    ProxyEvaluator evaluator(o.context);
    ProxyNetwork net =
        caller_network(evaluator, NetworkConfig::linear_regions(o.dataset), Arch::parse(arch), o,
                       /*ntk=*/false, params, num_params, shapes);
    *count = evaluator.linear_regions(net, {caller_batch(net.graph(), inputs, n, c, h, w)});
  });
}

micronas_status micronas_search(micronas_context* context, const char* options_json,
                                micronas_progress_fn progress, void* user, char** result_json) {
  return guarded([&] {
    require(result_json != nullptr, "result_json is NULL");
    OptionsJson options(options_json);
    SearchOptions o = options.search();
    options.require_all_used();
    o.proxies.context = begin_call(context);
    const Progress report{progress, user};
    o.progress = [&report](int done, int total, int) { report(done, total); };
    const SearchResult r = prune_search(o);
    nlohmann::ordered_json out;
    out["arch"] = r.arch.to_string();
    out["flops_m"] = r.size.flops_m();
    out["params_m"] = r.size.params_m();
    out["mcu"] = cost_json(r.cost, o.target, o.mcu);
    nlohmann::ordered_json rounds = nlohmann::ordered_json::array();
    for (const SearchRound& round : r.rounds) rounds.push_back(round_to_json(round));
    out["rounds"] = rounds;
    out["ntk_evaluations"] = r.ntk_evaluations;
    out["lr_evaluations"] = r.lr_evaluations;
    out["backend"] = o.proxies.context.describe();
    out["seconds"] = r.seconds;
    write_json(out, result_json);
  });
}

micronas_status micronas_random_search(micronas_context* context, const char* options_json,
                                       micronas_progress_fn progress, void* user,
                                       char** result_json) {
  return guarded([&] {
    require(result_json != nullptr, "result_json is NULL");
    OptionsJson options(options_json);
    RandomSearchOptions o = options.random_search();
    options.require_all_used();
    o.proxies.context = begin_call(context);
    const Progress report{progress, user};
    o.progress = [&report](int done, int total) { report(done, total); };
    const RandomSearchResult r = random_search(o);
    nlohmann::ordered_json out;
    out["arch"] = r.arch.to_string();
    out["feasible_cells"] = r.feasible_cells;
    nlohmann::ordered_json cells = nlohmann::ordered_json::array();
    for (const RandomSearchCell& cell : r.cells)
      cells.push_back(random_search_cell_json(cell, o.target, o.mcu));
    out["cells"] = cells;
    out["backend"] = o.proxies.context.describe();
    out["seconds"] = r.seconds;
    write_json(out, result_json);
  });
}

micronas_status micronas_sweep(micronas_context* context, const char* cells_json,
                               const char* options_json, micronas_progress_fn progress, void* user,
                               char** result_json) {
  return guarded([&] {
    require(cells_json != nullptr && result_json != nullptr, "cells_json or result_json is NULL");
    nlohmann::json list;
    try {
      list = nlohmann::json::parse(cells_json);
    } catch (const nlohmann::json::exception& e) {
      throw Error(Status::kParseError, std::string("cells are not valid JSON: ") + e.what());
    }
    require(list.is_array(), "cells must be a JSON array of architecture strings");
    std::vector<Arch> cells;
    for (const auto& item : list) {
      require(item.is_string(), "cells must be a JSON array of architecture strings");
      cells.push_back(Arch::parse(item.get<std::string>()));
    }
    OptionsJson options(options_json);
    ScoreOptions o = options.score();
    const mcu::Nb201CostTable costs(mcu::load_target(options.target()),
                                    NetworkConfig::nb201(o.dataset));
    options.require_all_used();
    o.context = begin_call(context);
    const Progress report{progress, user};
    SweepScorer scorer(o, costs);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const SweepRow row = scorer.score(cells[i]);
      rows.push_back({row.cell_id, row.arch.to_string(), json_number(row.ntk_condition),
                      row.ntk_valid, row.linear_regions, row.flops_m, row.params_m, row.latency_ms,
                      row.peak_sram_kb, row.flash_kb, row.ntk_seconds, row.lr_seconds});
      report(static_cast<std::int64_t>(i + 1), static_cast<std::int64_t>(cells.size()));
    }
    nlohmann::ordered_json out;
    out["columns"] = {"cell_id",        "arch",     "ntk_condition", "ntk_valid",
                      "linear_regions", "flops_m",  "params_m",      "latency_ms",
                      "peak_sram_kb",   "flash_kb", "ntk_seconds",   "lr_seconds"};
    out["rows"] = rows;
    write_json(out, result_json);
  });
}

micronas_status micronas_mcu_estimate(const char* arch, const char* options_json,
                                      char** result_json) {
  return guarded([&] {
    require(arch != nullptr && result_json != nullptr, "arch or result_json is NULL");
    OptionsJson options(options_json);
    const Dataset dataset = options.dataset();
    const mcu::TargetProfile target = mcu::load_target(options.target());
    const mcu::EstimateOptions eo = options.estimate();
    options.require_all_used();
    const Arch a = Arch::parse(arch);
    const mcu::NetworkEstimate est =
        mcu::estimate_network(target, NetworkConfig::nb201(dataset), a, eo);
    const nlohmann::ordered_json out = network_totals_json(a, dataset, target, eo, est);
    write_json(out, result_json);
  });
}

}  // extern "C"
