"""A multiprocessing Pool (fork start method): task i leaks i+1 blocks of 100 bytes in whichever
worker runs it; the parent leaks 1 block of 7 bytes. Prints "task <i> <pid>" per task."""
import multiprocessing
import os
import sys

import proc_mpext


def work(i):
    proc_mpext.mp_leak(i + 1, 100)
    return i, os.getpid()


if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(3)
    results = pool.map(work, range(6), chunksize=1)
    pool.close()  # workers leave their loop and end with os._exit, not with SIGTERM
    pool.join()
    proc_mpext.mp_leak(1, 7)
    for i, pid in results:
        print(f"task {i} {pid}")
    print(f"parent {os.getpid()}")
    sys.stdout.flush()
