"""A Python program that never exits cleanly: a list that only grows, stopped by SIGTERM.

No exit scan runs (the interpreter is killed), so nothing can be proven unreachable; the growth
itself is the verdict."""
import os
import signal
import subprocess
import time

from harness import LIBLEAK, PROGRAMS, PYTHON, Scenario, main


class GrowForever(Scenario):
    def test_sigterm_list_growth_is_growing(self):
        trace = os.path.join(self.tmp, "trace.bin")
        env = dict(os.environ, LD_PRELOAD=LIBLEAK, LIBLEAK_OUTPUT=trace, LIBLEAK_EPOCH_MS="20")
        env.pop("LIBLEAK_ROOT_PID", None)
        proc = subprocess.Popen([PYTHON, os.path.join(PROGRAMS, "grow_forever.py")], env=env,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, -signal.SIGTERM)  # died of the signal, as without libleak
        rounds = int(out.split()[-1])
        self.assertGreater(rounds, 100)

        report = self.report(trace)
        self.assertEqual(report["process"]["exit"], "signal")
        self.assertEqual(report["process"]["exit_code"], signal.SIGTERM)
        growing = [l for l in report["leaks"] if l["verdict"] == "growing"]
        # One bytes(200) per printed round (the last may have been appended unprinted); CPython asks
        # malloc for exactly sys.getsizeof(bytes(200)) = 233 bytes for it.
        item = [l for l in growing if l["bytes"] == l["blocks"] * 233]
        self.assertEqual(len(item), 1, [(l["bytes"], l["blocks"]) for l in growing])
        self.assertIn(item[0]["blocks"], (rounds, rounds + 1))
        gate = self.leakreport("--fail-above", "0", trace, check_rc=1)
        self.assertIn("growing", gate.stderr)


if __name__ == "__main__":
    main()
