// micronas: hardware-aware, training-free neural architecture search for microcontrollers.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "allocator_policy.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/error.hpp"
#include "openmp_wait_policy.hpp"
#include "runtime/file_io.hpp"

namespace {

int fail(int status, const std::string& message) {
  std::cout.flush();
  std::cerr << "micronas: error: " << micronas::cli::printable(message) << "\n";
  return status;
}

// Output that did not arrive is a failure like any other: `micronas info ... > /dev/full`.
int check_stdout() {
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  if (flushed && !std::ferror(stdout) && std::cout.good()) return 0;
  // errno is 0 when the write that failed was an earlier one (a large output flushed on the way);
  // its reason is gone by now, but not the fact that the output is incomplete.
  return fail(micronas::cli::kExitIo,
              "standard output: write failed: " +
                  (error != 0 ? micronas::system_error_text(error)
                              : std::string("an earlier write failed; the output is incomplete")));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace micronas::cli;
  use_passive_openmp_waiting(argv);
  keep_freed_memory();
  CLI::App app{
      "micronas: training-free, hardware-aware neural architecture search for "
      "microcontrollers (NAS-Bench-201 space)"};
  app.require_subcommand(1);
  app.footer(exit_status_help());
  add_info_command(app);
  add_mcu_command(app);
  add_ts_cost_command(app);
  add_score_command(app);
  add_search_command(app);
  add_random_search_command(app);
  add_sweep_command(app);
  add_evaluate_command(app);
  add_merge_command(app);
  add_export_command(app);
  add_export_naslib_command(app);
  add_devices_command(app);
  add_ts_search_command(app);
  add_ts_train_command(app);
  // CLI11 reads an unknown verb as a stray argument and says only that a subcommand is required.
  if (argc > 1 && argv[1][0] != '-') {
    const auto verbs = app.get_subcommands([](const CLI::App*) { return true; });
    const bool known = std::any_of(verbs.begin(), verbs.end(),
                                   [&](const CLI::App* v) { return v->get_name() == argv[1]; });
    if (!known)
      return fail(kExitUsage, std::string("unknown verb '") + argv[1] + "' (see micronas --help)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    app.exit(e);  // --help: the help on stdout, status 0
    return check_stdout();
  } catch (const CLI::ParseError& e) {
    // Option parsing joins the error contract: one line, status 2.
    std::string message = e.what();
    if (message.empty()) message = "invalid command line";
    return fail(kExitUsage, message + " (see micronas --help)");
  } catch (const micronas::Error& e) {
    return fail(exit_status(e.status()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(kExitOutOfMemory, "out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    std::string message = e.path1().string();
    message += (message.empty() ? "" : ": ") + e.code().message();
    return fail(kExitIo, message);
  } catch (const std::exception& e) {
    return fail(kExitInternal, std::string("internal error: ") + e.what());
  }
  return check_stdout();
}
