"""libleak's public API from Python through ctypes: leaks 5 x 500 bytes (proc_mpext), marks a
phase, writes a snapshot and moves it to argv[1], then leaks 3 x 30 more and exits."""
import ctypes
import os
import sys

import proc_mpext

api = ctypes.CDLL(None)
proc_mpext.mp_leak(5, 500)
print("mark", api.libleak_mark(b"warm-up done"))
print("snapshot", api.libleak_snapshot())
os.rename(os.environ["LIBLEAK_OUTPUT"], sys.argv[1])
proc_mpext.mp_leak(3, 30)
print("done")
