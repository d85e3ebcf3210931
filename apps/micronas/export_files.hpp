// Output files of `micronas export` (NB201 and time-series): never overwritten, written whole or
// not at all.
#pragma once

#include <cstddef>
#include <string>

namespace micronas::cli {

bool exists(const std::string& path);
// Throws Error(kIoError) naming `option` and `path` when the path exists.
void refuse_existing(const std::string& option, const std::string& path);
// Creates `path` only if it does not exist yet, and writes `data` whole (a failed write removes
// it); Error(kIoError) naming `option` and `path` otherwise.
void write_new_file(const std::string& option, const std::string& path, const void* data,
                    std::size_t size);

}  // namespace micronas::cli
