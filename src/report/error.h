// The one error type of the reader: every problem with an input or an option becomes an Error,
// caught in one place (tools/leakreport/main.cpp), printed as one line, exit code 2.
// Messages are lower-case fragments; `source` (a file name, when known) is printed before them.
#pragma once

#include <stdexcept>
#include <string>

namespace libleak {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error(std::string source, const std::string& message)
      : std::runtime_error(message), source_(std::move(source)) {}

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

}  // namespace libleak
