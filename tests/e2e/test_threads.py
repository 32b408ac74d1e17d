"""Threads: leaks from several threads add up exactly; blocks allocated in one thread and freed in
another are matched and never reported."""
import os

from harness import PROGRAMS, Scenario, line_of, main


class Threads(Scenario):
    def test_exact_totals_across_threads(self):
        exe = self.compile("threads.c")
        proc, trace = self.run_traced([exe])
        self.assertEqual(proc.stdout, "done\n")
        report = self.report(trace)
        src = os.path.join(PROGRAMS, "threads.c")

        leak = self.leak_in(report, "thread_leak", "unreachable")
        self.assertEqual((leak["bytes"], leak["blocks"], leak["indirect"]), (4 * 25 * 48, 4 * 25, False))
        self.assertEqual(self.blamed(leak)["line"], line_of(src, "THREAD_LEAK"))
        self.assertEqual(leak["frames"][leak["blame"] + 1]["function"], "worker")

        # Allocated by the producer thread, freed by the consumer thread: nothing left.
        self.assertEqual(self.leaks_in(report, "produce"), [])
        stats = report["stats"]
        self.assertGreaterEqual(stats["frees"], 5000)
        self.assertEqual(stats["unknown_frees"], 0)
        self.assertEqual((stats["dropped_blocks"], stats["dropped_callsites"]), (0, 0))


if __name__ == "__main__":
    main()
