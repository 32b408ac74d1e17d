// The bundled example: a tiny "simulation" that leaks one double per run, the kind of leak an RSS
// plot cannot show. `scripts/demo.sh` runs it under libleak.so and prints the report.
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  double* samples;
  int count;
} Run;

static double simulate(int seed) {
  double* scratch = malloc(sizeof(double));  // leaked: never freed
  *scratch = seed * 0.5;
  Run run = {malloc(16 * sizeof(double)), 16};
  double sum = *scratch;
  for (int i = 0; i < run.count; i++) run.samples[i] = i * sum;
  for (int i = 0; i < run.count; i++) sum += run.samples[i];
  free(run.samples);
  return sum;
}

int main(void) {
  double total = 0;
  for (int i = 0; i < 10000; i++) total += simulate(i);
  printf("10000 runs, checksum %.1f\n", total);
  return 0;
}
