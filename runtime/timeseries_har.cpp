// UCI-HAR's directory layout (see include/micronas/timeseries_data.hpp).
#include <string_view>

#include "micronas/error.hpp"
#include "micronas/timeseries_data.hpp"
#include "runtime/text_file.hpp"

namespace micronas::timeseries {
namespace {

constexpr int kWindow = 128;
// The released files are about 60 MB for the train split's nine channels together; 256 MiB per
// file leaves room and still stops endless streams.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{256} << 20;

[[noreturn]] void fail(const std::string& path, int line, const std::string& what) {
  throw Error(Status::kIoError, path + ":" + std::to_string(line) + ": " + what);
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Non-blank lines of a file, with their line numbers.
struct Lines {
  std::string text;
  std::vector<std::string_view> lines;
  std::vector<int> numbers;
};

Lines read_lines(const std::string& path) {
  Lines out;
  out.text = detail::read_text_file(path, kMaxFileBytes);
  int number = 0;
  for (std::string_view line : detail::split_lines(out.text)) {
    ++number;
    if (detail::trim(line).empty()) continue;
    out.lines.push_back(line);
    out.numbers.push_back(number);
  }
  if (out.lines.empty()) fail(path, 1, "empty file");
  return out;
}

}  // namespace

const std::vector<std::string>& uci_har_channels() {
  static const std::vector<std::string> kChannels = {"body_acc_x",  "body_acc_y",  "body_acc_z",
                                                     "body_gyro_x", "body_gyro_y", "body_gyro_z",
                                                     "total_acc_x", "total_acc_y", "total_acc_z"};
  return kChannels;
}

Dataset read_uci_har(const std::string& root, const std::string& split) {
  if (split != "train" && split != "test")
    throw Error(Status::kInvalidArgument,
                "UCI-HAR split must be 'train' or 'test', not '" + split + "'");
  const std::string dir = root + "/" + split;
  const std::string labels_path = dir + "/y_" + split + ".txt";
  Lines labels = read_lines(labels_path);
  Dataset out;
  out.cases = static_cast<int>(labels.lines.size());
  out.length = kWindow;
  out.dims = static_cast<int>(uci_har_channels().size());
  out.class_names = {"WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS",
                     "SITTING", "STANDING",         "LAYING"};
  out.labels.resize(out.cases);
  for (int n = 0; n < out.cases; ++n) {
    int label = 0;
    if (!detail::parse_int(labels.lines[n], label) || label < 1 || label > 6)
      fail(labels_path, labels.numbers[n],
           "label '" + std::string(detail::trim(labels.lines[n])) + "' is not an integer 1..6");
    out.labels[n] = label - 1;
  }
  out.values.assign(static_cast<std::size_t>(out.cases) * kWindow * out.dims, 0.0f);
  for (int s = 0; s < out.dims; ++s) {
    const std::string path =
        dir + "/Inertial Signals/" + uci_har_channels()[s] + "_" + split + ".txt";
    Lines signal = read_lines(path);
    if (signal.lines.size() != labels.lines.size())
      fail(path, signal.numbers.back(),
           "holds " + std::to_string(signal.lines.size()) + " windows but " + labels_path +
               " holds " + std::to_string(labels.lines.size()) + " labels");
    for (int n = 0; n < out.cases; ++n) {
      std::vector<std::string_view> values = fields(signal.lines[n]);
      if (values.size() != static_cast<std::size_t>(kWindow))
        fail(path, signal.numbers[n],
             "window " + std::to_string(n + 1) + " has " + std::to_string(values.size()) +
                 " values, expected " + std::to_string(kWindow));
      for (int t = 0; t < kWindow; ++t) {
        float v = 0.0f;
        if (detail::parse_float(values[t], v) != detail::NumberKind::kOk)
          fail(path, signal.numbers[n],
               "window " + std::to_string(n + 1) + ", value " + std::to_string(t + 1) + ": '" +
                   std::string(values[t]) + "' is not a finite number");
        out.values[(static_cast<std::size_t>(n) * kWindow + t) * out.dims + s] = v;
      }
    }
  }
  return out;
}

}  // namespace micronas::timeseries
