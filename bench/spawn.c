/* Runs one benchmark command and reports its peak RSS and end time, for bench/run.py.
 *
 * Why not wait4 from Python directly: Linux keeps the largest RSS a process ever had, including
 * the memory image it had before exec, so a child forked from the Python runner starts with the
 * runner's ~13 MiB already counted. This helper is tiny, so a child forked from it starts near
 * zero. It also sets LD_PRELOAD only in the child (from BENCH_PRELOAD), so the helper itself is
 * never traced.
 *
 * usage: spawn RESULT_FILE PROG [ARGS...]
 * RESULT_FILE receives "exit=<code> maxrss_kb=<n> cpu_ns=<user+system> end_ns=<CLOCK_MONOTONIC at the
 * child's end>". CPU time is reported too because it stays meaningful on a loaded machine. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s RESULT_FILE PROG [ARGS...]\n", argv[0]);
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    const char* preload = getenv("BENCH_PRELOAD");
    if (preload) setenv("LD_PRELOAD", preload, 1);
    unsetenv("BENCH_PRELOAD");
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) != pid) return 2;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  FILE* out = fopen(argv[1], "w");
  if (!out) return 2;
  unsigned long long cpu_ns = (unsigned long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ull +
                              (unsigned long long)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ull;
  fprintf(out, "exit=%d maxrss_kb=%ld cpu_ns=%llu end_ns=%llu\n", code, usage.ru_maxrss, cpu_ns,
          (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
  fclose(out);
  return code;
}
