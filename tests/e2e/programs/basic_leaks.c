// Known answers: leak_small leaks 10 x 100 bytes, leak_calloc 3 x (4 x 25) bytes; the rest is freed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* volatile sink;

__attribute__((noinline)) void leak_small(void) {
  for (int i = 0; i < 10; i++) {
    char* p = malloc(100);  // LEAK_SMALL
    memset(p, 1, 100);
    sink = p;
  }
  sink = 0;
}

__attribute__((noinline)) void leak_calloc(void) {
  for (int i = 0; i < 3; i++) sink = calloc(4, 25);  // LEAK_CALLOC
  sink = 0;
}

__attribute__((noinline)) void no_leak(void) {
  for (int i = 0; i < 100; i++) {
    void* p = malloc(64);
    p = realloc(p, 128);
    free(p);
  }
}

int main(void) {
  leak_small();
  leak_calloc();
  no_leak();
  printf("done\n");
  return 0;
}
