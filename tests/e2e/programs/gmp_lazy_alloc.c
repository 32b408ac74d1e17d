/* GMP 6.2's lazy allocation versus a fast constructor that copies a template mpz_t.
 * Usage: gmp_lazy_alloc arena|default buggy|fixed N
 * arena: GMP memory comes from one mmap'd region (never malloc); free is a no-op.
 * buggy: the template is mpz_init'ed (_mp_alloc 0, _mp_d the shared dummy limb); the constructor
 *        gives each copy a fresh limb but leaves _mp_alloc at 0, so the first assignment makes
 *        GMP allocate anew and the constructor's limb is lost.
 * fixed: the template owns a limb (_mpz_realloc(template, 1)), so copies carry _mp_alloc 1 and
 *        GMP uses the constructor's limb. */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The region's base is not kept: a pointer to the first block would make it reachable. */
static struct { char* next; char* end; unsigned long frees; } g_arena;

static void* arena_alloc(size_t n) {
  size_t rounded = (n + 15) & ~(size_t)15;
  if (g_arena.next + rounded > g_arena.end) abort();
  void* p = g_arena.next;
  g_arena.next += rounded;
  return p;
}
static void* arena_realloc(void* p, size_t old_size, size_t new_size) {
  void* q = arena_alloc(new_size);
  memcpy(q, p, old_size < new_size ? old_size : new_size);
  return q;
}
static void arena_free(void* p, size_t n) {
  (void)p, (void)n;
  g_arena.frees++;
}

static mpz_t g_template;
typedef struct { mpz_t value; } Integer;

static void integer_construct(Integer* x) {
  void* (*alloc)(size_t);
  mp_get_memory_functions(&alloc, NULL, NULL);
  x->value[0] = g_template[0];
  x->value->_mp_d = alloc(sizeof(mp_limb_t)); /* CONSTRUCTOR_LIMB */
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  int arena = strcmp(argv[1], "arena") == 0, fixed = strcmp(argv[2], "fixed") == 0;
  long n = atol(argv[3]);
  if (arena) {
    size_t bytes = 64u << 20;
    char* base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 3;
    g_arena.next = base + 64;  /* a header: nothing points at the first block */
    g_arena.end = base + bytes;
    mp_set_memory_functions(arena_alloc, arena_realloc, arena_free);
  }
  mpz_init(g_template);
  if (fixed) _mpz_realloc(g_template, 1);

  Integer* xs = malloc(n * sizeof *xs);
  for (long i = 0; i < n; ++i) {
    integer_construct(&xs[i]);
    mpz_set_ui(xs[i].value, 0xfffffffful + (unsigned long)i); /* first assignment */
    mpz_mul(xs[i].value, xs[i].value, xs[i].value);          /* grows: GMP reallocates */
    mpz_mul(xs[i].value, xs[i].value, xs[i].value);
  }
  mpz_t sum;
  mpz_init(sum);
  for (long i = 0; i < n; ++i) mpz_add(sum, sum, xs[i].value);
  gmp_printf("sum %Zd\n", sum);
  for (long i = 0; i < n; ++i) mpz_clear(xs[i].value);
  mpz_clear(sum);
  mpz_clear(g_template);
  free(xs);
  return 0;
}
