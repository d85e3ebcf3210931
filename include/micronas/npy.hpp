// NumPy .npy files (format 1.0/2.0, little-endian, C order) of float32 or float64.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micronas {

struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<double> data;  // values converted to double
  bool is_float32 = false;
  std::int64_t numel() const;
};

// Throws Error(kIoError) naming the file for a missing file, a bad header, a dtype other than
// <f4/<f8, Fortran order, or a data section shorter than the header promises.
NpyArray read_npy(const std::string& path);

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const float* data);
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const double* data);

}  // namespace micronas
