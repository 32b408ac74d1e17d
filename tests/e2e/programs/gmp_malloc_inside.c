/* A GMP allocation function that calls malloc itself: each block must be counted once, and may be
 * freed with free() directly or through GMP; a malloc'd block may be freed through GMP.
 * Usage: gmp_malloc_inside FREED KEPT: FREED blocks go through GMP's allocation function and
 * come back through free(), FREED malloc'd blocks go back through GMP's free function, and KEPT
 * GMP blocks stay reachable from g_kept until exit. */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long allocs, frees;
static void* my_alloc(size_t n) { allocs++; return malloc(n); }
static void* my_realloc(void* p, size_t o, size_t n) { (void)o; return realloc(p, n); }
static void my_free(void* p, size_t n) { (void)n; frees++; free(p); }

void** g_kept;

static void* make_block(void* (*alloc)(size_t), size_t n) {
  return alloc(n); /* MAKE_BLOCK */
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  long freed = atol(argv[1]), kept = atol(argv[2]);
  mp_set_memory_functions(my_alloc, my_realloc, my_free);
  void* (*alloc)(size_t);
  void (*gmp_free)(void*, size_t);
  mp_get_memory_functions(&alloc, NULL, &gmp_free);
  for (long i = 0; i < freed; ++i) free(make_block(alloc, 40));
  for (long i = 0; i < freed; ++i) gmp_free(malloc(24), 24);
  g_kept = malloc((kept ? kept : 1) * sizeof *g_kept);
  for (long i = 0; i < kept; ++i) g_kept[i] = make_block(alloc, 56);
  printf("allocs %lu frees %lu\n", allocs, frees);
  return 0;
}
