// A process tree: the root forks A (fork only), A forks B which execs proc_exec_child 3 (a
// fork+exec grandchild), then the root runs proc_exec_child 4 through system() (/bin/sh).
// Each process prints "<role> <pid>"; argv[1] is the path of proc_exec_child.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void root_leak(void) {
  void* volatile p = malloc(16);  // ROOT_LEAK
  (void)p;
}

__attribute__((noinline)) void fork_only_leak(void) {
  for (int i = 0; i < 2; ++i) {
    void* volatile p = malloc(48);  // FORK_ONLY_LEAK
    (void)p;
  }
}

static int wait_ok(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  root_leak();
  fflush(stdout);
  pid_t a = fork();
  if (a < 0) return 1;
  if (a == 0) {
    fork_only_leak();
    printf("fork %d\n", (int)getpid());
    fflush(stdout);
    pid_t b = fork();
    if (b == 0) {
      execl(argv[1], argv[1], "3", (char*)NULL);
      _exit(127);
    }
    return wait_ok(b) ? 0 : 3;
  }
  if (!wait_ok(a)) return 4;
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "%s 4", argv[1]);
  fflush(stdout);
  if (system(cmd) != 0) return 5;
  printf("root %d\n", (int)getpid());
  return 0;
}
