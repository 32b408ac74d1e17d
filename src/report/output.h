// Where a report goes: streamed to a FILE* in 64 KiB chunks, or collected in memory for tests.
// Streaming matters: a JSON report of 5,000 deep C++ stacks is hundreds of megabytes.
#pragma once

#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace libleak {

class Output {
 public:
  explicit Output(std::FILE* file = nullptr) : file_(file) {}
  ~Output() = default;  // the owner calls flush(): a destructor must not throw

  template <typename... T>
  void print(fmt::format_string<T...> format, T&&... args) {
    fmt::format_to(std::back_inserter(buffer_), format, std::forward<T>(args)...);
    if (file_ && buffer_.size() >= kChunk) flush();
  }

  // Writes buffered bytes to the file; throws Error if the write fails (disk full, EPIPE).
  void flush();

  // In-memory mode: everything printed so far.
  std::string str() const { return fmt::to_string(buffer_); }

 private:
  static constexpr size_t kChunk = 64 * 1024;
  std::FILE* file_;
  fmt::memory_buffer buffer_;
};

}  // namespace libleak
