// Plants symlinks where libleak is about to write, as an attacker sharing the directory could:
// at the trace's temporary name (<LIBLEAK_OUTPUT>[.<pid>].tmp.<pid>) and, in a forked child, at
// the child's final name too. argv[1] is the victim file the links point to.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int plant(const char* victim, const char* name) {
  if (symlink(victim, name) != 0) {
    perror(name);
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  const char* out = getenv("LIBLEAK_OUTPUT");
  if (argc < 2 || !out) return 2;
  char name[4200];
  int pid = (int)getpid();
  snprintf(name, sizeof name, "%s.tmp.%d", out, pid);
  if (plant(argv[1], name)) return 3;
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    int me = (int)getpid();
    snprintf(name, sizeof name, "%s.%d", out, me);
    if (plant(argv[1], name)) _exit(4);
    snprintf(name, sizeof name, "%s.%d.tmp.%d", out, me, me);
    if (plant(argv[1], name)) _exit(5);
    printf("child %d\n", me);
    return 0;
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 6;
  printf("parent %d\n", pid);
  return 0;
}
