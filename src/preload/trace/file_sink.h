// Buffered, allocation-free output for the trace writer: write(2) through an mmap'd buffer kept
// between writes, pwrite(2) to back-patch section headers, zlib sections with a reused deflate
// state in mmap'd memory. One writer at a time; runs wherever the writer runs (signal handlers too).
#pragma once

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "base/config.h"
#include "base/sys.h"
#include "libleak/trace_format.h"

namespace libleak {

class FileSink {
 public:
  static constexpr uint64_t kBufBytes = 1 << 20;
  // Compressed sections take their input in chunks of this size: deflate called once per
  // 100-byte record spends more time entering and leaving deflate than compressing.
  static constexpr uint64_t kStageBytes = 64 << 10;

  bool open(const char* path) {
    fd_ = -1;
    used_ = written_ = raw_ = 0;
    sections_ = 0;
    ok_ = true;
    deflating_ = false;
    if (!map_buffers()) return false;
    fd_ = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    return fd_ >= 0;
  }
  // Maps and touches the buffers and starts the deflate state ahead of a write, off its path.
  bool warm() {
    if (!map_buffers()) return false;
    __builtin_memset(buf_, 0, kBufBytes + kStageBytes);
    return !config().compress || start_deflate();
  }
  void put(const void* data, uint64_t n) {
    if (deflating_) return put_deflated(data, n);
    put_raw(data, n);
  }
  void put_raw(const void* data, uint64_t n) {
    auto* p = static_cast<const char*>(data);
    while (n) {
      if (used_ == kBufBytes) flush();
      uint64_t take = n < kBufBytes - used_ ? n : kBufBytes - used_;
      __builtin_memcpy(buf_ + used_, p, take);
      used_ += take;
      p += take;
      n -= take;
    }
  }
  void pad8() {
    static const char zeros[8] = {};
    if (deflating_) return put(zeros, (8 - raw_ % 8) % 8);  // alignment of the uncompressed payload
    put_raw(zeros, (8 - offset() % 8) % 8);
  }
  uint64_t offset() const { return written_ + used_; }
  void patch(uint64_t at, const void* data, uint64_t n) {
    flush();
    if (pwrite(fd_, data, n, off_t(at)) != ssize_t(n)) ok_ = false;
  }
  bool close() {
    flush();
    if (fd_ >= 0 && ::close(fd_) != 0) ok_ = false;
    fd_ = -1;
    return ok_;
  }
  // Closes without writing what is buffered: the file is about to be unlinked.
  void discard() {
    deflating_ = false;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Unmaps the buffers and the deflate state (release), or, in a fork child whose parent was in
  // the middle of a write, drops them without touching state that may be half updated (forget).
  void release() {
    if (z_ready_) deflateEnd(&zs_);
    sys_unmap(buf_, kBufBytes + kStageBytes);
    forget();
  }
  void forget() {
    z_ready_ = false;
    zs_ = z_stream{};
    buf_ = nullptr;
  }
  // Section helpers: begin() reserves the header, end() back-patches its size.
  uint64_t begin(uint32_t type) {
    trace::SectionHeader h{type, 0, 0};
    uint64_t at = offset();
    put(&h, sizeof h);
    return at;
  }
  void end(uint64_t at, uint32_t type) {
    trace::SectionHeader h{type, 0, offset() - at - sizeof h};
    pad8();
    patch(at, &h, sizeof h);
    ++sections_;
  }
  uint32_t sections() const { return sections_; }

  // A compressed section: Python stacks repeat the same return addresses thousands of times, and
  // zlib shrinks such sections by an order of magnitude. Falls back to a plain section if zlib
  // cannot start (no memory).
  uint64_t begin_zlib(uint32_t type) {
    uint64_t at = begin(type);
    if (!config().compress || !start_deflate()) return at;
    uint64_t raw_size = 0;
    put_raw(&raw_size, sizeof raw_size);  // back-patched in end_zlib
    deflating_ = true;
    raw_ = 0;
    staged_ = 0;
    return at;
  }
  void end_zlib(uint64_t at, uint32_t type) {
    if (!deflating_) return end(at, type);
    deflate_some(buf_ + kBufBytes, staged_, Z_FINISH);
    staged_ = 0;
    deflating_ = false;
    trace::SectionHeader h{type, trace::kSectionZlib, offset() - at - sizeof h};
    pad8();
    patch(at, &h, sizeof h);
    patch(at + sizeof h, &raw_, sizeof raw_);
    ++sections_;
  }

 private:
  void flush() {
    const char* p = buf_;
    uint64_t n = used_;
    while (n) {
      ssize_t w = ::write(fd_, p, n);
      if (w <= 0) {
        ok_ = false;
        break;
      }
      p += w;
      n -= uint64_t(w);
    }
    written_ += used_;
    used_ = 0;
  }
  // The output buffer and the deflate input stage, mapped once and kept between writes.
  bool map_buffers() {
    if (!buf_) buf_ = static_cast<char*>(sys_map(kBufBytes + kStageBytes));
    return buf_ != nullptr;
  }
  // The deflate state is made once and reset for every section (deflateReset keeps its memory,
  // and yields the same stream as a fresh deflateInit).
  bool start_deflate() {
    if (z_ready_) return deflateReset(&zs_) == Z_OK;
    zs_ = z_stream{};
    zs_.zalloc = z_alloc;
    zs_.zfree = z_free;
    // Fastest level: ~5x faster than the default and within ~20% of its size on these sections.
    z_ready_ = deflateInit(&zs_, Z_BEST_SPEED) == Z_OK;
    return z_ready_;
  }
  static voidpf z_alloc(voidpf, uInt items, uInt size) {
    uint64_t n = uint64_t(items) * size + 16;
    auto* p = static_cast<char*>(sys_map(n));
    if (!p) return Z_NULL;
    *reinterpret_cast<uint64_t*>(p) = n;
    return p + 16;
  }
  static void z_free(voidpf, voidpf p) {
    char* base = static_cast<char*>(p) - 16;
    sys_unmap(base, *reinterpret_cast<uint64_t*>(base));
  }
  void put_deflated(const void* data, uint64_t n) {
    raw_ += n;
    auto* p = static_cast<const char*>(data);
    char* stage = buf_ + kBufBytes;
    while (n) {
      uint64_t take = n < kStageBytes - staged_ ? n : kStageBytes - staged_;
      __builtin_memcpy(stage + staged_, p, take);
      staged_ += take;
      p += take;
      n -= take;
      if (staged_ == kStageBytes) {
        deflate_some(stage, staged_, Z_NO_FLUSH);
        staged_ = 0;
      }
    }
  }
  // Deflates straight into the output buffer, flushing it whenever deflate fills it.
  void deflate_some(const void* data, uint64_t n, int flush_mode) {
    zs_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    zs_.avail_in = uInt(n);
    int rc;
    do {
      if (used_ == kBufBytes) flush();
      zs_.next_out = reinterpret_cast<Bytef*>(buf_ + used_);
      zs_.avail_out = uInt(kBufBytes - used_);
      rc = deflate(&zs_, flush_mode);
      used_ = kBufBytes - zs_.avail_out;
    } while (zs_.avail_out == 0 || (flush_mode == Z_FINISH && rc == Z_OK));
  }
  z_stream zs_{};
  bool z_ready_ = false;
  bool deflating_ = false;
  uint64_t raw_ = 0;
  uint64_t staged_ = 0;
  int fd_ = -1;
  char* buf_ = nullptr;  // kBufBytes of output, then kStageBytes of deflate input
  uint64_t used_ = 0;
  uint64_t written_ = 0;
  uint32_t sections_ = 0;
  bool ok_ = true;
};

}  // namespace libleak
