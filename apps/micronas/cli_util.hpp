// Helpers shared by the verbs: resolving an ARCH argument, optional benchmark tables.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "micronas/arch.hpp"
#include "micronas/benchmark_table.hpp"

namespace micronas::cli {

// ARCH is an NB201 string, a supernet state, `supernet`/`supernet-none`, or, with a benchmark
// table, an official NB201 index.
Arch resolve_arch(const std::string& text, const BenchmarkTable* table);

// Loads a table when a path is given, else returns null.
std::unique_ptr<BenchmarkTable> load_table(const std::string& path);

}  // namespace micronas::cli

#include <CLI/CLI.hpp>

#include "micronas/error.hpp"
#include "micronas/threads.hpp"

namespace micronas::cli {

// Checks on an option's text as given, before CLI11 converts it, so that nothing out of range is
// clamped, wrapped or replaced by a default. CLI11 reports a failure as "--option: message".
// A decimal integer in lo..hi (no sign for lo >= 0, no spaces, no exponent).
CLI::Validator integer_in(long long lo, long long hi);
// A seed: decimal digits, 0..2^64-1.
CLI::Validator seed_value();
// A finite number > 0.
CLI::Validator positive_finite();
// A path for an output: an empty one would silently turn the output off, so it is refused.
CLI::Validator output_path();

// Checks on an output before the work whose result it receives, so that a path that cannot take
// the result fails at once instead of after minutes of scoring. Error(kIoError) naming `option`
// and `path`.
//
// The JSON object `micronas sweep` writes beside its results (RESULTS.json), read with a bound.
// Error(kIoError) naming the path when it is not valid JSON or not an object.
nlohmann::ordered_json read_sweep_sidecar_object(const std::string& path);

// A file written at the end with write_option_file: it must not exist (outputs are never
// overwritten, the verb's own inputs included) and its folder must accept a new file.
void check_new_output(const std::string& option, const std::string& path);
// A folder that receives several files: absent (it is created) or empty, so that no file of an
// earlier run is mistaken for one of this run.
void check_empty_folder(const std::string& option, const std::string& path);

// The exit status of each outcome; `micronas --help` and the README list them.
enum ExitStatus : int {
  kExitOk = 0,
  kExitInternal = 1,  // a bug: an unexpected failure inside micronas
  kExitUsage = 2,     // the command line or an input's content is invalid
  kExitOutOfMemory = 3,
  kExitInfeasible = 4,  // no architecture satisfies the given limits
  kExitIo = 5,          // a file cannot be opened, read, written or locked, or is malformed
};
int exit_status(Status status);
// The exit statuses as a help footer.
const char* exit_status_help();

// An error message fit for one terminal line: control characters escaped (\n, \t, \x1b), and
// any run of more than 300 characters without a space shortened to its start and end.
std::string printable(const std::string& message);

}  // namespace micronas::cli
