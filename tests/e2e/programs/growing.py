"""Keeps objects for a while: `python growing.py <seconds>` calls leakyext.keep() every 2 ms, which
appends a new 200-byte bytes object to a list owned by the extension's C state (a global that
interpreter finalization does not clear, unlike a module-level list in Python code, which
Py_Finalize releases before libleak's exit scan). Prints the number of rounds and the bytes one
kept object asked the allocator for."""
import sys
import time

import leakyext

seconds = float(sys.argv[1])
rounds = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    leakyext.keep()
    rounds += 1
    time.sleep(0.002)
leakyext.clobber_stack()
print(rounds, sys.getsizeof(bytes(200)))
