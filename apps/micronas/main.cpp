// micronas: hardware-aware, training-free neural architecture search for microcontrollers.
#include <iostream>

#include "commands.hpp"
#include "micronas/error.hpp"
#include "openmp_wait_policy.hpp"

int main(int argc, char** argv) {
  micronas::cli::use_passive_openmp_waiting(argv);
  CLI::App app{
      "micronas: training-free, hardware-aware neural architecture search for "
      "microcontrollers (NAS-Bench-201 space)"};
  app.require_subcommand(1);
  micronas::cli::add_info_command(app);
  micronas::cli::add_mcu_command(app);
  micronas::cli::add_score_command(app);
  micronas::cli::add_search_command(app);
  micronas::cli::add_random_search_command(app);
  micronas::cli::add_sweep_command(app);
  micronas::cli::add_evaluate_command(app);
  micronas::cli::add_export_command(app);
  micronas::cli::add_export_naslib_command(app);
  micronas::cli::add_devices_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const micronas::Error& e) {
    std::cerr << "micronas: error: " << e.what() << "\n";
    // A distinct status for "no architecture satisfies the limits": scripts sweeping limits
    // tell it from a usage error.
    return e.status() == micronas::Status::kInfeasible ? 4 : 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "micronas: error: out of memory\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "micronas: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
