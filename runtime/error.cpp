#include "micronas/error.hpp"

namespace micronas {

const char* status_name(Status status) {
  switch (status) {
    case Status::kOk: return "ok";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kParseError: return "parse error";
    case Status::kIoError: return "I/O error";
    case Status::kOutOfMemory: return "out of memory";
    case Status::kNumericalError: return "numerical error";
    case Status::kUnsupported: return "unsupported";
    case Status::kInfeasible: return "infeasible";
    case Status::kCancelled: return "cancelled";
    case Status::kInternal: return "internal error";
  }
  return "unknown status";
}

}  // namespace micronas
