"""Faults: SIGKILL leaves the last periodic trace; SIGSEGV, abort and SIGTERM leave a trace with
the signal and the program dies as it would without libleak; _exit, exit from a thread and the
program's own fatal-signal handler still leave their trace."""
import os
import signal
import sys
import time

from harness import PROGRAMS, line_of, main

sys.path.insert(0, PROGRAMS)
from proc_support import ProcessScenario, live_at  # noqa: E402

SRC = os.path.join(PROGRAMS, "proc_crash.c")


class Faults(ProcessScenario):
    def setUp(self):
        super().setUp()
        self.exe = self.compile("proc_crash.c")

    def compare(self, mode, status, stdout="ready\n", **env):
        """Runs a mode with and without libleak: same stdout and status; returns the report."""
        plain = self.run_plain([self.exe, mode])
        self.assertEqual((plain.returncode, plain.stdout), (status, stdout), plain.stderr)
        traced, trace = self.run_traced([self.exe, mode], env={k: str(v) for k, v in env.items()}, check_rc=status)
        self.assertEqual((traced.stdout, traced.stderr), (plain.stdout, plain.stderr))
        return trace

    def test_sigsegv(self):
        report = self.report(self.compare("segv", -signal.SIGSEGV))
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("signal", signal.SIGSEGV))
        self.assertFalse(report["process"]["scan_done"])  # no scan inside a fault handler
        leak = self.leak_in(report, "crash_leak", "unfreed")
        self.assertEqual((leak["bytes"], leak["blocks"]), (1024, 4))
        self.assertEqual(self.blamed(leak)["line"], line_of(SRC, "CRASH_LEAK"))
        self.assertIn("unfreed", report["totals"]["gated_verdicts"])
        text = self.leakreport(report["source"]).stdout
        self.assertIn(f"the process did not exit normally: killed by signal {int(signal.SIGSEGV)}", text)

    def test_abort(self):
        report = self.report(self.compare("abort", -signal.SIGABRT))
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("signal", signal.SIGABRT))
        self.assertEqual(live_at(report, "crash_leak", ["unfreed"]), (1024, 4))

    def test_abort_inside_malloc(self):
        exe = self.compile("proc_heap_abort.c")
        plain = self.run_plain([exe], timeout=30)
        self.assertEqual((plain.returncode, plain.stdout, plain.stderr),
                         (-signal.SIGABRT, "ready\n", "malloc(): corrupted top size\n"))
        traced, trace = self.run_traced([exe], check_rc=-signal.SIGABRT, timeout=30)
        self.assertEqual((traced.stdout, traced.stderr), (plain.stdout, plain.stderr))
        report = self.report(trace)
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("signal", signal.SIGABRT))
        self.assertEqual(live_at(report, "heap_leak", ["unfreed"]), (1024, 4))

    def test_no_crash_handlers_no_trace(self):
        # LIBLEAK_CRASH_HANDLERS=0 and no periodic writes: a crash leaves nothing, and dies the same.
        trace = self.compare("segv", -signal.SIGSEGV, LIBLEAK_CRASH_HANDLERS=0, LIBLEAK_INTERVAL_MS=0)
        self.assertFalse(os.path.exists(trace))

    def test_fast_exit(self):
        report = self.report(self.compare("fast_exit", 5))
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("fast_exit", 5))
        self.assertTrue(report["process"]["scan_done"])
        self.assertEqual(live_at(report, "crash_leak", ["unreachable"]), (1024, 4))

    def test_exit_from_a_thread(self):
        report = self.report(self.compare("thread_exit", 3))
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("normal", 3))
        self.assertEqual(live_at(report, "crash_leak", ["unreachable"]), (1024, 4))

    def test_program_own_segv_handler_runs(self):
        # The program installed its own SIGSEGV handler: libleak leaves it alone; the handler's
        # _exit(42) writes the trace.
        report = self.report(self.compare("own_segv", 42, stdout="ready\nhandled\n"))
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("fast_exit", 42))
        self.assertEqual(live_at(report, "crash_leak"), (1024, 4))

    def kill_when_ready(self, sig, settle, *, after_a_write=False, **env):
        """Starts the `wait` mode, and once it has leaked (and, if asked, once a periodic write
        has replaced the trace since then), waits `settle` seconds and sends `sig`."""
        trace = os.path.join(self.tmp, "trace.bin")
        proc = self.popen_traced([self.exe, "wait"], trace, **env)
        try:
            self.wait_for_line(proc, "ready\n")
            if after_a_write:
                # Every write renames a new file into place: a new inode is a write after the leaks.
                before = os.stat(trace).st_ino if os.path.exists(trace) else None
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if os.path.exists(trace) and os.stat(trace).st_ino != before:
                        break
                    time.sleep(0.01)
                else:
                    self.fail("no periodic write within 20 s")
            time.sleep(settle)
            proc.send_signal(sig)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
            proc.stdin.close()
        self.assertEqual(proc.returncode, -sig)
        return trace

    def test_sigterm(self):
        report = self.report(self.kill_when_ready(signal.SIGTERM, 0.1))
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("signal", signal.SIGTERM))
        self.assertEqual(live_at(report, "crash_leak", ["unfreed"]), (1024, 4))

    def test_sigkill_leaves_last_periodic_trace(self):
        # Killed at some point after a periodic write that followed the leaks (the kill may land
        # in the middle of a later write: the previous trace stays in place until the rename).
        trace = self.kill_when_ready(signal.SIGKILL, 0.15, after_a_write=True, LIBLEAK_INTERVAL_MS=100)
        report = self.report(trace)
        self.assertEqual((report["process"]["exit"], report["process"]["exit_code"]), ("running", 0))
        self.assertFalse(report["process"]["scan_done"])
        leak = self.leak_in(report, "crash_leak", "unfreed")
        self.assertEqual((leak["bytes"], leak["blocks"]), (1024, 4))
        self.assertEqual(self.blamed(leak)["line"], line_of(SRC, "CRASH_LEAK"))
        text = self.leakreport(trace).stdout
        self.assertIn("the trace ends at a periodic or on-demand write: the process was still running "
                      "then, or was killed (SIGKILL, OOM) before its next write\n", text)
        self.assertIn("no reachability scan", text)
        # The default gate of a trace without a scan counts unfreed blocks.
        self.leakreport("--fail-above", "1023", trace, check_rc=1)

    def test_sigkill_without_periodic_writes_leaves_nothing(self):
        trace = self.kill_when_ready(signal.SIGKILL, 0.3, LIBLEAK_INTERVAL_MS=0)
        self.assertFalse(os.path.exists(trace))


if __name__ == "__main__":
    main()
