// Known answers: each of 4 workers leaks 25 x 48 bytes in thread_leak (100 blocks in all);
// a producer thread allocates 5000 x 40-byte blocks in produce() that a consumer thread frees
// in consume(), so none of them is live at exit.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 4
#define PER_WORKER 25
#define HANDED_OVER 5000

static void* volatile sink;
static void* handed[HANDED_OVER];

__attribute__((noinline)) void thread_leak(int n) {
  for (int i = 0; i < n; i++) {
    char* p = malloc(48);  // THREAD_LEAK
    memset(p, i, 48);
    sink = p;
  }
  sink = 0;
}

__attribute__((noinline)) void clobber_stack(void) {
  volatile char buf[32 * 1024];
  memset((char*)buf, 0, sizeof buf);
}

static void* worker(void* arg) {
  (void)arg;
  thread_leak(PER_WORKER);
  clobber_stack();
  return NULL;
}

__attribute__((noinline)) void produce(void) {
  for (int i = 0; i < HANDED_OVER; i++) handed[i] = malloc(40);  // PRODUCE
}

__attribute__((noinline)) void consume(void) {
  for (int i = 0; i < HANDED_OVER; i++) free(handed[i]);
}

static void* producer(void* arg) {
  (void)arg;
  produce();
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  consume();
  return NULL;
}

int main(void) {
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
  pthread_t p, c;
  pthread_create(&p, NULL, producer, NULL);
  pthread_join(p, NULL);
  pthread_create(&c, NULL, consumer, NULL);
  pthread_join(c, NULL);
  clobber_stack();
  printf("done\n");
  return 0;
}
