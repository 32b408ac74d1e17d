"""Exit while the background thread writes a snapshot: the exit path interrupts that write
instead of waiting for it, the interrupted write leaves no file behind, and the final trace has
every one of the program's 65,536 call stacks, frame by frame."""
import os
import sys

from harness import PROGRAMS, line_of, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario  # noqa: E402

LEVELS = 16
SIGNAL = 12  # SIGUSR2: the snapshot signal the program sends itself


class ExitDuringWrite(ProcessScenario):
    def run_once(self, exe, attempt):
        trace = os.path.join(self.outdir(f"run{attempt}"), "trace.bin")
        proc = self.popen_traced([exe, trace, str(SIGNAL)], trace, LIBLEAK_INTERVAL_MS=0,
                                 LIBLEAK_SNAPSHOT_SIGNAL=SIGNAL, LIBLEAK_DEBUG=1)
        out, err = proc.communicate(timeout=120)
        self.assertEqual((proc.returncode, out), (0, "exiting during the write\n"), err)
        # Whether interrupted or not, only the final trace is left: no temporary file.
        self.assertEqual(os.listdir(os.path.dirname(trace)), ["trace.bin"])
        return trace, "periodic write interrupted" in err

    def test_final_trace_is_complete(self):
        exe = self.compile("proc_exit_during_write.c")
        # The snapshot write takes tens of milliseconds and the program exits within a
        # millisecond of its start, so the exit path finds it running; on a machine loaded so
        # much that the write finished first, try again.
        for attempt in range(3):
            trace, interrupted = self.run_once(exe, attempt)
            if interrupted:
                break
        self.assertTrue(interrupted, "the exit path never found the snapshot write running")

        report = self.report(trace)
        self.assertEqual(report["process"]["exit"], "normal")
        self.assertEqual(report["stats"]["dropped_callsites"], 0)
        leaks = [l for l in report["leaks"] if l["frames"] and l["frames"][l["blame"]].get("function") == "leaf"]
        self.assertEqual(len(leaks), 1 << LEVELS)
        line = line_of(os.path.join(PROGRAMS, "proc_exit_during_write.c"), "EXIT_WRITE_ALLOC")
        paths = set()
        for leak in leaks:
            self.assertEqual((leak["bytes"], leak["blocks"]), (16, 1))
            functions = [f.get("function") for f in leak["frames"]]
            self.assertEqual(leak["frames"][0]["line"], line)
            # leaf, then the steps of levels 16..1 (step1 where the path's bit is set), then the
            # level-0 call from main.
            self.assertEqual(functions[LEVELS + 1:LEVELS + 3], ["step0", "main"], functions)
            steps = functions[1:LEVELS + 1]
            self.assertTrue(all(f in ("step0", "step1") for f in steps), functions)
            paths.add(sum(1 << (LEVELS - 1 - k) for k, f in enumerate(steps) if f == "step1"))
        self.assertEqual(len(paths), 1 << LEVELS)


if __name__ == "__main__":
    main()
