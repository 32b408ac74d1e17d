// One block whose only pointer lives in a place the exit scan must treat as a root.
// argv[1] picks the place: global, stack (a thread blocked in pause() while main calls exit()),
// tls (a __thread variable of that blocked thread). argv[2] == "lose" overwrites the pointer
// first, the control case in which the block is unreachable. "chain": a global points to a block
// (keep_global) that heads a list of 20 blocks from keep_chained, each the only pointer to the next.
// "condwait": like "stack", but the thread is blocked in pthread_cond_wait.
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void* g_keep;                 // (a) the only pointer, in a global
static __thread void* t_keep;        // (c) the only pointer, in a thread's TLS
static sem_t g_ready;
static int g_lose;

__attribute__((noinline)) void* keep_global(void) { return malloc(777); }  // KEEP_GLOBAL
__attribute__((noinline)) void* keep_on_stack(void) { return malloc(555); }  // KEEP_STACK
__attribute__((noinline)) void* keep_by_realloc(void) { return realloc(NULL, 444); }  // KEEP_REALLOC
__attribute__((noinline)) void* keep_in_tls(void) { return malloc(333); }  // KEEP_TLS

__attribute__((noinline)) void* keep_chained(void) { return malloc(444); }  // KEEP_CHAINED
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_never = PTHREAD_COND_INITIALIZER;

__attribute__((noinline)) void clobber_stack(void) {
  volatile char buf[32 * 1024];
  memset((char*)buf, 0, sizeof buf);
}

static void* holder_stack(void* arg) {
  (void)arg;
  void* volatile local = keep_on_stack();
  if (g_lose) local = NULL;
  clobber_stack();
  sem_post(&g_ready);
  for (;;) pause();  // blocked here while main exits
  return (void*)local;
}

__attribute__((noinline)) void make_chain(void) {
  void** head = keep_global();
  void** node = head;
  for (int i = 0; i < 20; i++) {
    node[0] = keep_chained();
    node = node[0];
  }
  node[0] = NULL;
  g_keep = g_lose ? NULL : head;
}

// Like holder_stack, with the block from realloc(NULL, n): a different recording path of libleak.
static void* holder_realloc(void* arg) {
  (void)arg;
  void* volatile local = keep_by_realloc();
  if (g_lose) local = NULL;
  clobber_stack();
  sem_post(&g_ready);
  for (;;) pause();
  return (void*)local;
}

static void* holder_condwait(void* arg) {
  (void)arg;
  void* volatile local = keep_on_stack();
  if (g_lose) local = NULL;
  clobber_stack();
  pthread_mutex_lock(&g_mutex);
  sem_post(&g_ready);
  for (;;) pthread_cond_wait(&g_never, &g_mutex);  // never signalled
  return (void*)local;
}

static void* holder_tls(void* arg) {
  (void)arg;
  t_keep = keep_in_tls();
  if (g_lose) t_keep = NULL;
  clobber_stack();
  sem_post(&g_ready);
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  g_lose = argc > 2 && strcmp(argv[2], "lose") == 0;
  sem_init(&g_ready, 0, 0);
  pthread_t t;
  if (strcmp(argv[1], "global") == 0) {
    g_keep = keep_global();
    if (g_lose) g_keep = NULL;
  } else if (strcmp(argv[1], "chain") == 0) {
    make_chain();
  } else if (strcmp(argv[1], "condwait") == 0) {
    pthread_create(&t, NULL, holder_condwait, NULL);
    sem_wait(&g_ready);
  } else if (strcmp(argv[1], "stack") == 0) {
    pthread_create(&t, NULL, holder_stack, NULL);
    sem_wait(&g_ready);
  } else if (strcmp(argv[1], "realloc") == 0) {
    pthread_create(&t, NULL, holder_realloc, NULL);
    sem_wait(&g_ready);
  } else if (strcmp(argv[1], "tls") == 0) {
    pthread_create(&t, NULL, holder_tls, NULL);
    sem_wait(&g_ready);
  } else {
    return 2;
  }
  clobber_stack();
  printf("%s\n", argv[1]);
  fflush(stdout);
  exit(0);  // the holder thread is still blocked in pause()
}
