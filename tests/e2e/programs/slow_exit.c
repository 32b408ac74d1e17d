// A program whose exit keeps libleak busy for many epochs: it keeps 2,000,000 small blocks
// reachable, so the exit scan and final write run for many epochs after main returns. Prints how
// long main ran (ms, CLOCK_MONOTONIC from the first line of main).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct node {
  struct node* next;
  long payload;
};
struct node* g_list;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void) {
  double start = now_ms();
  for (long i = 0; i < 2000000; ++i) {
    struct node* n = malloc(sizeof *n);
    if (!n) return 1;
    n->next = g_list;
    n->payload = i;
    g_list = n;
  }
  printf("main ran %.0f ms\n", now_ms() - start);
  return 0;
}
