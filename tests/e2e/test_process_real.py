"""Real programs run unchanged under libleak.so: same stdout, stderr and exit status: CPython
running doctests of stdlib modules, a C++ program with threads and exceptions, and a program
that uses the aligned allocators heavily."""
import os
import re
import sys

from harness import PROGRAMS, PYTHON, line_of, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, live_at  # noqa: E402


class RealPrograms(ProcessScenario):
    def same(self, argv, status, **env):
        plain = self.run_plain(argv)
        self.assertEqual(plain.returncode, status, plain.stdout + plain.stderr)
        traced, trace = self.run_traced(argv, env={k: str(v) for k, v in env.items()}, check_rc=status, timeout=60)
        self.assertEqual(traced.stdout, plain.stdout)
        self.assertEqual(traced.stderr, plain.stderr)
        return plain, self.report(trace)

    def test_python_stdlib_doctests(self):
        # Debian ships no test package (libpython3.11-testsuite is not installed): the stdlib's own
        # doctests are the test modules at hand.
        lib = self.run_plain([PYTHON, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"]).stdout.strip()
        modules = [os.path.join(lib, m) for m in ("statistics.py", "fractions.py", "difflib.py",
                                                  "collections/__init__.py")]
        plain, report = self.same([PYTHON, "-m", "doctest", "-v", *modules], 0)
        passed = [int(n) for n in re.findall(r"^(\d+) passed and 0 failed\.\nTest passed\.$", plain.stdout, re.M)]
        self.assertEqual(len(passed), len(modules), plain.stdout[-2000:])
        self.assertGreaterEqual(sum(passed), 200)  # 235 examples in 3.11.2
        self.assertEqual(report["process"]["exit"], "normal")
        self.assertTrue(report["process"]["python_malloc_forced"])
        self.assertEqual(report["stats"]["dropped_blocks"], 0)

    def test_cxx_threads_and_exceptions(self):
        exe = self.compile("proc_cxx_real.cpp", cxx=True)
        plain, report = self.same([exe], 4)
        self.assertEqual(plain.stdout, "".join(f"thread {t}: 1715429 errors 286\n" for t in range(6))
                         + "async threw bad: 12x\ncarried from thread 3\n")
        self.assertEqual(report["process"]["exit_code"], 4)
        self.assertEqual(report["totals"]["leaked_bytes"], 0)

    def test_aligned_allocators(self):
        exe = self.compile("proc_aligned.c")
        plain, report = self.same([exe], 0)
        self.assertRegex(plain.stdout, r"^checksum \d+ misaligned 0 failed 0\n$")
        leak = self.leak_in(report, "aligned_leak", "unreachable")
        self.assertEqual((leak["bytes"], leak["blocks"]), (300, 3))
        self.assertEqual(self.blamed(leak)["line"], line_of(os.path.join(PROGRAMS, "proc_aligned.c"), "ALIGNED_LEAK"))
        self.assertEqual(report["totals"]["leaked_bytes"], 300)
        # 40000 aligned blocks, all freed: matched by address whatever the allocator that made them.
        self.assertEqual(report["stats"]["unknown_frees"], 0)
        self.assertGreaterEqual(report["stats"]["frees"], 40000)
        self.assertGreaterEqual(report["stats"]["allocations"], 40003)


if __name__ == "__main__":
    main()
