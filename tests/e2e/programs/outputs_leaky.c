// Known answers for the output formats (plot, flame graph, pprof, baseline). Per iteration
// (ITERATIONS of them, SLEEP_US apart): lose_block() leaks n x 48 bytes (n = argv[1], default 1),
// grow_cache() keeps one 1024-byte block in a global table (reachable, but born all run long:
// growing), scratch() allocates and frees 4096 bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ITERATIONS 30
#define SLEEP_US 10000

static void* volatile sink;
static void* cache[ITERATIONS];

__attribute__((noinline)) void lose_block(void) {
  char* p = malloc(48);  // LOSE_BLOCK
  memset(p, 2, 48);
  sink = p;
  sink = 0;
}

__attribute__((noinline)) void grow_cache(int i) {
  cache[i] = malloc(1024);  // GROW_CACHE
  memset(cache[i], 3, 1024);
}

__attribute__((noinline)) void scratch(void) {
  char* p = malloc(4096);  // SCRATCH
  memset(p, 4, 4096);
  sink = p;
  free(p);
  sink = 0;
}

__attribute__((noinline)) void iteration(int i, int n) {
  for (int k = 0; k < n; k++) lose_block();
  grow_cache(i);
  scratch();
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  for (int i = 0; i < ITERATIONS; i++) {
    iteration(i, n);
    usleep(SLEEP_US);
  }
  printf("done %d\n", n);
  return 0;
}
