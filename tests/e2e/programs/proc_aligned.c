// Heavy use of the aligned allocators (posix_memalign, aligned_alloc, memalign, valloc):
// checks every alignment, fills and checksums the blocks, frees them all, leaks 3 x 100 bytes
// from posix_memalign at aligned_leak. Prints the checksum and the misaligned count.
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void aligned_leak(void) {
  for (int i = 0; i < 3; ++i) {
    void* p = NULL;
    if (posix_memalign(&p, 64, 100) == 0) {  // ALIGNED_LEAK
      memset(p, 1, 100);
      p = NULL;
    }
  }
}

int main(void) {
  unsigned long sum = 0, misaligned = 0, failed = 0;
  void* live[64] = {0};
  for (int i = 0; i < 40000; ++i) {
    size_t align = (size_t)16 << (i % 9);  // 16 .. 4096
    size_t size = 1 + (size_t)(i * 37 % 3000);
    void* p = NULL;
    switch (i % 4) {
      case 0: if (posix_memalign(&p, align, size) != 0) p = NULL; break;
      case 1: size = (size + align - 1) / align * align; p = aligned_alloc(align, size); break;
      case 2: p = memalign(align, size); break;
      default: align = 4096; p = valloc(size); break;
    }
    if (!p) {
      ++failed;
      continue;
    }
    misaligned += ((uintptr_t)p & (align - 1)) != 0;
    memset(p, i & 0xff, size);
    sum += ((unsigned char*)p)[size - 1] + size;
    // Keep up to 64 blocks alive at a time so frees interleave with allocations.
    int slot = i % 64;
    free(live[slot]);
    live[slot] = p;
  }
  for (int i = 0; i < 64; ++i) free(live[i]);
  aligned_leak();
  printf("checksum %lu misaligned %lu failed %lu\n", sum, misaligned, failed);
  return 0;
}
