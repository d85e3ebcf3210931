// `micronas merge`: the results files of a sharded sweep (`sweep --shard I/N`, or one process of
// a Slurm array or MPI job each) joined into the file a one-process sweep writes.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/arch.hpp"
#include "micronas/error.hpp"
#include "micronas/sweep.hpp"
#include "micronas/sweep_shard.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

struct MergeCliOptions {
  std::vector<std::string> shards;
  std::string out;
};

nlohmann::ordered_json read_sidecar(const std::string& results) {
  const std::string path = results + ".json";
  nlohmann::ordered_json j = read_sweep_sidecar_object(path);
  if (!j.contains("shard") || !j.contains("cells"))
    throw Error(Status::kIoError,
                path + ": not the sidecar of a sweep shard (no shard and cells fields)");
  bool cell_ids = j["cells"].is_array();
  for (const auto& id : j["cells"])
    cell_ids = cell_ids && id.is_number_integer() && id.get<std::int64_t>() >= 0 &&
               id.get<std::int64_t>() < kNumCells;
  if (!j["shard"].is_string() || !cell_ids)
    throw Error(Status::kIoError, path +
                                      ": not the sidecar of a sweep shard (shard must be text "
                                      "such as \"1/4\", cells a list of cell ids 0..15624)");
  return j;
}

void run_merge(const MergeCliOptions& cli) {
  std::vector<SweepShardFile> files;
  nlohmann::ordered_json common;
  std::vector<Arch> cells;
  for (const std::string& path : cli.shards) {
    nlohmann::ordered_json options = read_sidecar(path);
    SweepShardFile f{path, Shard::parse(options["shard"].get<std::string>()), {}};
    options.erase("shard");
    options.erase("cells_planned");  // each shard's own part of the list
    if (files.empty()) {
      common = options;
      for (const auto& id : options["cells"]) cells.push_back(Arch::from_cell_id(id.get<int>()));
    } else {
      for (const auto& [key, value] : common.items())
        if (options.value(key, nlohmann::ordered_json()) != value)
          throw Error(
              Status::kInvalidArgument,
              path + " was run with other options than " + files.front().path + " (" + key +
                  (key == "cells"
                       ? " differ"
                       : ": " + value.dump() + " there, " +
                             options.value(key, nlohmann::ordered_json()).dump() + " here") +
                  "); only shards of one sweep merge");
    }
    f.rows = read_sweep_csv(path);
    files.push_back(std::move(f));
  }
  const int count = files.front().shard.count;
  const std::vector<SweepRow> rows = merge_sweep_shards(cells, count, files);

  common.erase("cells");
  common["cells_planned"] = cells.size();
  std::string text = sweep_header_line() + "\n";
  for (const SweepRow& row : rows) text += format_sweep_row(row) + "\n";
  // Both are written whole before either takes its name; the results file comes last, so that
  // its presence means a finished merge.
  StagedOutput sidecar(cli.out + ".json", Publish::kCreateNew);
  StagedOutput out(cli.out, Publish::kCreateNew);
  sidecar.write(common.dump(2) + "\n");
  out.write(text);
  sidecar.publish();
  try {
    out.publish();
  } catch (...) {
    ::unlink(sidecar.path().c_str());
    throw;
  }
  std::cout << "merge: " << rows.size() << " rows of " << count << " shards into " << cli.out
            << "\n";
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto opt = std::make_shared<MergeCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Join the results files of a sharded sweep into one (every cell exactly once, same "
      "options and version; missing cells are listed with their shard)");
  cmd->add_option("SHARDS", opt->shards, "Every shard's results file (OUT.shard-I-of-N.csv)")
      ->required();
  cmd->add_option("--out", opt->out, "Merged results CSV to create (never overwritten)")
      ->required();
  cmd->callback([opt] { run_merge(*opt); });
}

}  // namespace micronas::cli
