// Plugin A: leaks 3 x 111 bytes, then the host dlcloses it.
#include <stdlib.h>

__attribute__((noinline)) void plugin_a_leak(void) {
  for (int i = 0; i < 3; ++i) {
    void* volatile p = malloc(111);  // PLUGIN_A_LEAK
    (void)p;
  }
}
