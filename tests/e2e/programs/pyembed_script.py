"""Calls leakyext.leak_double from Python code that the interpreter did not start itself:
`python pyembed_script.py <count> c_thread|subinterpreter`. c_thread: a function called from a
thread started in C; subinterpreter: pyembed_sub.py run in a sub-interpreter."""
import os
import sys

import leakyext
import pyembedext

N = int(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))


def from_c_thread():
    for _ in range(N):
        leakyext.leak_double()  # CALL_C_THREAD


def main():
    if sys.argv[2] == "c_thread":
        pyembedext.call_in_c_thread(from_c_thread)
    else:
        os.environ.update(PYEMBED_DIR=HERE, PYEMBED_COUNT=str(N))
        with open(os.path.join(HERE, "pyembed_sub.py")) as f:
            source = f.read()
        pyembedext.run_in_subinterpreter(source)  # START_SUB
    leakyext.clobber_stack()
    print("done")


main()  # TOP
