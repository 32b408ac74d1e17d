// posix_spawn (clone with CLONE_VFORK inside glibc) of proc_exec_child 2 (argv[1]), and a vfork
// child that calls _exit(7) without exec: it shares the parent's memory, so libleak must not
// write or change anything in it. The parent leaks 1 x 24 bytes at spawn_parent_leak.
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

__attribute__((noinline)) void spawn_parent_leak(void) {
  void* volatile p = malloc(24);  // SPAWN_PARENT_LEAK
  (void)p;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  fflush(stdout);
  pid_t child;
  char* args[] = {argv[1], "2", NULL};
  if (posix_spawn(&child, argv[1], NULL, NULL, args, environ) != 0) return 3;
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 4;
  pid_t v = vfork();
  if (v == 0) _exit(7);
  if (waitpid(v, &status, 0) != v || !WIFEXITED(status) || WEXITSTATUS(status) != 7) return 5;
  printf("vfork %d\n", (int)v);
  spawn_parent_leak();
  printf("parent %d\n", (int)getpid());
  return 0;
}
