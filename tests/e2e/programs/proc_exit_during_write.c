// Returns from main while libleak's background thread is in the middle of a snapshot write:
// allocates at 2^16 distinct call stacks (a trace write then takes tens of milliseconds), sends
// itself the snapshot signal, waits until the snapshot's temporary file appears and returns.
// usage: proc_exit_during_write TRACE SIGNAL
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LEVELS 16

static void* keep[1u << LEVELS];
static unsigned count;

__attribute__((noinline)) static void leaf(void) {
  keep[count++] = malloc(16);  // EXIT_WRITE_ALLOC
}

// Two functions that call each other by the bits of `path`: every path is another stack.
__attribute__((noinline)) static void step1(int level, unsigned path);
__attribute__((noinline)) static void step0(int level, unsigned path) {
  if (level == LEVELS) leaf();
  else if ((path >> level) & 1) step1(level + 1, path);
  else step0(level + 1, path);
}
__attribute__((noinline)) static void step1(int level, unsigned path) {
  if (level == LEVELS) leaf();
  else if ((path >> level) & 1) step1(level + 1, path);
  else step0(level + 1, path);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  for (unsigned path = 0; path < (1u << LEVELS); ++path) step0(0, path);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", argv[1], (int)getpid());
  raise(atoi(argv[2]));
  for (int i = 0; i < 100000 && access(tmp, F_OK) != 0; ++i) usleep(100);
  printf(access(tmp, F_OK) == 0 ? "exiting during the write\n" : "no write seen\n");
  return 0;
}
