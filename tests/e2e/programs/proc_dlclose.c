// Loads plugin A (argv[1]), lets it leak, dlcloses it, then loads plugin B (argv[2]) and lets it
// leak. Prints both load addresses (link-map l_addr) so the test knows whether B reused A's.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

static int run_plugin(const char* path, const char* symbol, int close_after, unsigned long* base) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  struct link_map* map = NULL;
  if (dlinfo(h, RTLD_DI_LINKMAP, &map) != 0) return 1;
  *base = (unsigned long)map->l_addr;
  void (*fn)(void) = (void (*)(void))dlsym(h, symbol);
  if (!fn) return 1;
  fn();
  return close_after ? dlclose(h) : 0;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  unsigned long base_a = 0, base_b = 0;
  if (run_plugin(argv[1], "plugin_a_leak", 1, &base_a)) return 1;
  if (run_plugin(argv[2], "plugin_b_leak", 0, &base_b)) return 1;
  printf("base_a %#lx\nbase_b %#lx\n", base_a, base_b);
  return 0;
}
