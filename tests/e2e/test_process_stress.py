"""Stress: 16 threads, 2 million allocations and 2 million frees, every block freed by a thread
other than the one that allocated it, the periodic writer running all along: exact totals."""
import os
import sys

from harness import PROGRAMS, line_of, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, live_at  # noqa: E402

THREADS = 16
PER_THREAD = 125000


class Stress(ProcessScenario):
    def run_stress(self, per_thread):
        proc, trace = self.run_traced([self.exe, str(per_thread)], trace_name=f"stress{per_thread}.bin",
                                      env={"LIBLEAK_INTERVAL_MS": "100"}, timeout=60)
        # The program counts its frees of blocks another thread allocated: all of them.
        self.assertEqual(proc.stdout, f"cross-thread frees: {THREADS * per_thread}\n")
        return self.report(trace)

    def test_cross_thread_frees_exact_totals(self):
        self.exe = self.compile("proc_stress.c")
        base = self.run_stress(0)
        full = self.run_stress(PER_THREAD)
        # Start-up, threads and stdio allocate the same in both runs: the difference is exactly
        # the loop's, so no allocation or free was lost or double counted.
        ops = THREADS * PER_THREAD
        self.assertEqual(full["stats"]["allocations"] - base["stats"]["allocations"], ops)
        self.assertEqual(full["stats"]["frees"] - base["stats"]["frees"], ops)
        for key in ("live_bytes", "live_blocks", "unknown_frees", "dropped_blocks", "dropped_callsites"):
            self.assertEqual(full["stats"][key], base["stats"][key], key)
        self.assertEqual((full["stats"]["unknown_frees"], full["stats"]["dropped_blocks"]), (0, 0))
        # Thread t leaked t+1 blocks of 32 bytes: 136 blocks in all, one callsite.
        leak = self.leak_in(full, "stress_leak", "unreachable")
        self.assertEqual((leak["bytes"], leak["blocks"]), (32 * 136, 136))
        self.assertEqual(self.blamed(leak)["line"], line_of(os.path.join(PROGRAMS, "proc_stress.c"), "STRESS_LEAK"))
        self.assertEqual(live_at(full, "stress_alloc"), (0, 0))
        self.assertEqual(full["totals"]["by_verdict"]["unreachable"], {"bytes": 32 * 136, "blocks": 136})


if __name__ == "__main__":
    main()
