// Threads keep making call stacks never seen before while libleak's periodic writer rewrites the
// trace every few milliseconds, and the main thread keeps a hard link to each version of the file.
// Each thread allocates ROUNDS blocks from every (depth, site) pair and holds the last
// HELD of them, so every version of the trace has live blocks on freshly made stacks.
// usage: proc_new_stacks TRACE COPY_PREFIX
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define DEPTHS 120
#define SITES 4
#define HELD 64

static void* held[THREADS][HELD];
static volatile int running = THREADS;

__attribute__((noinline)) void* new_stack_site(int site) {
  switch (site) {  // four call sites: four stacks per depth
    case 0: return malloc(24);
    case 1: return malloc(40);
    case 2: return malloc(56);
    default: return malloc(72);
  }
}

__attribute__((noinline)) void* descend(int depth, int site) {
  void* p = depth ? descend(depth - 1, site) : new_stack_site(site);
  __asm__ volatile("" ::: "memory");  // not a tail call: each depth is a frame
  return p;
}

static void* worker(void* arg) {
  long t = (long)arg;
  unsigned n = 0;
  for (int depth = 0; depth < DEPTHS; ++depth)
    for (int site = 0; site < SITES; ++site) {
      void** slot = &held[t][n++ % HELD];
      free(*slot);
      *slot = descend(depth, site);
      if (site == 0) usleep(3000);  // spread the new stacks over many periodic writes
    }
  __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  pthread_t threads[THREADS];
  for (long t = 0; t < THREADS; ++t) pthread_create(&threads[t], NULL, worker, (void*)t);
  int copies = 0;
  char name[4096];
  while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) && copies < 150) {
    snprintf(name, sizeof name, "%s%03d", argv[2], copies);
    if (link(argv[1], name) == 0) ++copies;  // the version written last, kept as it is
    usleep(10000);
  }
  for (int t = 0; t < THREADS; ++t) pthread_join(threads[t], NULL);
  for (int t = 0; t < THREADS; ++t)
    for (int i = 0; i < HELD; ++i) free(held[t][i]);
  printf("copies: %d\n", copies > 0);
  return 0;
}
