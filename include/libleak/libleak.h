/* libleak's public C API, for programs that want to talk to the profiler they run under.
 * Every function is a weak reference: a program built with this header runs unchanged without
 * libleak.so, where the functions are simply absent (check for NULL before calling).
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

#endif
