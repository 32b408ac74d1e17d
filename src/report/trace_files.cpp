// Trace files and directories of them: reads only regular files, without ever blocking on a FIFO
// or reading a device, in one read of the size fstat gives; an entry of a directory that cannot
// be read is an error, so a report cannot silently miss a process.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "report/error.h"
#include "report/trace_reader.h"

namespace libleak {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

const char* describe(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown type";
}

std::string reason(const char* doing) { return fmt::format("{}: {}", doing, std::strerror(errno)); }

// Opens a file for reading. O_NONBLOCK: opening a FIFO that has no writer returns at once
// instead of waiting for one; the caller then sees from `st` that it is not a regular file.
Fd open_file(const std::filesystem::path& path, struct stat& st) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) throw Error(path.string(), reason("cannot open"));
  if (::fstat(fd.get(), &st) != 0) throw Error(path.string(), reason("cannot stat"));
  return fd;
}

// Reads up to n bytes at `offset`; fewer only at the end of the file.
size_t read_at(const Fd& fd, std::byte* out, size_t n, off_t offset, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd.get(), out + done, n - done, offset + static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(path.string(), reason("cannot read"));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

bool starts_with_magic(const Fd& fd, const std::filesystem::path& path) {
  std::byte magic[sizeof(trace::kMagic)];
  return read_at(fd, magic, sizeof magic, 0, path) == sizeof magic &&
         std::memcmp(magic, trace::kMagic, sizeof magic) == 0;
}

// NAME.tmp.<pid>: a trace being written, or left by a process killed while writing it. The
// finished trace of that write is NAME; reading the temporary too would count a process twice.
bool is_temporary_trace(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  size_t dot = name.rfind(".tmp.");
  if (dot == std::string::npos || dot + 5 == name.size()) return false;
  return std::all_of(name.begin() + dot + 5, name.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// The traces of one directory, sorted by name. Entries that are not regular files, or do not
// start with the magic, are skipped; one that cannot be examined or read is an error.
std::vector<std::filesystem::path> traces_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (is_temporary_trace(path)) continue;
    struct stat st;
    // stat, not lstat: a symlink to a trace counts, and a dangling one is a trace we cannot read.
    if (::stat(path.c_str(), &st) != 0) throw Error(path.string(), reason("cannot read"));
    if (S_ISREG(st.st_mode) && has_trace_magic(path)) found.push_back(path);
  }
  if (ec) throw Error(dir.string(), fmt::format("cannot list directory: {}", ec.message()));
  if (found.empty()) throw Error(dir.string(), "no libleak traces in this directory");
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

Trace read_trace_file(const std::filesystem::path& path) {
  struct stat st;
  Fd fd = open_file(path, st);
  if (!S_ISREG(st.st_mode)) {
    throw Error(path.string(), fmt::format("not a regular file: {}", describe(st.st_mode)));
  }
  // The magic first, so that a large file of something else is not read whole.
  if (!starts_with_magic(fd, path)) throw Error(path.string(), "not a libleak trace (bad magic)");
  auto size = static_cast<size_t>(st.st_size);
  std::unique_ptr<std::byte[]> bytes(new std::byte[size]);
  // A file that shrank since fstat is caught here; one that grew, by the header's file_size.
  size_t got = read_at(fd, bytes.get(), size, 0, path);
  try {
    return parse_trace(std::span<const std::byte>(bytes.get(), got));
  } catch (const Error& e) {
    throw Error(path.string(), e.what());
  }
}

bool has_trace_magic(const std::filesystem::path& path) {
  struct stat st;
  Fd fd = open_file(path, st);
  return S_ISREG(st.st_mode) && starts_with_magic(fd, path);
}

std::vector<std::filesystem::path> expand_inputs(const std::vector<std::filesystem::path>& inputs) {
  std::vector<std::filesystem::path> out;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(input, ec)) {
      out.push_back(input);
      continue;
    }
    auto found = traces_in(input);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace libleak
