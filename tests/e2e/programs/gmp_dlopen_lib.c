/* A plug-in linked with -lgmp that installs its own GMP memory functions when it runs; loaded
 * late with dlopen by gmp_dlopen_main, which does not link GMP. plugin_run leaks `n` limbs. */
#include <gmp.h>
#include <stdlib.h>

static unsigned long allocs;
static void* plugin_alloc(size_t n) { allocs++; return malloc(n); }
static void* plugin_realloc(void* p, size_t o, size_t n) { (void)o; return realloc(p, n); }
static void plugin_free(void* p, size_t n) { (void)n; free(p); }

static void plugin_lose_limb(void) {
  void* (*alloc)(size_t);
  mp_get_memory_functions(&alloc, NULL, NULL);
  void* limb = alloc(sizeof(mp_limb_t)); /* PLUGIN_LEAK */
  (void)limb;
}

unsigned long plugin_run(int n) {
  mp_set_memory_functions(plugin_alloc, plugin_realloc, plugin_free);
  mpz_t x;
  mpz_init(x);
  mpz_ui_pow_ui(x, 3, 5000);
  mpz_clear(x);
  for (int i = 0; i < n; ++i) plugin_lose_limb();
  return allocs;
}
