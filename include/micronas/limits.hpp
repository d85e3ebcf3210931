// Hard limits on a deployed network's microcontroller cost, shared by the searches of both
// spaces: the architecture a search returns satisfies every limit given.
#pragma once

#include <limits>

namespace micronas {

struct McuLimits {
  static constexpr double kNone = std::numeric_limits<double>::infinity();
  double max_latency_ms = kNone;  // in the chosen latency model
  double max_sram_kb = kNone;     // peak SRAM (arena), KiB
  double max_flash_kb = kNone;    // model + runtime code, KiB
  bool any() const { return max_latency_ms < kNone || max_sram_kb < kNone || max_flash_kb < kNone; }
  // Throws Error(kInvalidArgument) for a limit that is NaN or <= 0.
  void validate() const;
};

}  // namespace micronas
