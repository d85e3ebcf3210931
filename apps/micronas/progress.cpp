#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace micronas::cli {

namespace {
// Between two log lines when stderr is not a terminal.
constexpr std::chrono::seconds kLogInterval(10);
}  // namespace

ProgressBar::ProgressBar(std::string label, std::int64_t total, bool enabled)
    : ProgressBar(std::move(label), total, enabled, stderr_is_terminal()) {}

ProgressBar::ProgressBar(std::string label, std::int64_t total, bool enabled, bool terminal)
    : label_(std::move(label)), total_(total), enabled_(enabled && total > 0), terminal_(terminal) {
  start_ = last_draw_ = Clock::now();
  if (enabled_ && terminal_) draw(false);
}

ProgressBar::~ProgressBar() {
  if (enabled_ && terminal_ && !finished_) {
    // Leave the partial bar visible and move on, so a following error message starts a line.
    std::fputc('\n', stderr);
    std::fflush(stderr);
  }
}

bool ProgressBar::stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

void ProgressBar::update(std::int64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  const Clock::time_point now = Clock::now();
  if (!terminal_) {
    if (done < total_ && now - last_draw_ >= kLogInterval) {
      last_draw_ = now;
      std::fprintf(stderr, "%s\n", status_text(false).c_str());
      std::fflush(stderr);
    }
    return;
  }
  // Redrawing costs a write to the terminal; a few times per second is enough to read.
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::clear() {
  if (!enabled_ || !terminal_ || finished_ || last_width_ == 0) return;
  std::fprintf(stderr, "\r%s\r", std::string(last_width_, ' ').c_str());
  std::fflush(stderr);
  last_width_ = 0;
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (!terminal_) {
    std::fprintf(stderr, "%s\n", status_text(true).c_str());
    std::fflush(stderr);
    return;
  }
  draw(true);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::string ProgressBar::status_text(bool final_draw) const {
  std::string line = label_ + ": " + std::to_string(done_) + "/" + std::to_string(total_);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  line += "  " + format_duration(elapsed) + " elapsed";
  if (!final_draw && done_ > 0 && elapsed > 0)
    line += ", ETA " + format_duration(static_cast<double>(total_ - done_) * elapsed /
                                       static_cast<double>(done_));
  return line;
}

void ProgressBar::draw(bool final_draw) {
  constexpr int kBarWidth = 30;
  const double fraction =
      std::min(1.0, std::max(0.0, static_cast<double>(done_) / static_cast<double>(total_)));
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string line = label_ + " [" + std::string(filled, '#') +
                     std::string(kBarWidth - filled, '-') + "] " + std::to_string(done_) + "/" +
                     std::to_string(total_);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  if (done_ > 0 && elapsed > 0) {
    const double rate = static_cast<double>(done_) / elapsed;
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %.3g/s", rate);
    line += buf;
    if (final_draw)
      line += "  in " + format_duration(elapsed);
    else
      line += "  ETA " + format_duration(static_cast<double>(total_ - done_) / rate);
  }
  const std::size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');
  last_width_ = width;
  std::fprintf(stderr, "\r%s", line.c_str());
  std::fflush(stderr);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long total = std::lround(seconds);
  long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", h, m, s);
  else if (m > 0)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", m, s);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

}  // namespace micronas::cli
