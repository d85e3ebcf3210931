// A one-line progress bar on stderr for long runs (done/total, rate, ETA), drawn only when
// enabled and stderr is a terminal, so logs and pipes stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace micronas::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total, bool enabled);
  ~ProgressBar();
  void update(std::int64_t done);
  // Clears the bar's line (idempotent).
  void finish();

 private:
  std::string label_;
  std::int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace micronas::cli
