// Trace files and directories: anything but a regular file is refused at once (no endless read
// of a device, no wait on a FIFO), with the file named; a directory entry that cannot be read is
// an error, not a trace silently left out of the report.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "report/error.h"
#include "report/trace_reader.h"
#include "trace_builder.h"

namespace libleak {
namespace {

using test::basic_spec;
using test::build_trace;

class TraceFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("libleak_trace_files_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::vector<std::byte>& b) {
    std::ofstream(dir_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }

  // The error reading `path`, as "source: message".
  static std::string read_error(const std::filesystem::path& path) {
    try {
      read_trace_file(path);
    } catch (const Error& e) {
      return e.source() + ": " + e.what();
    }
    return "(no error)";
  }

  std::filesystem::path dir_;
};

TEST_F(TraceFiles, DevZeroIsRefused) {
  EXPECT_EQ(read_error("/dev/zero"), "/dev/zero: not a regular file: a character device");
  EXPECT_EQ(read_error(dir_), dir_.string() + ": not a regular file: a directory");
}

// A FIFO with no writer would block open() and read() forever; a watchdog turns a hang into a
// failure (SIGALRM kills the test) instead of a stalled suite.
TEST_F(TraceFiles, FifoWithoutWriterIsRefusedWithoutBlocking) {
  auto fifo = dir_ / "trace.bin";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  alarm(30);
  EXPECT_EQ(read_error(fifo), fifo.string() + ": not a regular file: a FIFO");
  // In a directory, a FIFO is not a trace: skipped, not opened for long.
  write("a.bin", build_trace(basic_spec()));
  EXPECT_EQ(expand_inputs({dir_}), (std::vector<std::filesystem::path>{dir_ / "a.bin"}));
  alarm(0);
}

// Root reads any file whatever its mode, so the entries that cannot be read here are symlinks:
// one to a file that is gone and one to itself.
TEST_F(TraceFiles, UnreadableEntryOfADirectoryIsAnError) {
  write("a.bin", build_trace(basic_spec()));
  write("notes.txt", {std::byte{'h'}, std::byte{'i'}});
  std::filesystem::create_directory(dir_ / "sub");
  std::filesystem::create_symlink(dir_ / "a.bin", dir_ / "link.bin");
  std::filesystem::create_symlink(dir_ / "gone", dir_ / "out.bin.tmp.123");  // being written: skipped
  EXPECT_EQ(expand_inputs({dir_}), (std::vector<std::filesystem::path>{dir_ / "a.bin", dir_ / "link.bin"}));

  std::filesystem::create_symlink(dir_ / "gone", dir_ / "b.bin");
  try {
    expand_inputs({dir_});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.source(), (dir_ / "b.bin").string());
    EXPECT_STREQ(e.what(), "cannot read: No such file or directory");
  }
  std::filesystem::remove(dir_ / "b.bin");
  std::filesystem::create_symlink(dir_ / "loop.bin", dir_ / "loop.bin");
  try {
    expand_inputs({dir_});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.source(), (dir_ / "loop.bin").string());
    EXPECT_STREQ(e.what(), "cannot read: Too many levels of symbolic links");
  }
  EXPECT_EQ(read_error(dir_ / "loop.bin"),
            (dir_ / "loop.bin").string() + ": cannot open: Too many levels of symbolic links");
}

TEST_F(TraceFiles, ShortAndEmptyFiles) {
  auto bytes = build_trace(basic_spec());
  write("short.bin", std::vector<std::byte>(bytes.begin(), bytes.begin() + 40));
  EXPECT_EQ(read_error(dir_ / "short.bin"),
            (dir_ / "short.bin").string() + ": truncated: 40 bytes, the header alone needs 64");
  write("long.bin", {});
  EXPECT_EQ(read_error(dir_ / "long.bin"), (dir_ / "long.bin").string() + ": not a libleak trace (bad magic)");
}

}  // namespace
}  // namespace libleak
