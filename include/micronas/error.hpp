// Error reporting for the C++ API: every failure is an exception carrying a status code and a
// message that names what was wrong. The library never aborts and never prints.
#pragma once

#include <stdexcept>
#include <string>

namespace micronas {

enum class Status {
  kOk = 0,
  kInvalidArgument,  // a value outside its domain (bad option, wrong shape, unknown name)
  kParseError,       // malformed text (architecture string, CSV, JSON)
  kIoError,          // a file that cannot be opened, is truncated or malformed
  kOutOfMemory,      // an allocation failed
  kNumericalError,   // NaN/Inf where a finite value is required
  kUnsupported,      // a feature this build or backend does not provide
  kInfeasible,       // no solution satisfies the given limits
  kCancelled,        // the caller asked a running computation to stop
  kInternal,         // a broken invariant: a bug in the library
};

const char* status_name(Status status);

class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const { return status_; }

 private:
  Status status_;
};

}  // namespace micronas
