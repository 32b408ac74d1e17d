// Fast stack walks for x86-64: DWARF call frame information (.eh_frame) reduced to one small rule
// per return address and cached, in front of libunwind. Runs inside malloc: lock-free, no
// allocation, memory from mmap only.
//
// Why not libunwind alone: unw_backtrace sets up a full cursor on every call and its per-thread
// trace cache is a pointer chase per frame: it was a quarter to a third of a traced run's time
// (docs/PERFORMANCE.md). Nearly every frame of compiled code on x86-64 has the same
// shape: the caller's stack pointer (CFA) is rsp or rbp plus a constant, the return address sits
// just below it, and rbp is either untouched or saved at a constant offset from it. Such a rule
// fits in 32 bits and a walk is two loads per frame. Anything else (signal frames, CFA
// expressions, realigned stacks, code without unwind info) makes the walk give up, and the caller
// runs libunwind for the whole stack, so the result is always libunwind's or the same frames
// libunwind would give. LIBLEAK_UNWIND=libunwind turns this off.
#pragma once

#include <stdint.h>

#include "stacks/caller_frame.h"

namespace libleak {

// Maps the rule cache. False when it cannot: callers then use libunwind only.
bool cfi_unwind_init();
// Writes up to `max` return addresses, innermost first, starting with the one into this
// function's caller (libleak's own frames included), as unw_backtrace does. Returns the count, or
// -1 when a frame needs libunwind. With a stop range, the walk also ends after the first return
// address inside [stop_lo, stop_hi) (for Python: the innermost interpreter loop).
int cfi_backtrace(uintptr_t* out, int max, uintptr_t stop_lo = 0, uintptr_t stop_hi = 0);
// As cfi_backtrace, from a hook's caller (caller_frame.h): out[0] is from.ip.
int cfi_backtrace_from(const CallerFrame& from, uintptr_t* out, int max, uintptr_t stop_lo = 0, uintptr_t stop_hi = 0);
// Forgets every cached rule (after dlclose: a new library may be loaded at the same addresses).
void cfi_unwind_forget();

// For tests: how many walks gave up (counted only when the cache exists), and how many rules
// were read from .eh_frame (each cache miss).
uint64_t cfi_unwind_fallbacks();
uint64_t cfi_unwind_rules_computed();

}  // namespace libleak
