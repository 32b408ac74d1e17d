// 16 threads, argv[1] allocations each: every block is handed to the next thread through a
// mutex-protected mailbox and freed there, so every free happens on a thread other than the one
// that allocated it (printed as a count). Thread t also leaks t+1 blocks of 32 bytes.
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 16
#define CAPACITY 4096

struct Mailbox {
  pthread_mutex_t lock;
  unsigned head, count;
  void* slots[CAPACITY];
};

static struct Mailbox boxes[THREADS];
static pthread_barrier_t started;
static int producing = THREADS;  // threads still posting blocks
static long per_thread;
static unsigned long freed_by_other[THREADS];

__attribute__((noinline)) void stress_leak(int t) {
  for (int i = 0; i <= t; ++i) {
    void* volatile p = malloc(32);  // STRESS_LEAK
    (void)p;
  }
}

__attribute__((noinline)) void* stress_alloc(long i) { return malloc(16 + (size_t)(i % 64) * 8); }

static int post(struct Mailbox* b, void* p) {
  pthread_mutex_lock(&b->lock);
  int ok = b->count < CAPACITY;
  if (ok) b->slots[(b->head + b->count++) % CAPACITY] = p;
  pthread_mutex_unlock(&b->lock);
  return ok;
}

static void* take(struct Mailbox* b) {
  void* p = NULL;
  pthread_mutex_lock(&b->lock);
  if (b->count) {
    p = b->slots[b->head];
    b->head = (b->head + 1) % CAPACITY;
    --b->count;
  }
  pthread_mutex_unlock(&b->lock);
  return p;
}

static void drain(struct Mailbox* mine, int t) {
  sched_yield();  // 16 threads on few cores: let the thread we wait for run
  for (char* q; (q = take(mine));) {
    freed_by_other[t] += q[0] != (char)t;
    free(q);
  }
}

static void* worker(void* arg) {
  int t = (int)(long)arg;
  struct Mailbox* next = &boxes[(t + 1) % THREADS];
  struct Mailbox* mine = &boxes[t];
  stress_leak(t);
  pthread_barrier_wait(&started);
  for (long i = 0; i < per_thread; ++i) {
    char* p = stress_alloc(i);
    p[0] = (char)t;
    // The next thread is behind: free what others sent us meanwhile (no cycle of waiting).
    while (!post(next, p)) drain(mine, t);
    char* q = take(mine);
    if (q) {
      freed_by_other[t] += q[0] != (char)t;
      free(q);
    }
  }
  // The previous thread may still be waiting for room in our mailbox: keep draining until
  // every thread has posted its last block, then take what is left.
  __atomic_sub_fetch(&producing, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&producing, __ATOMIC_ACQUIRE)) drain(mine, t);
  drain(mine, t);
  return NULL;
}

int main(int argc, char** argv) {
  per_thread = argc > 1 ? atol(argv[1]) : 100000;
  pthread_barrier_init(&started, NULL, THREADS);
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; ++t) {
    pthread_mutex_init(&boxes[t].lock, NULL);
    pthread_create(&threads[t], NULL, worker, (void*)(long)t);
  }
  unsigned long cross = 0;
  for (int t = 0; t < THREADS; ++t) {
    pthread_join(threads[t], NULL);
    cross += freed_by_other[t];
  }
  printf("cross-thread frees: %lu\n", cross);
  return 0;
}
