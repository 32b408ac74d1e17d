"""Calls leakyext.leak_double from two lines of two Python functions, optionally in a thread:
`python pyframes_script.py <count> [thread]`. Each call site is a separate leak."""
import sys
import threading

import leakyext


def first(n):
    for _ in range(n):
        leakyext.leak_double()  # CALL_FIRST


class Worker:
    def second(self, n):
        for _ in range(n):
            leakyext.leak_double()  # CALL_SECOND


def run(n):
    first(n)  # RUN_FIRST
    Worker().second(2 * n)  # RUN_SECOND


def main():
    n = int(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "thread":
        t = threading.Thread(target=run, args=(n,))  # THREAD_START
        t.start()
        t.join()
    else:
        run(n)  # MAIN_RUN
    leakyext.clobber_stack()
    print("done")


main()  # TOP
