// Phase marks: leak_some() leaks 3 blocks of 24 bytes, libleak_mark("warm-up done"), 5 more from
// the same call site, libleak_snapshot() (renamed to argv[1]), then libleak_mark("shutdown") with
// nothing allocated after it (stdout has a static buffer, so printf allocates nothing). Runs
// unchanged without libleak (the API is weak).
#include <stdio.h>
#include <stdlib.h>

#include "libleak/libleak.h"

__attribute__((noinline)) void leak_some(int n) {
  for (int i = 0; i < n; ++i) {
    void* volatile p = malloc(24);  // MARKS_LEAK
    (void)p;
  }
}

int main(int argc, char** argv) {
  static char out_buf[256];
  setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
  if (argc < 2) return 2;
  int warm = -1;
  for (int phase = 0; phase < 2; ++phase) {
    leak_some(phase == 0 ? 3 : 5);  // one call site for both phases
    if (phase == 0) warm = libleak_mark ? libleak_mark("warm-up done") : -1;
  }
  int snap = libleak_snapshot ? libleak_snapshot() : -1;
  const char* out = getenv("LIBLEAK_OUTPUT");
  if (snap == 0 && (!out || rename(out, argv[1]) != 0)) return 3;
  int last = libleak_mark ? libleak_mark("shutdown") : -1;
  printf("%d %d %d\n", warm, snap, last);
  return 0;
}
