// fork() while 4 other threads allocate and free without pause: 20 children, each leaks one
// 77-byte block at fork_child_work and ends with exit(0) (even) or _exit(0) (odd). A deadlock in
// a child (a lock held by a thread that does not exist there) shows as a test timeout.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 20

static volatile int stop;

static void* churn(void* arg) {
  (void)arg;
  void* keep[32] = {0};
  for (unsigned long i = 0; !stop; ++i) {
    free(keep[i % 32]);
    keep[i % 32] = malloc(8 + i % 500);
  }
  for (int i = 0; i < 32; ++i) free(keep[i]);
  return NULL;
}

__attribute__((noinline)) void fork_child_work(void) {
  void* volatile leaked = malloc(77);  // FORK_CHILD_LEAK
  (void)leaked;
  for (int i = 0; i < 1000; ++i) free(malloc(16 + i));
}

int main(void) {
  pthread_t threads[4];
  for (int i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, churn, NULL);
  pid_t pids[CHILDREN];
  for (int c = 0; c < CHILDREN; ++c) {
    fflush(stdout);
    pids[c] = fork();
    if (pids[c] == 0) {
      fork_child_work();
      if (c % 2) _exit(0);
      exit(0);
    }
    usleep(2000);
  }
  int ok = 0;
  for (int c = 0; c < CHILDREN; ++c) {
    int status = 0;
    if (waitpid(pids[c], &status, 0) == pids[c] && WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
    printf("child %d %s\n", (int)pids[c], c % 2 ? "_exit" : "exit");
  }
  stop = 1;
  for (int i = 0; i < 4; ++i) pthread_join(threads[i], NULL);
  printf("ok %d\n", ok);
  return ok == CHILDREN ? 0 : 1;
}
