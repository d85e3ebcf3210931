// Output files of `micronas export` (NB201 and time-series): never overwritten, written whole or
// not at all.
#pragma once

#include <cstddef>
#include <string>

#include "micronas/tflite_export.hpp"

namespace micronas::cli {

bool exists(const std::string& path);
// Throws Error(kIoError) naming `option` and `path` when the path exists.
void refuse_existing(const std::string& option, const std::string& path);
// Creates `path` only if it does not exist yet, and writes `data` whole (a failed write removes
// it); Error(kIoError) naming `option` and `path` otherwise.
void write_new_file(const std::string& option, const std::string& path, const void* data,
                    std::size_t size);

// Writes the model to `out` and, unless `c_array` is empty, as the C array g_model (with
// `description` in its comment) to `c_array`, both never overwritten; then prints
// "wrote OUT: N bytes, M operators (counts by kind)" on stdout.
void write_model_files(const tflite::ExportedModel& model, const std::string& out,
                       const std::string& c_array, const std::string& description);

}  // namespace micronas::cli
