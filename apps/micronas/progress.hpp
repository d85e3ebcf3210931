// Progress of long-running verbs (search, random-search, sweep) on stderr: done/total, rate and
// estimated time left. On a terminal, a one-line bar redrawn in place a few times per second;
// otherwise (a log file, a batch scheduler's output) a plain line at most every 10 seconds and
// one at the end, so that a log shows the run is alive without being littered.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace micronas::cli {

class ProgressBar {
 public:
  // A disabled bar prints nothing. `terminal` chooses the redrawn bar over log lines
  // (default: whether stderr is a terminal).
  ProgressBar(std::string label, std::int64_t total, bool enabled);
  ProgressBar(std::string label, std::int64_t total, bool enabled, bool terminal);
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
  std::string status_text(bool final_draw) const;

  std::string label_;
  std::int64_t total_;
  bool enabled_, terminal_;
  bool finished_ = false;
  std::int64_t done_ = 0;
  Clock::time_point start_, last_draw_;
  std::size_t last_width_ = 0;  // characters of the previous draw, to blank leftovers
};

// "1h02m03s", "4m05s", "7s".
std::string format_duration(double seconds);

}  // namespace micronas::cli
