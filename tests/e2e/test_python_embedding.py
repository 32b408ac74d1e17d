"""Python frames for Python code the interpreter did not start itself, under every installed
CPython 3.8-3.13 (and LIBLEAK_TEST_PYTHON): a function called from a thread started in C (with
PyGILState_Ensure) gets its own Python line as the whole Python stack; code run in a
sub-interpreter runs normally and its leak is attributed as CPython's own per-thread state says:
from 3.12 the thread state is the sub-interpreter's (its `<string>` line), before 3.12 it stays
the outer interpreter's (the line that entered the sub-interpreter)."""
import os
import shutil
import unittest

from harness import PROGRAMS, PYTHON, Scenario, line_of, main, pyenv_python, python_version

EXT = os.path.join(PROGRAMS, "leakyext.c")
SCRIPT = os.path.join(PROGRAMS, "pyembed_script.py")
SUB = os.path.join(PROGRAMS, "pyembed_sub.py")
N = 200


class Embedding(Scenario):
    python = PYTHON

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.python or not os.access(cls.python, os.X_OK):
            raise unittest.SkipTest(f"{cls.label} is not installed")
        cls.version = python_version(cls.python)

    def setUp(self):
        super().setUp()
        self.compile_python_extension("leakyext.c", "leakyext", python=self.python)
        self.compile_python_extension("pyembedext.c", "pyembedext", python=self.python)
        for path in (SCRIPT, SUB):
            shutil.copy(path, self.tmp)

    def python_stacks(self, mode):
        """{python frames (file basename, function, line): (bytes, blocks)} of leak_double's leaks."""
        proc, trace = self.run_traced([self.python, os.path.join(self.tmp, "pyembed_script.py"), str(N), mode])
        self.assertEqual(proc.stdout, "done\n")
        out = {}
        for leak in self.leaks_in(self.report(trace), "leak_double"):
            self.assertEqual((self.blamed(leak)["line"]), line_of(EXT, "LEAK_DOUBLE"))
            frames = leak["frames"][leak["python_frame"]:]
            self.assertEqual({f["language"] for f in frames}, {"python"})
            key = tuple((os.path.basename(f["file"]), f["function"], f["line"]) for f in frames)
            bytes_, blocks = out.get(key, (0, 0))
            out[key] = (bytes_ + leak["bytes"], blocks + leak["blocks"])
        return out

    def test_thread_started_from_c(self):
        self.assertEqual(self.python_stacks("c_thread"),
                         {(("pyembed_script.py", "from_c_thread", line_of(SCRIPT, "CALL_C_THREAD")),): (8 * N, N)})

    def test_subinterpreter(self):
        if self.version >= (3, 12):
            expected = (("<string>", "<module>", line_of(SUB, "CALL_SUB")),)
        else:
            expected = (("pyembed_script.py", "main", line_of(SCRIPT, "START_SUB")),
                        ("pyembed_script.py", "<module>", line_of(SCRIPT, "TOP")))
        self.assertEqual(self.python_stacks("subinterpreter"), {expected: (8 * N, N)})


Embedding.label = f"LIBLEAK_TEST_PYTHON ({PYTHON})"
for _minor in range(8, 14):
    _cls = type(f"Embedding_CPython_3_{_minor}", (Embedding,),
                {"python": pyenv_python(_minor), "label": f"pyenv CPython 3.{_minor}"})
    globals()[_cls.__name__] = _cls
del _cls

if __name__ == "__main__":
    main()
