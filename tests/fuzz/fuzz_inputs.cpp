// Coverage-guided fuzz targets for the readers of untrusted input: each takes arbitrary bytes as
// one input of its format. A refusal (micronas::Error) is the documented outcome for bad input;
// anything else (a crash, a sanitizer report, another exception, an allocation beyond the
// fuzzer's limit) is a defect. MICRONAS_FUZZ_TARGET selects the reader:
//   arch, data_spec, sweep_row, target_json, csv  (parsers of text)
//   npy, ts, benchmark_table, measured_ops, sweep_csv  (readers of files)
//   c_api  (the C ABI: "ARCH\nOPTIONS_JSON" to micronas_arch_canonical and micronas_mcu_estimate,
//           where a failure must be a status other than MICRONAS_INTERNAL)
// Built for libFuzzer by `scripts/fuzz.sh`; every build replays the committed corpus
// (tests/fuzz/corpus/TARGET) through replay_main.cpp.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "micronas/arch.hpp"
#include "micronas/benchmark_table.hpp"
#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/npy.hpp"
#include "micronas/sweep.hpp"
#include "micronas/timeseries_data.hpp"
#include "runtime/csv.hpp"
#ifdef MICRONAS_FUZZ_C_API  // the c_api target alone links the C ABI's library
#include "micronas/micronas.h"
#endif

namespace {

// The input as a file, for readers that take a path: one file per process, rewritten per input.
std::string as_file(const std::string& bytes) {
  const char* dir = std::getenv("TMPDIR");
  static const std::string path = std::string(dir && *dir ? dir : "/tmp") + "/micronas_fuzz_" +
                                  std::to_string(::getpid()) + "_" MICRONAS_FUZZ_TARGET;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

#ifdef MICRONAS_FUZZ_C_API
// The C ABI reports every failure as a status; MICRONAS_INTERNAL means a bug.
void check_status(micronas_status status) {
  if (status == MICRONAS_INTERNAL) {
    std::fprintf(stderr, "MICRONAS_INTERNAL: %s\n", micronas_last_error());
    std::abort();
  }
}

void call_c_api(const std::string& bytes) {
  const std::size_t newline = bytes.find('\n');
  const std::string arch = bytes.substr(0, newline);
  const std::string options = newline == std::string::npos ? "" : bytes.substr(newline + 1);
  char* canonical = nullptr;
  const micronas_status first = micronas_arch_canonical(arch.c_str(), &canonical);
  micronas_free(canonical);
  check_status(first);
  char* estimate = nullptr;
  const micronas_status second = micronas_mcu_estimate(arch.c_str(), options.c_str(), &estimate);
  micronas_free(estimate);
  check_status(second);
}
#endif

void read_input(const std::string& bytes) {
  using namespace micronas;
  const std::string target = MICRONAS_FUZZ_TARGET;
  if (target == "arch") {
    Arch::parse(bytes);
  } else if (target == "data_spec") {
    DataSpec::parse(bytes);
  } else if (target == "sweep_row") {
    parse_sweep_row(bytes, "fuzz");
  } else if (target == "target_json") {
    mcu::parse_target_json(bytes, "fuzz");
  } else if (target == "csv") {
    parse_csv(bytes, "fuzz", CsvLimits{1 << 20, 1000, "a fuzz table"});
  } else if (target == "npy") {
    read_npy(as_file(bytes));
  } else if (target == "ts") {
    timeseries::TsReadOptions options;
    options.max_bytes = 1 << 20;
    timeseries::read_ts(as_file(bytes), options);
  } else if (target == "benchmark_table") {
    BenchmarkTable::load(as_file(bytes));
  } else if (target == "measured_ops") {
    mcu::read_measured_ops(as_file(bytes));
  } else if (target == "sweep_csv") {
    read_sweep_csv(as_file(bytes));
#ifdef MICRONAS_FUZZ_C_API
  } else if (target == "c_api") {
    call_c_api(bytes);
#endif
  } else {
    throw std::logic_error("unknown fuzz target " + target);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    read_input(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const micronas::Error&) {
    // Refused with a message: what bad input must get.
  }
  return 0;
}
