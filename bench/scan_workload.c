/* Exit-scan workload: N live blocks (default 1,000,000) reachable from a global, plus N/100
 * blocks whose only pointers are lost, then main returns without freeing anything. Prints the
 * CLOCK_MONOTONIC time just before returning, so the runner can measure how long the process
 * takes from there to its end (the exit scan and trace write under libleak).
 *
 * Nodes form a singly linked list from `g_root`; each node also points into the middle of an
 * earlier node (interior pointers, as with Python objects behind their GC header), so the scan
 * meets both kinds of reference. Sizes 32..160 bytes, deterministic.
 *
 * usage: scan_workload [blocks=1000000] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct node {
  struct node* next;
  char* other; /* interior pointer into an earlier node */
  uint64_t payload[];
};

struct node* g_root;

static uint64_t next_random(uint64_t* s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Builds a list of n nodes; returns its head. `prev_pick` keeps a random earlier node. */
static __attribute__((noinline)) struct node* build(unsigned long n, uint64_t* rng) {
  struct node* head = NULL;
  struct node* pick = NULL;
  for (unsigned long i = 0; i < n; ++i) {
    size_t size = 32 + (next_random(rng) % 9) * 16;
    struct node* x = malloc(size);
    if (!x) abort();
    memset(x, 0, size);
    x->next = head;
    x->other = pick ? (char*)pick + 16 : NULL;
    if (next_random(rng) % 64 == 0) pick = x;
    head = x;
  }
  return head;
}

static __attribute__((noinline)) void lose(unsigned long n, uint64_t* rng) {
  struct node* volatile head = build(n, rng);
  head = NULL; /* the only pointer to the list is gone: all n blocks are unreachable */
  (void)head;
}

int main(int argc, char** argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
  uint64_t rng = 42;
  g_root = build(n, &rng);
  lose(n / 100, &rng);
  char scrub[4096]; /* overwrite stack residue of `lose` so the lost list stays lost */
  memset(scrub, 0, sizeof scrub);
  __asm__ volatile("" ::"r"(scrub) : "memory");
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("blocks=%lu end_ns=%llu\n", n + n / 100, (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec);
  fflush(stdout);
  return 0;
}
