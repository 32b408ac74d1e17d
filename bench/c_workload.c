/* C allocation workload for the benchmark: a ring of live blocks, each operation replacing a
 * random slot (realloc, free+malloc or free+calloc) from a random call depth 1..10 reached through
 * distinct noinline functions, so callsites differ by stack. Every block is written (memset) as a
 * real program would. Deterministic: the PRNG is seeded per thread, the checksum is reproducible.
 *
 * usage: c_workload [threads=1] [calls_per_thread=1000000] [slots=1000]
 * Each thread performs `calls_per_thread` calls to malloc/calloc/realloc/free on its own ring. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
/* Keeps the call in the chain from becoming a tail call, so every level stays on the stack. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

enum { kMinSize = 16, kMaxSize = 4096, kMaxDepth = 10 };

struct ring {
  void** slot;
  size_t* size;
  unsigned n;
  uint64_t rng;
  uint64_t calls;
  uint64_t checksum;
};

static uint64_t next_random(uint64_t* s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static size_t random_size(struct ring* r) { return kMinSize + next_random(&r->rng) % (kMaxSize - kMinSize + 1); }

/* The operation at the bottom of the chain: one slot replaced, 1 or 2 allocator calls. */
static NOINLINE void replace_slot(struct ring* r, unsigned i, unsigned kind) {
  size_t size = random_size(r);
  void* p;
  switch (kind) {
    case 0: /* realloc */
      p = realloc(r->slot[i], size);
      r->calls += 1;
      break;
    case 1: /* free + malloc */
      free(r->slot[i]);
      p = malloc(size);
      r->calls += 2;
      break;
    default: /* free + calloc */
      free(r->slot[i]);
      p = calloc(1, size);
      r->calls += 2;
      break;
  }
  if (!p) abort();
  memset(p, (int)(i & 0xff), size);
  r->checksum += ((unsigned char*)p)[size - 1] + size;
  r->slot[i] = p;
  r->size[i] = size;
}

/* Ten distinct functions: level k calls level k+1 until the requested depth is reached. */
#define LEVEL(k, next)                                                        \
  static NOINLINE void level##k(struct ring* r, unsigned d, unsigned i, unsigned kind) { \
    if (d <= k) replace_slot(r, i, kind);                                     \
    else next(r, d, i, kind);                                                 \
    KEEP_FRAME();                                                             \
  }
static NOINLINE void level10(struct ring* r, unsigned d, unsigned i, unsigned kind) {
  (void)d;
  replace_slot(r, i, kind);
  KEEP_FRAME();
}
LEVEL(9, level10)
LEVEL(8, level9)
LEVEL(7, level8)
LEVEL(6, level7)
LEVEL(5, level6)
LEVEL(4, level5)
LEVEL(3, level4)
LEVEL(2, level3)
LEVEL(1, level2)

struct job {
  unsigned id;
  uint64_t calls;
  unsigned slots;
  uint64_t checksum;
};

static void* run(void* arg) {
  struct job* job = arg;
  struct ring r = {0};
  r.n = job->slots;
  r.rng = 0x1234567ull + job->id;
  r.slot = malloc(r.n * sizeof *r.slot);
  r.size = malloc(r.n * sizeof *r.size);
  if (!r.slot || !r.size) abort();
  r.calls = 2;
  for (unsigned i = 0; i < r.n; ++i) { /* fill the ring */
    r.size[i] = random_size(&r);
    r.slot[i] = malloc(r.size[i]);
    if (!r.slot[i]) abort();
    memset(r.slot[i], 1, r.size[i]);
    r.calls++;
  }
  uint64_t budget = job->calls > r.n + r.calls ? job->calls - r.n - 2 : 0;
  while (r.calls < budget) {
    uint64_t x = next_random(&r.rng);
    unsigned i = (unsigned)(x % r.n);
    unsigned depth = 1 + (unsigned)((x >> 32) % kMaxDepth);
    unsigned kind = (unsigned)((x >> 48) % 3);
    level1(&r, depth, i, kind);
  }
  for (unsigned i = 0; i < r.n; ++i) free(r.slot[i]);
  r.calls += r.n;
  free(r.size);
  free(r.slot);
  job->calls = r.calls;
  job->checksum = r.checksum;
  return NULL;
}

int main(int argc, char** argv) {
  unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
  uint64_t calls = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
  unsigned slots = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
  if (threads < 1 || threads > 64 || slots < 1) {
    fprintf(stderr, "usage: %s [threads 1..64] [calls per thread] [slots]\n", argv[0]);
    return 2;
  }
  struct job jobs[64];
  pthread_t tids[64];
  for (unsigned t = 0; t < threads; ++t) {
    jobs[t] = (struct job){t, calls, slots, 0};
    if (pthread_create(&tids[t], NULL, run, &jobs[t])) abort();
  }
  uint64_t total = 0, checksum = 0;
  for (unsigned t = 0; t < threads; ++t) {
    pthread_join(tids[t], NULL);
    total += jobs[t].calls;
    checksum += jobs[t].checksum;
  }
  printf("threads=%u calls=%llu checksum=%llu\n", threads, (unsigned long long)total, (unsigned long long)checksum);
  return 0;
}
