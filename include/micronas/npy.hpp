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

// Reads the file once. Throws Error(kIoError) naming the file and the problem for a missing
// file, a path that is not a regular file (a directory, device or pipe: the header is checked
// against the file's size), a truncated or malformed header (a shape such as (16,,3) or
// (16abc, 3)), a dtype other than <f4/<f8, Fortran order, or a data section shorter or longer
// than the shape needs; nothing is allocated before these checks.
NpyArray read_npy(const std::string& path);

// The first value of `a` that is not a finite float32 number, as "element [i, j] is NaN" ("is
// Inf", "is 1e+39, beyond float32's range"); empty when there is none. Readers refuse such a file
// with this after its path (float32 weights and inputs cannot hold such a value).
std::string nonfinite_element(const NpyArray& a);
// A shape as NumPy prints it: "(16, 3, 3, 3)", "(16,)".
std::string npy_shape_text(const std::vector<std::int64_t>& shape);

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const float* data);
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const double* data);

}  // namespace micronas
