"""Periodic trace writes while threads keep making new call stacks: every version of the trace
reads back with each live block on the stack that allocated it, and the process is unharmed.
A write lists the callsites that existed when it began; one added meanwhile used to be read past
the end of the write's stack arrays (a crash in the writer thread) or written without its stack."""
import glob
import os
import sys

from harness import PROGRAMS, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, live_at  # noqa: E402

THREADS, DEPTHS = 4, 120
SIZES = (24, 40, 56, 72)  # new_stack_site's four call sites


class NewStacks(ProcessScenario):
    def test_every_version_of_the_trace_reads_back(self):
        exe = self.compile("proc_new_stacks.c")
        trace = os.path.join(self.tmp, "stacks.bin")
        copies = os.path.join(self.tmp, "copy")
        proc, trace = self.run_traced([exe, trace, copies], trace_name="stacks.bin",
                                      env={"LIBLEAK_INTERVAL_MS": "1", "LIBLEAK_EPOCH_MS": "2", "LIBLEAK_DEPTH": "200"}, timeout=120)
        self.assertEqual(proc.stdout, "copies: 1\n")
        versions = sorted(glob.glob(copies + "*"))
        self.assertGreater(len(versions), 5, "the writer should have rewritten the trace many times")
        for path in versions:
            report = self.report(path, "--gate-verdicts", "unfreed,reachable,unreachable,growing")
            for leak in report["leaks"]:
                names = [f.get("function") for f in leak["frames"]]
                if "new_stack_site" not in names:
                    continue
                # The blamed frame is the allocating site, called through descend() at depth d:
                # exactly d + 1 descend frames follow it, then the worker.
                at = names.index("new_stack_site")
                depth = 0
                while names[at + 1 + depth] == "descend":
                    depth += 1
                self.assertTrue(1 <= depth <= DEPTHS, (path, names))
                self.assertEqual(names[at + 1 + depth], "worker", (path, names))
        # The final trace: every stack allocated exactly once per thread, nothing was dropped, and
        # nothing is left live.
        final = self.report(trace)
        self.assertEqual((final["stats"]["unknown_frees"], final["stats"]["dropped_blocks"],
                          final["stats"]["dropped_callsites"]), (0, 0, 0))
        self.assertEqual(live_at(final, "new_stack_site"), (0, 0))
        folded = self.leakreport("--format", "collapsed", "--collapsed-metric", "allocated", trace).stdout
        weights = sorted(int(line.rsplit(" ", 1)[1]) for line in folded.splitlines() if "new_stack_site" in line)
        # Folded by function name: the four sites of one depth make one line, one block each per
        # thread.
        self.assertEqual(weights, [THREADS * sum(SIZES)] * DEPTHS)


if __name__ == "__main__":
    main()
