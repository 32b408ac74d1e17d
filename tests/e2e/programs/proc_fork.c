// A forked child records only its own allocations: it leaks 5 x 200 bytes and frees blocks it
// inherited from the parent; the parent leaks 3 x 100 before the fork and 2 x 30 after it.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void* kept[4];

__attribute__((noinline)) void parent_leak(void) {
  for (int i = 0; i < 3; ++i) {
    void* volatile p = malloc(100);  // PARENT_LEAK
    (void)p;
  }
}

__attribute__((noinline)) void parent_keep(void) {
  for (int i = 0; i < 4; ++i) kept[i] = malloc(50);  // PARENT_KEEP
}

__attribute__((noinline)) void child_leak(void) {
  for (int i = 0; i < 5; ++i) {
    void* volatile p = malloc(200);  // CHILD_LEAK
    (void)p;
  }
}

__attribute__((noinline)) void parent_after(void) {
  for (int i = 0; i < 2; ++i) {
    void* volatile p = malloc(30);  // PARENT_AFTER
    (void)p;
  }
}

__attribute__((noinline)) void release_kept(void) {
  for (int i = 0; i < 4; ++i) free(kept[i]);
}

int main(void) {
  parent_leak();
  parent_keep();
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    release_kept();  // inherited: freed here, reported by nobody in the child
    child_leak();
    printf("child %d\n", (int)getpid());
    return 0;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
  release_kept();
  parent_after();
  printf("parent %d\n", (int)getpid());
  return 0;
}
