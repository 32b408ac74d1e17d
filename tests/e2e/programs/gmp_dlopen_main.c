/* Loads the GMP plug-in given as argv[1] late, with dlopen (RTLD_LOCAL: libgmp is not in the
 * global scope), and runs it. This program does not link GMP. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "%s\n", dlerror());
    return 3;
  }
  unsigned long (*run)(int) = (unsigned long (*)(int))dlsym(h, "plugin_run");
  if (!run) return 4;
  printf("allocs %lu\n", run(atoi(argv[2])));
  return 0;
}
