/* libleak's public C API, for programs that want to talk to the profiler they run under.
 * Safe without libleak: the functions are weak references, and every call below goes through a
 * macro that returns -1 when libleak.so is not loaded, so the program runs unchanged. GCC/Clang.
 * From Python: ctypes.CDLL(None).libleak_snapshot() while running under LD_PRELOAD=libleak.so. */
#ifndef LIBLEAK_LIBLEAK_H
#define LIBLEAK_LIBLEAK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the trace now, as a snapshot of a running process (verdicts without the exit scan).
 * Returns 0 on success, -1 when the trace could not be written or libleak is not recording. */
__attribute__((weak)) int libleak_snapshot(void);

/* Marks a phase ("warm-up done"). The report shows, per leak, what was allocated after the last
 * mark and is still live. Labels are copied (up to 63 bytes); at most 16 marks are kept.
 * Returns the mark's index, or -1 when marks are exhausted or libleak is not recording. */
__attribute__((weak)) int libleak_mark(const char* label);

#ifdef __cplusplus
}
#endif

/* A weak function is a null pointer when no loaded object defines it, and calling it crashes
 * (issue 16). These macros test it first. They are function-like, so a bare `libleak_mark`
 * (`if (libleak_mark)`, `&libleak_mark`) still names the symbol, and the exported symbols keep
 * their names and C ABI. libleak.so itself defines the functions, so it sees no macros. */
#ifndef LIBLEAK_DEFINING_API
#define libleak_snapshot() (libleak_snapshot ? (libleak_snapshot)() : -1)
#define libleak_mark(label) (libleak_mark ? (libleak_mark)(label) : -1)
#endif

#endif
