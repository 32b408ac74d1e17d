// Plugin B, loaded after A is closed, usually at A's address: its first function sits where
// plugin_a_leak sat, so a frame of A symbolized with B's tables would name plugin_b_decoy.
#include <stdlib.h>

__attribute__((noinline)) void plugin_b_decoy(void) {
  for (int i = 0; i < 3; ++i) {
    void* volatile p = malloc(1);
    free(p);
  }
}

__attribute__((noinline)) void plugin_b_leak(void) {
  for (int i = 0; i < 2; ++i) {
    void* volatile p = malloc(222);  // PLUGIN_B_LEAK
    (void)p;
  }
}
