/* Four threads allocate, reallocate and free through GMP at once, with program-installed memory
 * functions: through mpz arithmetic and by calling the functions from mp_get_memory_functions.
 * Each thread keeps one block, grown to 64 bytes by realloc, reachable from g_kept until exit.
 * Usage: gmp_threads ITERATIONS. Prints the program functions' call counts. */
#include <gmp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

enum { kThreads = 4 };
static atomic_ulong allocs, reallocs, frees;
static void* my_alloc(size_t n) { atomic_fetch_add(&allocs, 1); return malloc(n); }
static void* my_realloc(void* p, size_t o, size_t n) { (void)o; atomic_fetch_add(&reallocs, 1); return realloc(p, n); }
static void my_free(void* p, size_t n) { (void)n; atomic_fetch_add(&frees, 1); free(p); }

static long g_iterations;
void* g_kept[kThreads];

static void* worker(void* arg) {
  long id = (long)arg;
  void* (*alloc)(size_t);
  void* (*re)(void*, size_t, size_t);
  void (*release)(void*, size_t);
  mp_get_memory_functions(&alloc, &re, &release);
  for (long i = 0; i < g_iterations; ++i) {
    mpz_t x;
    mpz_init_set_ui(x, (unsigned long)(id + i + 2));
    mpz_pow_ui(x, x, 40 + (unsigned long)(i % 50));
    mpz_clear(x);
    void* p = alloc(16);
    p = re(p, 16, 48 + (size_t)(i % 7) * 8);
    release(p, 0);
  }
  g_kept[id] = re(alloc(16), 16, 64); /* KEPT */
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  g_iterations = atol(argv[1]);
  mp_set_memory_functions(my_alloc, my_realloc, my_free);
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; ++i) pthread_create(&t[i], NULL, worker, (void*)i);
  for (long i = 0; i < kThreads; ++i) pthread_join(t[i], NULL);
  printf("allocs %lu reallocs %lu frees %lu\n", (unsigned long)allocs, (unsigned long)reallocs,
         (unsigned long)frees);
  return 0;
}
