// Output files that never appear half written, named by their option (see export_files.hpp).
#include "export_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "micronas/error.hpp"

namespace micronas::cli {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void refuse_existing(const std::string& option, const std::string& path) {
  if (exists(path))
    throw Error(Status::kIoError, option + ": '" + path +
                                      "' exists (never overwritten; remove it or choose another)");
}

namespace {

// Runs `step`, prefixing an Error's message with the option that named the file.
template <class Step>
void for_option(const std::string& option, Step&& step) {
  try {
    step();
  } catch (const Error& e) {
    throw Error(e.status(), option + ": " + e.what());
  }
}

// One path for two outputs (--c-array naming the --out file) is refused before anything is
// written.
void refuse_same_path(const std::vector<std::pair<std::string, std::string>>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      std::error_code a, b;
      const fs::path first = fs::weakly_canonical(outputs[j].second, a);
      const fs::path second = fs::weakly_canonical(outputs[i].second, b);
      if (!a && !b && first == second)
        throw Error(Status::kIoError, outputs[i].first + ": '" + outputs[i].second + "' is the " +
                                          outputs[j].first + " file");
    }
}

// A new directory filled under a temporary name and renamed into place; removed, with what was
// written into it, unless published.
class StagedDirectory {
 public:
  StagedDirectory(const std::string& option, const std::string& path)
      : option_(option), path_(path) {
    // A name nothing holds (a leftover of a killed run is left alone).
    for (int n = 0; temporary_.empty(); ++n) {
      const std::string name =
          path + ".partial-" + std::to_string(::getpid()) + "-" + std::to_string(n);
      std::error_code ec;
      if (fs::create_directory(name, ec)) temporary_ = name;
      if (ec || (temporary_.empty() && n == 100))
        throw Error(Status::kIoError, option + ": " + path + ": cannot create: " +
                                          (ec ? ec.message() : std::string("every name is taken")));
    }
  }
  ~StagedDirectory() {
    std::error_code ignored;
    if (!published_) fs::remove_all(temporary_, ignored);
  }
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::string& temporary() const { return temporary_; }
  void publish() {
    for_option(option_, [&] { rename_no_replace(temporary_, path_); });
    published_ = true;
  }

 private:
  std::string option_, path_, temporary_;
  bool published_ = false;
};

}  // namespace

void write_option_file(const std::string& option, const std::string& path, const std::string& text,
                       Publish mode) {
  for_option(option, [&] { write_output_file(path, text, mode); });
}

void write_model_files(const tflite::ExportedModel& model, const std::string& out,
                       const std::string& c_array, const std::string& description,
                       const ReferenceOutput& reference) {
  std::vector<std::pair<std::string, std::string>> outputs = {{"--out", out}};
  if (!c_array.empty()) outputs.push_back({"--c-array", c_array});
  if (!reference.dir.empty()) outputs.push_back({"--reference", reference.dir});
  refuse_same_path(outputs);
  for (const auto& [option, path] : outputs) refuse_existing(option, path);

  // Everything is written under temporary names first; then each takes its name. A failure on
  // the way removes what was written and what was already renamed.
  std::vector<std::unique_ptr<StagedOutput>> files;
  std::vector<std::string> published;
  struct Unpublish {
    std::vector<std::string>& paths;
    bool done = false;
    ~Unpublish() {
      if (!done)
        for (const std::string& p : paths) ::unlink(p.c_str());
    }
  } unpublish{published};
  auto stage = [&](const std::string& option, const std::string& path, const std::string& text) {
    for_option(option, [&] {
      files.push_back(std::make_unique<StagedOutput>(path, Publish::kCreateNew));
      files.back()->write(text);
    });
  };
  stage("--out", out, std::string(model.bytes.begin(), model.bytes.end()));
  if (!c_array.empty())
    stage("--c-array", c_array,
          tflite::c_array_source(model.bytes, "g_model", "TFLite model: " + description));
  std::unique_ptr<StagedDirectory> directory;
  if (!reference.dir.empty()) {
    directory = std::make_unique<StagedDirectory>("--reference", reference.dir);
    reference.write(directory->temporary());
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    for_option(outputs[i].first, [&] { files[i]->publish(); });
    published.push_back(files[i]->path());
  }
  if (directory) directory->publish();  // last: nothing can fail after it
  unpublish.done = true;

  std::cout << "wrote " << out << ": " << model.bytes.size() << " bytes, " << model.num_operators
            << " operators (";
  bool first = true;
  for (const auto& [name, count] : model.operator_counts) {
    std::cout << (first ? "" : ", ") << count << " " << name;
    first = false;
  }
  std::cout << ")\n";
}

}  // namespace micronas::cli
