/* GMP memory functions set more than once: blocks allocated under the first set are freed,
 * reallocated and freed again after the second, through GMP and through the functions
 * mp_get_memory_functions returned before the second set; the saved functions are then set back
 * (restoring what mp_get_memory_functions gave), and finally GMP's defaults (NULL).
 * Usage: gmp_set_twice N. Prints how often each program function ran. */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long a_allocs, a_reallocs, a_frees, b_allocs, b_reallocs, b_frees;

static void* a_alloc(size_t n) { a_allocs++; return malloc(n); }
static void* a_realloc(void* p, size_t o, size_t n) { (void)o; a_reallocs++; return realloc(p, n); }
static void a_free(void* p, size_t n) { (void)n; a_frees++; free(p); }
static void* b_alloc(size_t n) { b_allocs++; return calloc(1, n); }
static void* b_realloc(void* p, size_t o, size_t n) { (void)o; b_reallocs++; return realloc(p, n); }
static void b_free(void* p, size_t n) { (void)n; b_frees++; free(p); }

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  long n = atol(argv[1]);
  mpz_t* xs = malloc((n ? n : 1) * sizeof *xs);

  mp_set_memory_functions(a_alloc, a_realloc, a_free);
  for (long i = 0; i < n; ++i) mpz_init_set_ui(xs[i], 1000u + (unsigned long)i);
  void* (*saved_alloc)(size_t);
  void* (*saved_realloc)(void*, size_t, size_t);
  void (*saved_free)(void*, size_t);
  mp_get_memory_functions(&saved_alloc, &saved_realloc, &saved_free);

  mp_set_memory_functions(b_alloc, b_realloc, b_free);
  for (long i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      mpz_mul_2exp(xs[i], xs[i], 300);  /* an A block reallocated through B */
      mpz_clear(xs[i]);                 /* and freed through B */
    } else {
      saved_free(xs[i]->_mp_d, (size_t)xs[i]->_mp_alloc * sizeof(mp_limb_t)); /* through A */
    }
  }

  mp_set_memory_functions(saved_alloc, saved_realloc, saved_free);  /* back to A */
  for (long i = 0; i < n; ++i) {
    mpz_init_set_ui(xs[i], 7u);
    mpz_mul_2exp(xs[i], xs[i], 200);
    mpz_clear(xs[i]);
  }

  mp_set_memory_functions(NULL, NULL, NULL);  /* GMP's defaults */
  for (long i = 0; i < n; ++i) {
    mpz_init_set_ui(xs[i], 9u);
    mpz_mul_2exp(xs[i], xs[i], 200);
    mpz_clear(xs[i]);
  }
  free(xs);
  printf("a %lu %lu %lu b %lu %lu %lu\n", a_allocs, a_reallocs, a_frees, b_allocs, b_reallocs, b_frees);
  return 0;
}
