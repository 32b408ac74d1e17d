"""Drives the leakyext extension: `python leaky_ext_driver.py <what> <count>`."""
import sys

import leakyext

what, count = sys.argv[1], int(sys.argv[2])
# The exit scan is conservative: a stale word left in some live block or static that happens to
# equal a leaked block's address keeps that block "reachable". Such words point at chunks that
# were freed and handed out again, so first use up the free small chunks (floats: 24 bytes, ints
# above 256: 32 bytes) and keep them: the leaks below then come from heap never used before.
burn = [float(i) for i in range(20000)] + [10**6 + i for i in range(20000)]
if what == "leak_double":
    for _ in range(count):
        leakyext.leak_double()
elif what == "leak_ref":
    for _ in range(count):
        leakyext.leak_ref()
elif what == "size_of_leak_ref":
    # The bytes one leak_ref() call asks the allocator for, measured by tracemalloc (which records
    # the size requested from PyObject_Malloc), independently of libleak.
    import tracemalloc
    tracemalloc.start()
    for _ in range(count):
        leakyext.leak_ref()  # MEASURED
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    here = [s for s in snapshot.statistics("lineno")
            if s.traceback[0].filename == __file__ and "MEASURED" in open(__file__).readlines()[s.traceback[0].lineno - 1]]
    if len(here) != 1 or here[0].count != count or here[0].size % count:
        sys.exit(f"unexpected allocations on the measured line: {here}")
    print(here[0].size // count, sys.getsizeof(1000))
    sys.exit(0)
else:
    sys.exit(f"unknown: {what}")
leakyext.clobber_stack()
print("done")
