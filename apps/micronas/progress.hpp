// A one-line progress bar on stderr for long-running verbs (sweep, search): done/total, rate and
// estimated time left, redrawn in place at most a few times per second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace micronas::cli {

class ProgressBar {
 public:
  // A disabled bar prints nothing; enable it only for a terminal (see stderr_is_terminal), as
  // carriage-return redraws would litter a log file.
  ProgressBar(std::string label, std::int64_t total, bool enabled);
  ~ProgressBar();  // finishes the line if finish() was not called (e.g. on an error)
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` items of `total` are complete (0 when the bar was created: the rate is done over the
  // time since then).
  void update(std::int64_t done);
  // Erases the bar so that a log line can be printed; the next update draws it again.
  void clear();
  // Draws the final state and ends the line.
  void finish();

  // Whether stderr is a terminal.
  static bool stderr_is_terminal();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool final_draw);

  std::string label_;
  std::int64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::int64_t done_ = 0;
  Clock::time_point start_, last_draw_;
  std::size_t last_width_ = 0;  // characters of the previous draw, to blank leftovers
};

// "1h02m03s", "4m05s", "7s".
std::string format_duration(double seconds);

}  // namespace micronas::cli
