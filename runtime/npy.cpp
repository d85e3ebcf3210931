#include "micronas/npy.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include "micronas/error.hpp"

namespace micronas {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(Status::kIoError, path + ": " + what);
}

std::string header_text(const char* descr, const std::vector<std::int64_t>& shape) {
  std::ostringstream h;
  h << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i)
    h << shape[i] << (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  h << "), }";
  std::string s = h.str();
  // Pad with spaces so that magic(6) + version(2) + length(2) + header ends on 64 bytes.
  std::size_t total = 10 + s.size() + 1;
  s.append((64 - total % 64) % 64, ' ');
  s += '\n';
  return s;
}

template <class T>
void write_impl(const std::string& path, const std::vector<std::int64_t>& shape, const T* data,
                const char* descr) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail(path, "cannot open for writing");
  std::string header = header_text(descr, shape);
  const unsigned char preamble[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(reinterpret_cast<const char*>(preamble), 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  const unsigned char len_bytes[2] = {static_cast<unsigned char>(len & 0xFF),
                                      static_cast<unsigned char>(len >> 8)};
  out.write(reinterpret_cast<const char*>(len_bytes), 2);
  out << header;
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(T)));
  if (!out) fail(path, "write failed");
}

// Value of `key` in the header dict, as raw text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail(path, "npy header lacks '" + key + "'");
  std::size_t colon = header.find(':', k);
  std::size_t start = header.find_first_not_of(' ', colon + 1);
  std::size_t end = start;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  return header.substr(start, end - start);
}

}  // namespace

std::int64_t NpyArray::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  unsigned char preamble[8];
  if (!in.read(reinterpret_cast<char*>(preamble), 8) || std::memcmp(preamble, "\x93NUMPY", 6) != 0)
    fail(path, "not an .npy file (bad magic)");
  std::size_t len = 0;
  if (preamble[6] == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) fail(path, "truncated header");
    len = b[0] | (b[1] << 8);
  } else if (preamble[6] == 2 || preamble[6] == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) fail(path, "truncated header");
    len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
  } else {
    fail(path, "unsupported npy version " + std::to_string(preamble[6]));
  }
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len))) fail(path, "truncated header");
  std::string descr = dict_value(header, "descr", path);
  std::string order = dict_value(header, "fortran_order", path);
  std::string shape_text = dict_value(header, "shape", path);
  NpyArray a;
  if (descr == "'<f4'")
    a.is_float32 = true;
  else if (descr != "'<f8'")
    fail(path, "dtype " + descr + " is not supported (need little-endian float32 or float64)");
  if (order != "False") fail(path, "Fortran-ordered arrays are not supported");
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    fail(path, "malformed shape " + shape_text);
  std::string dims = shape_text.substr(1, shape_text.size() - 2);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    try {
      std::int64_t d = std::stoll(item.substr(first));
      if (d < 0) throw std::invalid_argument("negative");
      a.shape.push_back(d);
    } catch (const std::exception&) {
      fail(path, "malformed shape " + shape_text);
    }
  }
  const std::int64_t n = a.numel();
  const std::size_t elem = a.is_float32 ? 4 : 8;
  std::vector<char> raw(static_cast<std::size_t>(n) * elem);
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  if (static_cast<std::size_t>(in.gcount()) != raw.size())
    fail(path, "truncated data: header promises " + std::to_string(n) + " values, file holds " +
                   std::to_string(in.gcount() / static_cast<std::streamsize>(elem)));
  a.data.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (a.is_float32) {
      float f;
      std::memcpy(&f, raw.data() + i * 4, 4);
      a.data[i] = f;
    } else {
      std::memcpy(&a.data[i], raw.data() + i * 8, 8);
    }
  }
  return a;
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const float* data) {
  write_impl(path, shape, data, "<f4");
}
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const double* data) {
  write_impl(path, shape, data, "<f8");
}

}  // namespace micronas
