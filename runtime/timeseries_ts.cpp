// The UEA/UCR `.ts` reader (see include/micronas/timeseries_data.hpp for the accepted format).
#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "micronas/error.hpp"
#include "micronas/timeseries_data.hpp"
#include "runtime/text_file.hpp"

namespace micronas::timeseries {
namespace {

using detail::NumberKind;

// Parser state shared by the header and the data phase; every error names the file and line.
class TsParser {
 public:
  TsParser(const std::string& path, const TsReadOptions& options)
      : path_(path), options_(options) {}

  Dataset parse(std::string_view text);

 private:
  // A malformed file is an I/O error (the file is not of the expected format); a valid file
  // that needs an option it was not given (missing values, unequal lengths) an invalid
  // argument.
  [[noreturn]] void fail(int line, const std::string& what,
                         Status status = Status::kIoError) const {
    throw Error(status, path_ + ":" + std::to_string(line) + ": " + what);
  }
  void header(int line, std::string_view text);
  bool boolean(int line, std::string_view key, std::string_view value) const;
  int positive(int line, std::string_view key, std::string_view value) const;
  void data_line(int line, std::string_view text);
  Dataset finish(int last_line);

  const std::string& path_;
  const TsReadOptions& options_;
  std::vector<std::string> seen_;  // header keys, to refuse repeats
  bool univariate_ = false;
  std::optional<int> dims_;
  std::optional<int> series_length_;
  bool has_labels_ = false;
  std::vector<std::string> labels_;

  // Cases as read: per case, per dimension, its values; with the line each case came from.
  struct Case {
    int line;
    std::vector<std::vector<float>> series;
    int label;
  };
  std::vector<Case> cases_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits at `sep` keeping empty pieces (an empty piece is an error the caller reports).
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// Whitespace-separated words.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool TsParser::boolean(int line, std::string_view key, std::string_view value) const {
  std::string v = lower(value);
  if (v == "true") return true;
  if (v == "false") return false;
  fail(line, "@" + std::string(key) + " must be true or false, found '" + std::string(value) + "'");
}

int TsParser::positive(int line, std::string_view key, std::string_view value) const {
  int v = 0;
  if (!detail::parse_int(value, v) || v < 1)
    fail(line, "@" + std::string(key) + " must be a positive integer, found '" +
                   std::string(value) + "'");
  return v;
}

void TsParser::header(int line, std::string_view text) {
  std::vector<std::string_view> w = words(text);
  std::string key = lower(w[0].substr(1));
  if (key == "dimension") key = "dimensions";  // both spellings occur in the archive
  if (std::find(seen_.begin(), seen_.end(), key) != seen_.end())
    fail(line, "repeated header @" + key);
  seen_.push_back(key);
  if (key == "classlabel") {
    if (w.size() < 2) fail(line, "@classLabel needs true or false");
    if (!boolean(line, key, w[1]))
      fail(line, "@classLabel false (unlabelled or regression data) is not supported",
           Status::kUnsupported);
    if (w.size() < 3) fail(line, "@classLabel true declares no labels");
    for (std::size_t i = 2; i < w.size(); ++i) {
      std::string label(w[i]);
      if (std::find(labels_.begin(), labels_.end(), label) != labels_.end())
        fail(line, "class label '" + label + "' declared twice");
      labels_.push_back(label);
    }
    has_labels_ = true;
    return;
  }
  if (key == "problemname") return;  // the name is not needed; any value is accepted
  if (w.size() != 2)
    fail(line, "@" + key + " needs exactly one value, found " + std::to_string(w.size() - 1));
  if (key == "timestamps") {
    if (boolean(line, key, w[1]))
      fail(line, "@timeStamps true (time-stamped values) is not supported", Status::kUnsupported);
  } else if (key == "missing") {
    boolean(line, key, w[1]);  // missing values are found in the data, not trusted
  } else if (key == "univariate") {
    univariate_ = boolean(line, key, w[1]);
  } else if (key == "dimensions") {
    dims_ = positive(line, key, w[1]);
  } else if (key == "equallength") {
    boolean(line, key, w[1]);  // checked against the data, not trusted
  } else if (key == "serieslength") {
    series_length_ = positive(line, key, w[1]);
  } else if (key == "targetlabel") {
    fail(line, "@targetLabel (regression data) is not supported", Status::kUnsupported);
  } else {
    fail(line, "unknown header '@" + key + "'");
  }
}

void TsParser::data_line(int line, std::string_view text) {
  const int case_no = static_cast<int>(cases_.size()) + 1;
  const std::string where = "case " + std::to_string(case_no);
  std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() < 2)
    fail(line,
         where + ": no ':' before a class label (a truncated line, or values without a label)");
  const int dims = static_cast<int>(parts.size()) - 1;
  // Without @dimensions the first case sets the count for the rest.
  if (dims_ && dims != *dims_)
    fail(line, where + " has " + std::to_string(dims) + " dimension(s), expected " +
                   std::to_string(*dims_));
  Case c{line, {}, -1};
  std::string label(detail::trim(parts.back()));
  auto it = std::find(labels_.begin(), labels_.end(), label);
  if (it == labels_.end()) {
    std::string declared;
    for (const std::string& l : labels_) declared += (declared.empty() ? "" : " ") + l;
    fail(line, where + ": unknown class label '" + label + "' (declared: " + declared + ")");
  }
  c.label = static_cast<int>(it - labels_.begin());
  for (int d = 0; d < dims; ++d) {
    const std::string dim_where = where + ", dimension " + std::to_string(d + 1);
    if (detail::trim(parts[d]).empty()) fail(line, dim_where + " is empty");
    std::vector<std::string_view> tokens = split(parts[d], ',');
    std::vector<float> series(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::string value_where = dim_where + ", value " + std::to_string(i + 1);
      switch (detail::parse_float(tokens[i], series[i])) {
        case NumberKind::kOk: break;
        case NumberKind::kMissing:
          if (!options_.missing_as_zero)
            fail(line,
                 value_where + ": missing value '" + std::string(detail::trim(tokens[i])) +
                     "' (missing values are refused unless filled with zeros explicitly)",
                 Status::kInvalidArgument);
          series[i] = 0.0f;
          break;
        case NumberKind::kInvalid:
          fail(line, value_where + ": '" + std::string(detail::trim(tokens[i])) +
                         "' is not a finite number");
      }
    }
    c.series.push_back(std::move(series));
  }
  if (!dims_) dims_ = dims;
  cases_.push_back(std::move(c));
}

Dataset TsParser::finish(int last_line) {
  if (cases_.empty()) fail(last_line, "no cases after @data");
  Dataset out;
  out.cases = static_cast<int>(cases_.size());
  out.dims = *dims_;
  out.class_names = labels_;
  if (options_.length > 0) {
    out.length = options_.length;
  } else {
    // No length policy: every series must have the first case's length (and @seriesLength).
    const int first = static_cast<int>(cases_[0].series[0].size());
    if (series_length_ && first != *series_length_)
      fail(cases_[0].line, "case 1 has length " + std::to_string(first) + " but @seriesLength is " +
                               std::to_string(*series_length_));
    for (std::size_t n = 0; n < cases_.size(); ++n) {
      for (std::size_t d = 0; d < cases_[n].series.size(); ++d) {
        const int len = static_cast<int>(cases_[n].series[d].size());
        if (len != first)
          fail(cases_[n].line,
               "case " + std::to_string(n + 1) + " (dimension " + std::to_string(d + 1) +
                   ") has length " + std::to_string(len) + " but case 1 has length " +
                   std::to_string(first) + ": unequal lengths need a length to pad or truncate to",
               Status::kInvalidArgument);
      }
    }
    out.length = first;
  }
  // Time-major per case: value (t, s) of case n at (n*T + t)*S + s; short series end in zeros.
  out.values.assign(static_cast<std::size_t>(out.cases) * out.length * out.dims, 0.0f);
  out.labels.resize(out.cases);
  for (int n = 0; n < out.cases; ++n) {
    out.labels[n] = cases_[n].label;
    for (int s = 0; s < out.dims; ++s) {
      const std::vector<float>& series = cases_[n].series[s];
      const int len = std::min(out.length, static_cast<int>(series.size()));
      for (int t = 0; t < len; ++t)
        out.values[(static_cast<std::size_t>(n) * out.length + t) * out.dims + s] = series[t];
    }
  }
  return out;
}

Dataset TsParser::parse(std::string_view text) {
  std::vector<std::string_view> lines = detail::split_lines(text);
  bool in_data = false;
  int line_no = 0;
  for (std::string_view raw : lines) {
    ++line_no;
    std::string_view line = detail::trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (!in_data) {
      if (line.front() != '@')
        fail(line_no, "expected a '@' header, a '#' comment or @data before the first case");
      if (lower(words(line)[0]) == "@data") {
        if (words(line).size() != 1) fail(line_no, "@data takes no value");
        if (!has_labels_) fail(line_no, "@classLabel true <labels...> must come before @data");
        if (univariate_ && dims_ && *dims_ != 1)
          fail(line_no, "@univariate true contradicts @dimensions " + std::to_string(*dims_));
        if (univariate_) dims_ = 1;
        in_data = true;
        continue;
      }
      header(line_no, line);
      continue;
    }
    if (line.front() == '@') fail(line_no, "header line after @data");
    data_line(line_no, line);
  }
  if (lines.empty()) fail(1, "empty file");
  if (!in_data) fail(line_no, "no @data line: the file ends inside the header");
  return finish(line_no);
}

}  // namespace

Dataset read_ts(const std::string& path, const TsReadOptions& options) {
  if (options.length < 0)
    throw Error(Status::kInvalidArgument,
                "series length " + std::to_string(options.length) + " must be >= 0");
  std::string text = detail::read_text_file(path, options.max_bytes);
  TsParser parser(path, options);
  return parser.parse(text);
}

}  // namespace micronas::timeseries
