// Shared helpers for the test suites.
#pragma once

#include <string>

namespace micronas::test {

// Path of a file under the shared reference data folder.
inline std::string data_path(const std::string& relative) {
  return std::string(MICRONAS_DATA_DIR) + "/" + relative;
}

}  // namespace micronas::test
