// Edge cases of the allocation API. Known answers (all lost, so unreachable):
//   leak_realloc_null 123, leak_realloc_fail 64 (the block whose realloc failed),
//   leak_posix_memalign 200, leak_aligned_alloc 256, leak_memalign 96, leak_valloc 1000,
//   leak_pvalloc one page, leak_reallocarray 300 bytes; one block each. realloc_zero,
//   failing_calls and errno_kept leak nothing. Prints what the program observes, which must be
//   the same with and without libleak.
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wuse-after-free"  // realloc failed: p is still valid
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void* volatile sink;
static volatile size_t huge = SIZE_MAX;  // volatile: keeps the compiler from flagging the failing calls
static char out_buf[16384];

__attribute__((noinline)) void realloc_zero(void) {
  void* p = malloc(100);
  void* q = realloc(p, 0);  // frees p; glibc returns NULL
  printf("realloc(p, 0) -> %s\n", q ? "block" : "NULL");
  free(q);
}

__attribute__((noinline)) void leak_realloc_null(void) {
  sink = realloc(NULL, 123);  // REALLOC_NULL
  sink = 0;
}

__attribute__((noinline)) void leak_realloc_fail(void) {
  char* p = malloc(64);  // REALLOC_FAIL
  memset(p, 7, 64);
  errno = 0;
  char* q = realloc(p, huge - 4096);
  printf("realloc(p, huge) -> %s errno=%s p intact=%d\n", q ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other",
         p[63] == 7);
  sink = p;  // p is still the program's: the failed realloc left it alone
  sink = 0;
}

__attribute__((noinline)) void failing_calls(void) {
  errno = 0;
  void* p = malloc(huge);
  printf("malloc(SIZE_MAX) -> %s errno=%s\n", p ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
  errno = 0;
  p = calloc(huge / 2, 4);
  printf("calloc(overflow) -> %s errno=%s\n", p ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
  errno = 0;
  p = reallocarray(NULL, huge / 2, 4);
  printf("reallocarray(overflow) -> %s errno=%s\n", p ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
  void* out = (void*)1;
  int rc = posix_memalign(&out, 64, huge - 4096);
  printf("posix_memalign(huge) -> %s out unchanged=%d\n", rc == ENOMEM ? "ENOMEM" : "other", out == (void*)1);
  errno = 0;
  p = aligned_alloc(64, huge - 4096);
  printf("aligned_alloc(huge) -> %s errno=%s\n", p ? "block" : "NULL", errno == ENOMEM ? "ENOMEM" : "other");
  free(NULL);
}

__attribute__((noinline)) void leak_posix_memalign(void) {
  void* p = NULL;
  int rc = posix_memalign(&p, 64, 200);  // POSIX_MEMALIGN
  printf("posix_memalign rc=%d aligned=%d\n", rc, ((uintptr_t)p & 63) == 0);
  sink = p;
  sink = 0;
}

__attribute__((noinline)) void leak_aligned_alloc(void) {
  void* p = aligned_alloc(128, 256);  // ALIGNED_ALLOC
  printf("aligned_alloc aligned=%d\n", ((uintptr_t)p & 127) == 0);
  sink = p;
  sink = 0;
}

__attribute__((noinline)) void leak_memalign(void) {
  void* p = memalign(32, 96);  // MEMALIGN_PLAIN
  printf("memalign aligned=%d\n", ((uintptr_t)p & 31) == 0);
  sink = p;
  sink = 0;
}

__attribute__((noinline)) void leak_valloc(void) {
  void* p = valloc(1000);  // VALLOC
  printf("valloc aligned=%d\n", ((uintptr_t)p & (uintptr_t)(sysconf(_SC_PAGESIZE) - 1)) == 0);
  sink = p;
  sink = 0;
}

__attribute__((noinline)) void leak_pvalloc(void) {
  void* p = pvalloc(5000);  // PVALLOC
  printf("pvalloc aligned=%d\n", ((uintptr_t)p & (uintptr_t)(sysconf(_SC_PAGESIZE) - 1)) == 0);
  sink = p;
  sink = 0;
}

__attribute__((noinline)) void leak_reallocarray(void) {
  sink = reallocarray(NULL, 10, 30);  // REALLOCARRAY
  sink = 0;
}

__attribute__((noinline)) void errno_kept(void) {
  errno = 1234;
  void* p = malloc(50);
  printf("errno after malloc: %d\n", errno);
  errno = 2345;
  p = realloc(p, 5000);
  printf("errno after realloc: %d\n", errno);
  errno = 3456;
  free(p);
  printf("errno after free: %d\n", errno);
  errno = 4567;
  p = calloc(3, 7);
  printf("errno after calloc: %d\n", errno);
  errno = 5678;
  free(p);
  free(NULL);
  printf("errno after free(NULL): %d\n", errno);
  errno = 6789;
  void* a = NULL;
  if (posix_memalign(&a, 64, 64) == 0) free(a);
  printf("errno after posix_memalign+free: %d\n", errno);
}

__attribute__((noinline)) void clobber_stack(void) {
  volatile char buf[32 * 1024];
  memset((char*)buf, 0, sizeof buf);
}

int main(void) {
  setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);  // no heap buffer for stdout
  realloc_zero();
  leak_realloc_null();
  leak_realloc_fail();
  failing_calls();
  leak_posix_memalign();
  leak_aligned_alloc();
  leak_memalign();
  leak_valloc();
  leak_pvalloc();
  leak_reallocarray();
  errno_kept();
  clobber_stack();
  printf("page=%ld\n", sysconf(_SC_PAGESIZE));
  return 0;
}
