#include "micronas/npy.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "micronas/error.hpp"
#include "runtime/file_io.hpp"

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
  std::string header = header_text(descr, shape);
  const unsigned char preamble[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  std::string bytes(reinterpret_cast<const char*>(preamble), 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  bytes += static_cast<char>(len & 0xFF);
  bytes += static_cast<char>(len >> 8);
  bytes += header;
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  StagedOutput out(path, Publish::kReplace);
  out.write(bytes);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n) * sizeof(T));
  out.publish();
}

// The longest header accepted: numpy writes a few hundred bytes (and refuses to read more than
// 10000 by default).
constexpr std::size_t kMaxHeaderBytes = 1 << 16;

std::string trim(const std::string& s) {
  const std::size_t first = s.find_first_not_of(" \t\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\n") - first + 1);
}

// Value of `key` in the header dict, as raw text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail(path, "npy header lacks '" + key + "'");
  const std::size_t colon = header.find_first_not_of(' ', k + key.size() + 2);
  if (colon == std::string::npos || header[colon] != ':')
    fail(path, "malformed npy header: no ':' after '" + key + "'");
  const std::size_t start = colon + 1;
  std::size_t end = start;
  int depth = 0;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (end >= header.size() || depth != 0)
    fail(path, "malformed npy header: the value of '" + key + "' is not terminated");
  return trim(header.substr(start, end - start));
}

// A Python tuple of non-negative integers: "()", "(5,)", "(16, 3, 32, 32)" (a trailing comma is
// allowed, an empty item or anything but digits is not).
std::vector<std::int64_t> parse_shape(const std::string& text, const std::string& path) {
  auto bad = [&]() { fail(path, "malformed shape " + text + " in the npy header"); };
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') bad();
  std::vector<std::int64_t> shape;
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;
  auto skip_spaces = [&]() {
    while (i < end && text[i] == ' ') ++i;
  };
  skip_spaces();
  while (i < end) {
    const std::size_t first = i;
    std::int64_t d = 0;
    while (i < end && text[i] >= '0' && text[i] <= '9') {
      if (d > (std::numeric_limits<std::int64_t>::max() - 9) / 10)
        fail(path, "dimension in shape " + text + " is too large");
      d = d * 10 + (text[i] - '0');
      ++i;
    }
    if (i == first) bad();  // an empty item or a non-digit
    shape.push_back(d);
    skip_spaces();
    if (i == end) {
      if (shape.size() == 1) bad();  // "(5)" is an int in Python, not a tuple
      break;
    }
    if (text[i] != ',') bad();
    ++i;
    skip_spaces();
  }
  return shape;
}

}  // namespace

std::int64_t NpyArray::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      throw Error(Status::kInvalidArgument, "npy shape has a negative or too large dimension");
  return n;
}

std::string nonfinite_element(const NpyArray& a) {
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    const double v = a.data[i];
    if (std::isfinite(v) && std::abs(v) <= std::numeric_limits<float>::max()) continue;
    // The flat index as one index per dimension, C order.
    std::vector<std::int64_t> index(a.shape.size());
    std::size_t rest = i;
    for (std::size_t d = a.shape.size(); d-- > 0;) {
      index[d] = static_cast<std::int64_t>(rest % static_cast<std::size_t>(a.shape[d]));
      rest /= static_cast<std::size_t>(a.shape[d]);
    }
    std::string text = "element [";
    for (std::size_t d = 0; d < index.size(); ++d)
      text += (d ? ", " : "") + std::to_string(index[d]);
    std::ostringstream value;
    value << v;
    return text + "] is " +
           (std::isnan(v)   ? "NaN"
            : std::isinf(v) ? "Inf"
                            : value.str() + ", beyond float32's range");
  }
  return "";
}

std::string npy_shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

NpyArray read_npy(const std::string& path) {
  // Read once, from a regular file whose size bounds everything the header may claim.
  InputFile in(path, /*allow_stream=*/false);
  const std::uint64_t file_size = in.size();
  unsigned char preamble[12];
  if (in.read(reinterpret_cast<char*>(preamble), 8) != 8)
    fail(path, file_size == 0 ? "empty file (not an .npy file)"
                              : "truncated npy header: the file has only " +
                                    std::to_string(file_size) + " bytes");
  if (std::memcmp(preamble, "\x93NUMPY", 6) != 0) fail(path, "not an .npy file (bad magic)");
  std::size_t len_bytes = 0;
  if (preamble[6] == 1)
    len_bytes = 2;
  else if (preamble[6] == 2 || preamble[6] == 3)
    len_bytes = 4;
  else
    fail(path, "unsupported npy version " + std::to_string(preamble[6]));
  if (in.read(reinterpret_cast<char*>(preamble) + 8, len_bytes) != len_bytes)
    fail(path, "truncated npy header: the file ends inside the header length");
  std::uint64_t len = 0;
  for (std::size_t b = len_bytes; b-- > 0;) len = (len << 8) | preamble[8 + b];
  const std::uint64_t prefix = 8 + len_bytes;
  if (len > kMaxHeaderBytes)
    fail(path, "npy header length " + std::to_string(len) + " is larger than any real header (" +
                   std::to_string(kMaxHeaderBytes) + " bytes at most)");
  if (len > file_size - prefix)
    fail(path, "truncated npy header: it claims " + std::to_string(len) + " bytes, the file has " +
                   std::to_string(file_size - prefix) + " after the preamble");
  std::string header(static_cast<std::size_t>(len), '\0');
  if (in.read(header.data(), header.size()) != header.size())
    fail(path, "truncated npy header (the file shrank while being read)");
  const std::string dict = trim(header);
  if (dict.size() < 2 || dict.front() != '{' || dict.back() != '}')
    fail(path, "malformed npy header: not a {...} dictionary");
  const std::string descr = dict_value(dict, "descr", path);
  const std::string order = dict_value(dict, "fortran_order", path);
  const std::string shape_text = dict_value(dict, "shape", path);
  NpyArray a;
  if (descr == "'<f4'")
    a.is_float32 = true;
  else if (descr != "'<f8'")
    fail(path, "dtype " + descr + " is not supported (need little-endian float32 or float64)");
  if (order != "False") fail(path, "Fortran-ordered arrays are not supported");
  a.shape = parse_shape(shape_text, path);

  // The data must fill the rest of the file exactly; checked before anything is allocated, with
  // products that cannot overflow.
  const std::uint64_t elem = a.is_float32 ? 4 : 8;
  const std::uint64_t available = file_size - prefix - len;
  std::uint64_t n = 1;
  bool overflow = false, empty = false;
  for (std::int64_t d : a.shape) {
    overflow |= __builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n);
    empty |= d == 0;
  }
  std::uint64_t bytes = 0;
  overflow |= __builtin_mul_overflow(n, elem, &bytes);
  if (empty) n = bytes = 0;
  if (overflow && !empty)
    fail(path, "truncated data: the shape " + shape_text +
                   " needs more than 2^64 bytes, the file holds " + std::to_string(available));
  if (bytes > available)
    fail(path, "truncated data: the shape " + shape_text + " needs " + std::to_string(bytes) +
                   " data bytes, the file holds " + std::to_string(available));
  if (bytes < available)
    fail(path, std::to_string(available - bytes) + " trailing bytes after the " +
                   std::to_string(n) + " values of shape " + shape_text);
  std::vector<char> raw(static_cast<std::size_t>(bytes));
  if (in.read(raw.data(), raw.size()) != raw.size())
    fail(path, "truncated data (the file shrank while being read)");
  a.data.resize(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < a.data.size(); ++i) {
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
