#include "micronas/limits.hpp"

#include <string>

#include "micronas/error.hpp"

namespace micronas {

void McuLimits::validate() const {
  auto check = [](double v, const char* option) {
    if (!(v > 0))
      throw Error(Status::kInvalidArgument, std::string(option) + " must be a positive number");
  };
  check(max_latency_ms, "--max-latency-ms");
  check(max_sram_kb, "--max-sram-kb");
  check(max_flash_kb, "--max-flash-kb");
}

}  // namespace micronas
