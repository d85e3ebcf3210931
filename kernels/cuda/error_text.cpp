#include "kernels/cuda/error_text.hpp"

#include <cstdio>

namespace micronas::cuda {

std::string format_bytes(std::int64_t bytes) {
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

std::string call_failure_message(const std::string& call, const std::string& library, int code,
                                 const std::string& name, const std::string& description) {
  std::string msg = call + " failed: " + library + " status " + std::to_string(code);
  if (!name.empty()) msg += " " + name;
  if (!description.empty() && description != name) msg += " (" + description + ")";
  return msg;
}

std::string out_of_memory_message(const std::string& what, int device, std::int64_t needed,
                                  std::int64_t free_bytes, std::int64_t total_bytes) {
  return "cannot allocate " + format_bytes(needed) + " (" + std::to_string(needed) +
         " bytes) for " + what + " on cuda:" + std::to_string(device) + ": " +
         format_bytes(free_bytes) + " free of " + format_bytes(total_bytes);
}

}  // namespace micronas::cuda
