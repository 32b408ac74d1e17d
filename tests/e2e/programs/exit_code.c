// Prints, allocates and frees everything, and exits with status 3 through exit():
// the output and status must not change under libleak, and nothing is reported here.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) char* build(int i) {
  char* s = malloc(32);
  snprintf(s, 32, "line %d", i);
  return s;
}

__attribute__((noinline)) void work(void) {
  char* lines[50];
  for (int i = 0; i < 50; i++) lines[i] = build(i);
  for (int i = 0; i < 50; i++) {
    if (i % 10 == 0) puts(lines[i]);
    free(lines[i]);
  }
  void* p = calloc(10, 10);
  p = realloc(p, 1000);
  free(p);
}

static char out_buf[8192];

int main(void) {
  setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);  // no heap buffer for stdout
  work();
  fprintf(stderr, "to stderr\n");
  exit(3);
}
