// Allocation-free helpers for libleak.so: memory from mmap, clocks, strings, stderr lines, getenv.
// Everything here is async-signal-safe and never calls the program's allocator.
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/sys.h"

extern char** environ;

namespace libleak {

LIBLEAK_TLS ThreadState t_state;  // guard.h

void* sys_map(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void sys_unmap(void* p, size_t bytes) {
  if (p) munmap(p, bytes);
}

static uint64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

uint64_t now_monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
uint64_t now_realtime_ns() { return clock_ns(CLOCK_REALTIME); }
uint64_t now_coarse_ms() { return clock_ns(CLOCK_MONOTONIC_COARSE) / 1000000u; }

size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool str_eq(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

bool str_starts_with(const char* s, const char* prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return false;
  return true;
}

void str_copy(char* dst, size_t cap, const char* src) {
  size_t i = 0;
  for (; src[i] && i + 1 < cap; ++i) dst[i] = src[i];
  dst[i] = 0;
}

const char* path_basename(const char* path) {
  const char* base = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/') base = p + 1;
  return base;
}

size_t fmt_u64(char* buf, size_t cap, size_t len, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = char('0' + v % 10);
    v /= 10;
  } while (v);
  while (n && len + 1 < cap) buf[len++] = tmp[--n];
  buf[len] = 0;
  return len;
}

size_t fmt_str(char* buf, size_t cap, size_t len, const char* s) {
  while (s && *s && len + 1 < cap) buf[len++] = *s++;
  buf[len] = 0;
  return len;
}

void log_line(const char* a, const char* b, const char* c, const char* d) {
  char line[1024];
  size_t n = fmt_str(line, sizeof line - 1, 0, "libleak: ");
  n = fmt_str(line, sizeof line - 1, n, a);
  n = fmt_str(line, sizeof line - 1, n, b);
  n = fmt_str(line, sizeof line - 1, n, c);
  n = fmt_str(line, sizeof line - 1, n, d);
  line[n++] = '\n';
  ssize_t ignored = write(2, line, n);
  (void)ignored;
}

const char* env_get(const char* name) {
  if (!environ) return nullptr;
  size_t n = str_len(name);
  for (char** e = environ; *e; ++e) {
    const char* s = *e;
    size_t i = 0;
    while (i < n && s[i] == name[i]) ++i;
    if (i == n && s[i] == '=') return s + n + 1;
  }
  return nullptr;
}

}  // namespace libleak
