// Example of libleak's public API (include/libleak/libleak.h): a server fills a cache, marks the
// end of its warm-up with libleak_mark, then serves requests, and its error path leaks. It runs
// unchanged without libleak.so, where the call returns -1.
#include <stdio.h>
#include <stdlib.h>

#include "libleak/libleak.h"

enum { kCacheEntries = 64, kRequests = 100 };
static char* cache[kCacheEntries];  // kept for the whole run: reachable, not a leak

static void warm_up(void) {
  for (int i = 0; i < kCacheEntries; i++) cache[i] = calloc(1, 128);
}

// Every tenth request fails, and its early return forgets the reply.
static int serve(int id) {
  char* reply = malloc(32);  // PHASES_LEAK
  if (!reply) return -1;
  int n = snprintf(reply, 32, "reply to request %d", id);
  if (id % 10 == 0) return -1;
  free(reply);
  return n;
}

int main(void) {
  warm_up();
  int mark = libleak_mark("warm-up done");
  int errors = 0;
  for (int id = 0; id < kRequests; id++) errors += serve(id) < 0;
  printf("%d requests, %d errors; libleak_mark returned %d\n", kRequests, errors, mark);
  return 0;
}
