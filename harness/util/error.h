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

// Throw claa::Error unless `condition` holds. Use for validating untrusted input.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace claa
