// One error type for everything a user can cause (bad files, bad configs, bad prompts).
// main() catches it and prints a single "error: ..." line with a non-zero exit code,
// so bad input never becomes a crash or a silently wrong number.
#pragma once

#include <stdexcept>
#include <string>

namespace claa {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Ends the process with `code` and prints nothing: the message was printed already, or is left
// to someone else (under mpirun, rank 0 reports for every rank). Not a std::exception, so no
// handler mistakes it for an error to print.
struct ExitCode {
  int code = 1;
};

// Throw claa::Error unless `condition` holds. Use for validating untrusted input.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace claa
