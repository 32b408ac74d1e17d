"""The epochs a trace covers end when the program begins to exit: libleak's own exit work (the
scan, the final write) must not count as time in which the program allocated nothing, or a
growing leak reads as start-up state on a slow or loaded machine."""
import re
import time

from harness import Scenario, main

EPOCH_MS = 5


class SlowExit(Scenario):
    def test_exit_work_is_not_part_of_the_run(self):
        exe = self.compile("slow_exit.c")
        started = time.monotonic()
        proc, trace = self.run_traced([exe], env={"LIBLEAK_EPOCH_MS": str(EPOCH_MS)})
        total_ms = (time.monotonic() - started) * 1000
        main_ms = float(re.fullmatch(r"main ran (\d+) ms\n", proc.stdout).group(1))
        report = self.report(trace)
        # Start-up before main and exec are a few epochs; the exit scan of 2,000,000 blocks is many.
        self.assertGreater(total_ms - main_ms, 10 * EPOCH_MS, "the exit must outlast a few epochs")
        epochs = report["process"]["epoch_count"]
        self.assertLessEqual(epochs * EPOCH_MS, main_ms + 8 * EPOCH_MS, (epochs, main_ms, total_ms))
        self.assertGreaterEqual(epochs * EPOCH_MS, main_ms - EPOCH_MS, (epochs, main_ms, total_ms))


if __name__ == "__main__":
    main()
