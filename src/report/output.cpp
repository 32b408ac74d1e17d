// Output flushing; the only place the reader writes report bytes to a file.
#include "report/output.h"

#include "report/error.h"

namespace libleak {

void Output::flush() {
  if (!file_) return;
  if (buffer_.size() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    throw Error("cannot write the report");
  }
  buffer_.clear();
  if (std::fflush(file_) != 0) throw Error("cannot write the report");
}

}  // namespace libleak
