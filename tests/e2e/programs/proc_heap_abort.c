// glibc detects a corrupted heap inside malloc and calls abort() while holding the arena lock
// (libleak's background thread makes the process multi-threaded, so the lock is taken): the
// SIGABRT handler must write the trace without calling into the allocator, or it hangs.
// Leaks 4 x 256 bytes at heap_leak first; prints "ready".
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void heap_leak(void) {
  for (int i = 0; i < 4; ++i) {
    void* volatile p = malloc(256);  // HEAP_LEAK
    (void)p;
  }
}

int main(void) {
  heap_leak();
  printf("ready\n");
  fflush(stdout);
  // Overwrite the top chunk's size field behind a fresh block: the next malloc that needs the
  // top chunk aborts with "malloc(): corrupted top size".
  volatile unsigned char* top = (volatile unsigned char*)malloc(24) + 24;
  for (int i = 0; i < 8; ++i) top[i] = 0xff;
  for (int i = 0; i < 64; ++i) {
    void* volatile q = malloc(100000 >> 4);
    (void)q;
  }
  return 0;
}
