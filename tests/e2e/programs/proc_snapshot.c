// Snapshots of a running process. Both modes leak 5 x 500 bytes at snap_before, then
//  signal: print "ready" and wait for a line on stdin (the test sends the snapshot signal first);
//  api <copy>: libleak_mark("warm-up done"), libleak_snapshot(), rename the snapshot to <copy>;
// then free those blocks, leak 3 x 30 bytes at snap_after and exit 0.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libleak/libleak.h"

static void* before[5];

__attribute__((noinline)) void snap_before(void) {
  for (int i = 0; i < 5; ++i) before[i] = malloc(500);  // SNAP_BEFORE
}

__attribute__((noinline)) void snap_after(void) {
  for (int i = 0; i < 3; ++i) {
    void* volatile p = malloc(30);  // SNAP_AFTER
    (void)p;
  }
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  snap_before();
  if (strcmp(mode, "signal") == 0) {
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
  } else if (strcmp(mode, "api") == 0 && argc > 2) {
    if (!libleak_snapshot || !libleak_mark) {
      printf("no libleak\n");
    } else {
      printf("mark %d\n", libleak_mark("warm-up done"));
      printf("snapshot %d\n", libleak_snapshot());
      const char* out = getenv("LIBLEAK_OUTPUT");
      if (!out || rename(out, argv[2]) != 0) return 3;
    }
  } else {
    return 2;
  }
  for (int i = 0; i < 5; ++i) free(before[i]);
  snap_after();
  printf("done\n");
  return 0;
}
