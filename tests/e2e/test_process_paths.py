"""Where traces land and which files leakreport reads: a relative LIBLEAK_OUTPUT is fixed at
start-up (a chdir does not move it), and a directory report ignores NAME.tmp.<pid> leftovers."""
import os
import shutil
import sys

from harness import PROGRAMS, PYTHON, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, by_pid, live_at  # noqa: E402


class LeftoverTemporary(ProcessScenario):
    """A process killed (SIGKILL, OOM killer) in the middle of a periodic write leaves
    NAME.tmp.<pid> next to NAME. leakreport on the directory must report the real traces, not
    fail on the half-written temporary (exit 2) nor count a complete one twice."""

    def make_dir(self):
        exe = self.compile("proc_exec_child.c")
        out = self.outdir()
        trace = os.path.join(out, "trace.bin")
        proc, _ = self.run_traced([exe, "2"], env={"LIBLEAK_OUTPUT": trace})
        return out, trace, int(proc.stdout.split()[1])

    def test_truncated_temporary_is_skipped(self):
        out, trace, pid = self.make_dir()
        with open(trace, "rb") as f:
            data = f.read()
        with open(f"{trace}.tmp.{pid + 1}", "wb") as f:
            f.write(data[: len(data) // 2])
        report = self.report(out)
        self.assertEqual(list(by_pid(report)), [pid])
        self.assertEqual(report["totals"]["leaked_bytes"], 128)

    def test_complete_temporary_is_not_counted_twice(self):
        out, trace, pid = self.make_dir()
        shutil.copy(trace, f"{trace}.tmp.{pid}")
        report = self.report(out)
        self.assertEqual(list(by_pid(report)), [pid])
        self.assertEqual(report["totals"]["leaked_bytes"], 128)


class RelativeOutput(ProcessScenario):
    """A relative LIBLEAK_OUTPUT names a file in the directory the user started the program in,
    even when the program (or a descendant) changes directory before the trace is written."""

    def test_chdir_before_exit(self):
        sub = self.outdir("sub")
        proc, trace = self.run_traced([PYTHON, "-c", "import os; os.chdir('sub')"],
                                      env={"LIBLEAK_OUTPUT": "trace.bin"})
        self.assertEqual(os.listdir(sub), [])
        self.assertTrue(os.path.exists(trace), os.listdir(self.tmp))

    def test_descendant_started_in_another_directory(self):
        exe = self.compile("proc_exec_child.c")
        sub = self.outdir("sub")
        proc, trace = self.run_traced(["/bin/sh", "-c", f"cd sub && {exe} 1; true"],
                                      env={"LIBLEAK_OUTPUT": "trace.bin"})
        child = int(proc.stdout.split()[1])
        self.assertEqual(os.listdir(sub), [])
        self.assertTrue(os.path.exists(trace))
        self.assertEqual(live_at(self.report(f"{trace}.{child}"), "exec_child_leak"), (64, 1))


if __name__ == "__main__":
    main()
