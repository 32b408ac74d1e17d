// Every C library allocation function libleak.so interposes, in one list. The list declares the
// pointer to the real function and resolves it (dlsym RTLD_NEXT); for allocators of the common
// shape it also defines the exported function. Adding such an allocator is one line here.
//
//   ALLOCATOR(name, (params), (args), bytes, boot alignment)
//     returns a new block of `bytes` bytes (an expression of the params): before the real
//     allocator is known the block comes from the boot arena, afterwards from the real function,
//     tracked (hooks/track.h).
//   HOOK(name)
//     resolved here, exported by a hand-written function in hooks.cpp (free, realloc, ...).
#pragma once

#define LIBLEAK_HOOKS(ALLOCATOR, HOOK)                                                           \
  ALLOCATOR(malloc, (size_t size), (size), size, 16)                                             \
  ALLOCATOR(calloc, (size_t count, size_t size), (count, size), calloc_bytes(count, size), 16)   \
  ALLOCATOR(aligned_alloc, (size_t align, size_t size), (align, size), size, align)              \
  ALLOCATOR(memalign, (size_t align, size_t size), (align, size), size, align)                   \
  ALLOCATOR(valloc, (size_t size), (size), size, page_bytes())                                   \
  ALLOCATOR(pvalloc, (size_t size), (size), pvalloc_bytes(size), page_bytes())                   \
  HOOK(free)                                                                                     \
  HOOK(realloc)                                                                                  \
  HOOK(reallocarray)                                                                             \
  HOOK(posix_memalign)                                                                           \
  HOOK(malloc_usable_size)
