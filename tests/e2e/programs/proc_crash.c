// Ways for a process to end other than exit(): each mode first leaks 4 x 256 bytes, prints
// "ready" and then: segv, abort, fast_exit (_exit(5)), thread_exit (exit(3) from a thread),
// own_segv (a SIGSEGV handler of the program's own that calls _exit(42)), wait (sleeps until
// killed from outside).
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void crash_leak(void) {
  for (int i = 0; i < 4; ++i) {
    void* volatile p = malloc(256);  // CRASH_LEAK
    (void)p;
  }
}

static void own_handler(int sig) {
  (void)sig;
  static const char msg[] = "handled\n";
  if (write(1, msg, sizeof msg - 1) < 0) _exit(43);
  _exit(42);
}

static void* exit_from_thread(void* arg) {
  (void)arg;
  exit(3);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "own_segv") == 0) signal(SIGSEGV, own_handler);
  crash_leak();
  printf("ready\n");
  fflush(stdout);
  if (strcmp(mode, "segv") == 0 || strcmp(mode, "own_segv") == 0) {
    *(volatile int*)(uintptr_t)8 = 1;
  } else if (strcmp(mode, "abort") == 0) {
    abort();
  } else if (strcmp(mode, "fast_exit") == 0) {
    _exit(5);
  } else if (strcmp(mode, "thread_exit") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, exit_from_thread, NULL);
    for (;;) pause();
  } else if (strcmp(mode, "wait") == 0) {
    for (;;) pause();
  }
  return 9;
}
