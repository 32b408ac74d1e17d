// Started by exec from a traced process: leaks argv[1] blocks of 64 bytes and prints its pid.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) void exec_child_leak(int n) {
  for (int i = 0; i < n; ++i) {
    void* volatile p = malloc(64);  // EXEC_CHILD_LEAK
    (void)p;
  }
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  exec_child_leak(n);
  printf("exec %d %d\n", (int)getpid(), n);
  return 0;
}
