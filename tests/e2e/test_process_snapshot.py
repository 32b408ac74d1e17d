"""Snapshots on demand: the configured signal (off by default) and the public API, from C and
from Python through ctypes, write the trace of the running process."""
import os
import signal
import subprocess
import sys

from harness import PROGRAMS, PYTHON, line_of, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, live_at  # noqa: E402

SRC = os.path.join(PROGRAMS, "proc_snapshot.c")
INCLUDE = os.path.join(PROGRAMS, "..", "..", "..", "include")


def after_mark(report, function, mark=0):
    """(bytes, blocks) blamed on `function` allocated after mark `mark` and still live.
    after_marks are per callsite: a callsite split into entries by verdict (some of its blocks
    still pointed to, say) repeats them in each entry, so each callsite counts once."""
    found = {l["stack_hash"]: a for l in report["leaks"]
             if l["frames"] and l["frames"][l["blame"]].get("function") == function
             for a in l["after_marks"] if a["mark"] == mark}
    return sum(a["bytes"] for a in found.values()), sum(a["blocks"] for a in found.values())


class Snapshot(ProcessScenario):
    def build(self):
        return self.compile("proc_snapshot.c", flags=["-I", INCLUDE])

    def check_snapshot(self, report, function="snap_before"):
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("running", 0))
        self.assertFalse(report["process"]["scan_done"])
        self.assertEqual(live_at(report, function, ["unfreed"]), (2500, 5))

    def check_final(self, report, function="snap_after"):
        self.assertEqual(report["process"]["exit"], "normal")
        self.assertEqual(live_at(report, "snap_before"), (0, 0))
        self.assertEqual(live_at(report, function, ["unreachable"]), (90, 3))

    def test_snapshot_signal(self):
        exe = self.build()
        trace = os.path.join(self.tmp, "trace.bin")
        # No periodic writes: whatever appears was asked for.
        proc = self.popen_traced([exe, "signal"], trace, LIBLEAK_SNAPSHOT_SIGNAL=int(signal.SIGUSR1),
                                 LIBLEAK_INTERVAL_MS=0)
        try:
            self.wait_for_line(proc, "ready\n")
            self.assertFalse(os.path.exists(trace))
            proc.send_signal(signal.SIGUSR1)
            self.assertTrue(self.wait_for_file(trace), "no snapshot after the signal")
            snapshot = self.report(trace)
            out, err = proc.communicate("go\n", timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual((proc.returncode, out, err), (0, "done\n", ""))
        self.check_snapshot(snapshot)
        leak = self.leak_in(snapshot, "snap_before", "unfreed")
        self.assertEqual(self.blamed(leak)["line"], line_of(SRC, "SNAP_BEFORE"))
        self.check_final(self.report(trace))

    def test_snapshot_signal_off_by_default(self):
        # Without LIBLEAK_SNAPSHOT_SIGNAL, SIGUSR1 does what it does without libleak: terminate.
        exe = self.build()
        trace = os.path.join(self.tmp, "trace.bin")
        proc = self.popen_traced([exe, "signal"], trace, LIBLEAK_INTERVAL_MS=0)
        try:
            self.wait_for_line(proc, "ready\n")
            proc.send_signal(signal.SIGUSR1)
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, -signal.SIGUSR1)
        self.assertFalse(os.path.exists(trace))

    def test_api_from_c(self):
        exe = self.build()
        copy = os.path.join(self.tmp, "snapshot.bin")
        proc, trace = self.run_traced([exe, "api", copy])
        self.assertEqual(proc.stdout, "mark 0\nsnapshot 0\ndone\n")
        snapshot, final = self.report(copy), self.report(trace)
        self.check_snapshot(snapshot)
        self.check_final(final)
        # The mark is in both traces; what was allocated after it and is still live is told apart.
        for report in (snapshot, final):
            self.assertEqual([m["label"] for m in report["marks"]], ["warm-up done"])
        self.assertEqual(after_mark(snapshot, "snap_before"), (0, 0))
        self.assertEqual(after_mark(final, "snap_after"), (90, 3))
        # Without libleak the weak symbols are absent and the program runs on.
        plain = self.run_plain([exe, "api", copy])
        self.assertEqual((plain.returncode, plain.stdout), (0, "no libleak\ndone\n"))

    def test_api_from_python_ctypes(self):
        self.compile_python_extension("proc_mpext.c", "proc_mpext")
        copy = os.path.join(self.tmp, "snapshot.bin")
        proc, trace = self.run_traced([PYTHON, os.path.join(PROGRAMS, "proc_snapshot.py"), copy],
                                      env={"PYTHONPATH": self.tmp})
        self.assertEqual(proc.stdout, "mark 0\nsnapshot 0\ndone\n")
        snapshot = self.report(copy)
        self.assertEqual((snapshot["process"]["exit"], snapshot["process"]["scan_done"]), ("running", False))
        self.assertEqual(live_at(snapshot, "mp_leak_blocks", ["unfreed"]), (2500, 5))
        final = self.report(trace)
        self.assertEqual(final["process"]["exit"], "normal")
        self.assertEqual(live_at(final, "mp_leak_blocks"), (2590, 8))
        self.assertEqual([m["label"] for m in final["marks"]], ["warm-up done"])
        self.assertEqual(after_mark(final, "mp_leak_blocks"), (90, 3))


if __name__ == "__main__":
    main()
