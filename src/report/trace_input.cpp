// The reader's memory budget and section cursor (trace_input.h). A compressed section is inflated
// through a window that holds only what is being read; zlib's own state is charged as a whole.
#include "report/trace_input.h"

#include <algorithm>

#include <fmt/format.h>
#include <zlib.h>

#include "report/error.h"
#include "report/trace_reader.h"

namespace libleak {

namespace {

// Allocations too small or too fixed to charge one by one (the Trace and StackStore objects, a
// cursor, an error's message) stay within this much of the public bound.
constexpr uint64_t kUnchargedReserve = 16 * 1024;

// What inflateInit and the first inflate allocate: the state and a 32 KiB window (zlib.h).
constexpr uint64_t kZlibStateBytes = 48 * 1024;

}  // namespace

Budget::Budget(uint64_t file_size)
    : file_size_(file_size),
      limit_(file_size * kReaderMemoryPerByte + kReaderMemorySlack - kUnchargedReserve) {}

void Budget::charge(uint64_t bytes, const char* what) {
  if (bytes > limit_ - used_) {
    throw Error(fmt::format("{} needs more memory than a {}-byte trace may take ({} bytes): the file "
                            "is damaged or hostile", what, file_size_, limit_ + kUnchargedReserve));
  }
  used_ += bytes;
}

// The inflating half of a Cursor: window_[begin_, end_) holds inflated bytes not yet read.
class Inflater {
 public:
  Inflater(std::span<const std::byte> stream, uint64_t size, uint32_t index, Budget& budget)
      : size_(size), index_(index), budget_(budget) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(stream.data()));
    z_.avail_in = static_cast<uInt>(std::min<size_t>(stream.size(), UINT32_MAX));
    rest_in_ = stream.size() - z_.avail_in;
    budget_.charge(kZlibStateBytes, "compressed section");
    if (inflateInit(&z_) != Z_OK) {
      budget_.release(kZlibStateBytes);
      throw Error(fmt::format("section {}: cannot start zlib", index));
    }
  }
  ~Inflater() {
    inflateEnd(&z_);
    budget_.release(kZlibStateBytes + window_.capacity());
  }

  // The next n bytes of the inflated payload (the caller checked they are within `size`).
  std::span<const std::byte> read(uint64_t n) {
    if (end_ - begin_ < n) fill(n);
    auto out = std::span<const std::byte>(window_).subspan(begin_, static_cast<size_t>(n));
    begin_ += static_cast<size_t>(n);
    return out;
  }

  // After the last byte of `size`: the stream must end there. Bytes after its end are ignored,
  // as zlib's uncompress() did before sections were inflated a window at a time.
  void finish() {
    std::byte extra;
    z_.next_out = reinterpret_cast<Bytef*>(&extra);
    z_.avail_out = 1;
    if (!ended_) {
      feed();
      ended_ = inflate(&z_, Z_NO_FLUSH) == Z_STREAM_END;
    }
    if (!ended_ || z_.avail_out != 1) {
      throw Error(fmt::format("section {} is damaged: its zlib stream does not end after {} bytes",
                              index_, size_));
    }
  }

 private:
  static constexpr size_t kChunk = 64 * 1024;  // inflated per zlib call when records are small

  void feed() {
    if (z_.avail_in == 0 && rest_in_) {
      z_.avail_in = static_cast<uInt>(std::min<uint64_t>(rest_in_, UINT32_MAX));
      rest_in_ -= z_.avail_in;
    }
  }

  // Keeps the unread bytes, makes room for at least n, and inflates until n are there.
  void fill(uint64_t n) {
    size_t have = end_ - begin_;
    if (have) std::memmove(window_.data(), window_.data() + begin_, have);  // data() is null at first
    begin_ = 0, end_ = have;
    uint64_t want = std::min<uint64_t>(std::max<uint64_t>(n, kChunk), size_ - produced_ + have);
    if (want > window_.capacity()) {
      budget_.charge(want - window_.capacity(), "compressed section");
      window_.reserve(static_cast<size_t>(want));
    }
    if (want > window_.size()) window_.resize(static_cast<size_t>(want));
    while (end_ < n) {
      z_.next_out = reinterpret_cast<Bytef*>(window_.data() + end_);
      z_.avail_out = static_cast<uInt>(std::min<uint64_t>(want - end_, UINT32_MAX));
      feed();
      uInt before = z_.avail_out;
      int rc = ended_ ? Z_STREAM_END : inflate(&z_, Z_NO_FLUSH);
      size_t got = before - z_.avail_out;
      end_ += got, produced_ += got;
      ended_ = rc == Z_STREAM_END;
      if (ended_ && end_ < n) {
        throw Error(fmt::format("section {} is damaged: its zlib stream ends after {} of {} bytes",
                                index_, produced_, size_));
      }
      if (rc != Z_OK && rc != Z_STREAM_END) {
        throw Error(fmt::format("section {} is damaged: zlib error {} ({} of {} bytes)", index_, rc,
                                produced_, size_));
      }
    }
  }

  z_stream z_{};
  uint64_t rest_in_ = 0;  // stream bytes beyond one zlib call's 4 GiB
  uint64_t size_;
  uint64_t produced_ = 0;
  bool ended_ = false;
  uint32_t index_;
  Budget& budget_;
  std::vector<std::byte> window_;
  size_t begin_ = 0, end_ = 0;
};

Cursor::Cursor(std::span<const std::byte> bytes, const char* what)
    : bytes_(bytes), what_(what), size_(bytes.size()) {}

Cursor::Cursor(std::span<const std::byte> stored, const char* what, uint32_t index, Budget& budget)
    : what_(what) {
  Cursor header(stored, "compressed section");
  size_ = header.take<uint64_t>();
  auto stream = header.need(header.remaining());
  if (size_ > stream.size() * kMaxInflateRatio + kInflateSlack) {
    throw Error(fmt::format("section {} claims {} bytes uncompressed from {} compressed (at most {} "
                            "allowed)", index, size_, stream.size(),
                            stream.size() * kMaxInflateRatio + kInflateSlack));
  }
  inflater_ = std::make_unique<Inflater>(stream, size_, index, budget);
}

Cursor::~Cursor() = default;

void Cursor::check_room(uint64_t n) const {
  if (n > remaining()) {
    throw Error(fmt::format("{} is truncated: needs {} bytes at offset {}, has {}", what_, n, pos_,
                            remaining()));
  }
}

std::span<const std::byte> Cursor::need(uint64_t n) {
  check_room(n);
  auto out = inflater_ ? inflater_->read(n) : bytes_.subspan(static_cast<size_t>(pos_), static_cast<size_t>(n));
  pos_ += n;
  return out;
}

void Cursor::skip(uint64_t n) {
  check_room(n);
  if (inflater_) {
    for (uint64_t left = n; left;) {
      uint64_t step = std::min<uint64_t>(left, 64 * 1024);
      inflater_->read(step);
      left -= step;
    }
  }
  pos_ += n;
}

void Cursor::align8() { skip(std::min(remaining(), ((pos_ + 7) & ~uint64_t{7}) - pos_)); }

void Cursor::finish() {
  if (!inflater_) return;
  skip(remaining());
  inflater_->finish();
}

}  // namespace libleak
