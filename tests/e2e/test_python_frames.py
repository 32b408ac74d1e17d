"""Python frames in the stacks: a leaking extension function called from two lines of two Python
functions gives two leaks, each blamed on the extension's C line with the exact Python file:line
chain that led to it; the same from a thread; the same with and without zlib-compressed sections.
PythonFrames runs under one interpreter (LIBLEAK_TEST_PYTHON, default Debian's);
test_python_frames_versions.py runs it under every CPython 3.8-3.13 installed."""
import os
import shutil
import struct

from harness import PROGRAMS, PYTHON, Scenario, line_of, main, python_version

EXT = os.path.join(PROGRAMS, "leakyext.c")
SCRIPT = os.path.join(PROGRAMS, "pyframes_script.py")
N = 300  # first() leaks N doubles, Worker.second() 2 * N
K_PYTHON, K_ZLIB = 7, 1  # trace_format.h: SectionType kPython, SectionFlags kSectionZlib


def section_flags(trace):
    """{section type: flags} read from the trace file's section headers."""
    with open(trace, "rb") as f:
        data = f.read()
    count = struct.unpack_from("<I", data, 24)[0]
    pos, out = struct.unpack_from("<I", data, 12)[0], {}
    for _ in range(count):
        kind, flags, size = struct.unpack_from("<IIQ", data, pos)
        out[kind] = flags
        pos += 16 + (size + 7) // 8 * 8
    return out


class PythonFrames(Scenario):
    python = PYTHON

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Function names are co_qualname from 3.11 ("Worker.second"), co_name before ("second").
        qualified = python_version(cls.python) >= (3, 11)
        cls.second = "Worker.second" if qualified else "second"
        cls.bootstrap = "Thread._bootstrap" if qualified else "_bootstrap"
        cls.thread_run = "Thread.run" if qualified else "run"

    def setUp(self):
        super().setUp()
        self.compile_python_extension("leakyext.c", "leakyext", python=self.python)
        self.script = os.path.join(self.tmp, "pyframes_script.py")
        shutil.copy(SCRIPT, self.script)

    def run_script(self, *args, env=None, name="trace.bin"):
        proc, trace = self.run_traced([self.python, self.script, str(N), *args], env=env, trace_name=name)
        self.assertEqual(proc.stdout, "done\n")
        return trace

    def callsites(self, report):
        """Leaks blamed on leak_double, merged per callsite: {python frames: (bytes, blocks)}."""
        out = {}
        for leak in self.leaks_in(report, "leak_double"):
            blamed = self.blamed(leak)
            self.assertEqual((blamed["language"], blamed["line"]), ("native", line_of(EXT, "LEAK_DOUBLE")))
            self.assertTrue(blamed["module"].startswith(os.path.join(self.tmp, "leakyext")))
            frames = leak["frames"]
            first = leak["python_frame"]
            self.assertIsNotNone(first)
            self.assertGreater(first, leak["blame"])
            # The interpreter's frames after the extension are replaced by Python lines: only
            # native frames before the first Python one, only Python frames from it on.
            self.assertEqual({f["language"] for f in frames[:first]}, {"native"})
            self.assertEqual({f["language"] for f in frames[first:]}, {"python"})
            for f in frames[first:]:
                self.assertEqual((f["address"], f["offset"], f["module"]), (None, None, f["file"]))
            key = tuple((os.path.basename(f["file"]), f["function"], f["line"]) for f in frames[first:])
            bytes_, blocks = out.get(key, (0, 0))
            out[key] = (bytes_ + leak["bytes"], blocks + leak["blocks"])
        return out

    def expected_main_thread(self):
        s = "pyframes_script.py"
        tail = ((s, "main", line_of(SCRIPT, "MAIN_RUN")), (s, "<module>", line_of(SCRIPT, "TOP")))
        return {
            ((s, "first", line_of(SCRIPT, "CALL_FIRST")), (s, "run", line_of(SCRIPT, "RUN_FIRST"))) + tail:
                (8 * N, N),
            ((s, self.second, line_of(SCRIPT, "CALL_SECOND")), (s, "run", line_of(SCRIPT, "RUN_SECOND"))) + tail:
                (16 * N, 2 * N),
        }

    def test_two_lines_of_two_functions(self):
        trace = self.run_script()
        report = self.report(trace)
        self.assertEqual(self.callsites(report), self.expected_main_thread())
        # The text report names the Python line next to the blamed C frame, once per line: the
        # instruction that made the call is not part of the identity (3.13 runs a line's first call
        # through the unspecialized CALL, another return address in _PyEval_EvalFrameDefault).
        text = self.leakreport(trace).stdout
        c_line = f"leak_double (leakyext.c:{line_of(EXT, 'LEAK_DOUBLE')})"
        for function, marker in (("first", "CALL_FIRST"), (self.second, "CALL_SECOND")):
            note = f"called from pyframes_script.py:{line_of(SCRIPT, marker)} in {function}"
            entries = [l for l in self.leaks_in(report, "leak_double")  # text hides reachable blocks
                       if l["frames"][l["python_frame"]]["function"] == function and l["verdict"] != "reachable"]
            self.assertEqual(len(entries), 1, entries)
            self.assertEqual(len([l for l in text.splitlines() if l.startswith("  > ") and c_line in l and
                                  l.endswith(note)]), 1, text)
        self.assertRegex(text, rf"\n    #\d+ run \(pyframes_script.py:{line_of(SCRIPT, 'RUN_FIRST')}\) \[python\]\n")

    def test_suppression_by_python_function(self):
        trace = self.run_script()
        sup = os.path.join(self.tmp, "sup.txt")
        with open(sup, "w") as f:
            f.write(f"leak:^{self.second}$\n")
        report = self.report(trace, "--suppressions", sup)
        expected = {k: v for k, v in self.expected_main_thread().items() if k[0][1] == "first"}
        self.assertEqual(self.callsites(report), expected)
        hidden = [s for s in report["suppressions"] if s["pattern"] == f"^{self.second}$"]
        self.assertEqual([(s["bytes"], s["blocks"]) for s in hidden], [(16 * N, 2 * N)])

    def test_thread(self):
        report = self.report(self.run_script("thread"))
        found = self.callsites(report)
        self.assertEqual(len(found), 2, found)
        s = "pyframes_script.py"
        heads = {
            ((s, "first", line_of(SCRIPT, "CALL_FIRST")), (s, "run", line_of(SCRIPT, "RUN_FIRST"))): (8 * N, N),
            ((s, self.second, line_of(SCRIPT, "CALL_SECOND")), (s, "run", line_of(SCRIPT, "RUN_SECOND"))):
                (16 * N, 2 * N),
        }
        for frames, amount in found.items():
            self.assertEqual(heads[frames[:2]], amount)
            # A thread's Python stack starts in threading's bootstrap, not in the script's main().
            self.assertEqual(frames[-1][:2], ("threading.py", self.bootstrap))
            self.assertIn(("threading.py", self.thread_run), [f[:2] for f in frames])
            self.assertNotIn("main", [f[1] for f in frames])

    def test_compressed_and_plain_traces_agree(self):
        plain = self.run_script(env={"LIBLEAK_COMPRESS": "0"}, name="plain.bin")
        packed = self.run_script(env={"LIBLEAK_COMPRESS": "1"}, name="packed.bin")
        self.assertEqual(section_flags(plain)[K_PYTHON], 0)
        self.assertEqual(section_flags(packed)[K_PYTHON] & K_ZLIB, K_ZLIB)
        expected = self.expected_main_thread()
        self.assertEqual(self.callsites(self.report(plain)), expected)
        self.assertEqual(self.callsites(self.report(packed)), expected)


if __name__ == "__main__":
    main()
