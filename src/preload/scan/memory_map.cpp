// Reading /proc/self/maps without the program's heap; see memory_map.h.
#include "scan/memory_map.h"

#include <fcntl.h>
#include <unistd.h>

namespace libleak {

namespace {
uintptr_t parse_hex(const char*& p) {
  uintptr_t v = 0;
  for (;; ++p) {
    char c = *p;
    if (c >= '0' && c <= '9') v = v * 16 + uintptr_t(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + uintptr_t(c - 'a' + 10);
    else return v;
  }
}
}  // namespace

bool MemoryMap::read() {
  constexpr uint64_t kBuf = 16u << 20;
  char* buf = static_cast<char*>(sys_map(kBuf));
  if (!buf) return false;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  uint64_t len = 0;
  if (fd >= 0) {
    ssize_t n;
    while (len < kBuf - 1 && (n = ::read(fd, buf + len, kBuf - 1 - len)) > 0) len += uint64_t(n);
    close(fd);
  }
  buf[len] = 0;
  uint64_t lines = 0;
  for (uint64_t i = 0; i < len; ++i) lines += buf[i] == '\n';
  bool ok = maps_.reserve(lines + 1);
  for (const char* p = buf; ok && *p;) {
    Mapping m;
    m.start = parse_hex(p);
    ++p;  // '-'
    m.end = parse_hex(p);
    ++p;  // ' '
    m.readable = *p == 'r';
    maps_.push(m);
    while (*p && *p != '\n') ++p;
    if (*p) ++p;
  }
  sys_unmap(buf, kBuf);
  return ok;
}

const Mapping* MemoryMap::mapping_of(uintptr_t a) const {
  uint64_t lo = 0, hi = maps_.size;
  while (lo < hi) {
    uint64_t mid = (lo + hi) / 2;
    if (maps_.data[mid].end <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo < maps_.size && maps_.data[lo].start <= a ? &maps_.data[lo] : nullptr;
}

bool MemoryMap::readable(uintptr_t start, uintptr_t end) const {
  while (start < end) {
    const Mapping* m = mapping_of(start);
    if (!m || !m->readable) return false;
    start = m->end;
  }
  return true;
}

}  // namespace libleak
