"""Appends a new 200-byte bytes object to a module-level list forever, printing the number of
rounds after each append, until a signal stops it."""
import sys
import time

kept = []
rounds = 0
while True:
    kept.append(bytes(200))  # GROW_LINE
    rounds += 1
    print(rounds, flush=True)
    time.sleep(0.002)
