"""Python verdicts: a leak-free workload passes the default gate (CPython's one-time runtime state
is reachable at exit, so no built-in suppression is needed for it), and objects kept all through a
run get the `growing` verdict."""
import json
import os
import shutil

from harness import PROGRAMS, PYTHON, Scenario, main


class PythonClean(Scenario):
    def test_leak_free_workload_passes_gate(self):
        script = os.path.join(self.tmp, "clean_workload.py")
        shutil.copy(os.path.join(PROGRAMS, "clean_workload.py"), script)
        proc, trace = self.run_traced([PYTHON, script, "3000"])
        self.assertEqual(proc.stdout, "done 3000\n")

        gate = self.leakreport("--fail-above", "0", trace, check_rc=None)
        text = self.leakreport(trace).stdout
        self.assertEqual(gate.returncode, 0, f"{gate.stderr}\n{text}")
        self.assertIn("PASS: 0 bytes in 0 blocks leaked", gate.stderr)

        report = self.report(trace)
        self.assertTrue(report["process"]["python_malloc_forced"])
        self.assertTrue(report["process"]["scan_done"])
        self.assertEqual((report["totals"]["leaked_bytes"], report["totals"]["leaked_blocks"]), (0, 0))
        # The interpreter's state is alive and was found by the scan, not hidden by suppressions.
        self.assertGreater(report["totals"]["by_verdict"]["reachable"]["blocks"], 1000)
        # Only libleak's own start-up environment entries (LIBLEAK_ROOT_PID, PYTHONMALLOC) are hidden.
        self.assertEqual([s["pattern"] for s in report["suppressions"]], ["libleak.so$"])
        # Same without the built-in list: nothing in it is needed for CPython.
        bare = self.leakreport("--fail-above", "0", "--no-builtin-suppressions", trace, check_rc=None)
        self.assertEqual(bare.returncode, 0, bare.stderr)


class PythonGrowing(Scenario):
    def setUp(self):
        super().setUp()
        self.compile_python_extension("leakyext.c", "leakyext")
        self.script = os.path.join(self.tmp, "growing.py")
        shutil.copy(os.path.join(PROGRAMS, "growing.py"), self.script)

    def kept(self, seconds, env):
        proc, trace = self.run_traced([PYTHON, self.script, str(seconds)], env=env)
        rounds, size = map(int, proc.stdout.split())
        report = self.report(trace)
        self.assertTrue(report["process"]["python_malloc_forced"])
        leaks = self.leaks_in(report, "new_object")
        # Exactly one live block per round, all still reachable through the extension's list.
        self.assertEqual(sum(l["blocks"] for l in leaks), rounds, json.dumps(leaks)[:2000])
        self.assertEqual(sum(l["bytes"] for l in leaks), rounds * size)
        return report, leaks

    def test_kept_all_run_long_is_growing(self):
        report, leaks = self.kept(1.5, {"LIBLEAK_EPOCH_MS": "20"})
        self.assertGreaterEqual(report["process"]["epoch_count"], 60)
        self.assertEqual([(l["verdict"], l["indirect"]) for l in leaks], [("growing", False)])
        self.assertEqual(report["totals"]["by_verdict"]["growing"]["blocks"], leaks[0]["blocks"])
        # growing is gated by default: the gate fails and names it.
        gate = self.leakreport("--fail-above", "0", report["source"], check_rc=1)
        self.assertIn("growing", gate.stderr)
        self.assertIn("in new_object (leakyext.c:", gate.stderr)

    def test_too_few_epochs_is_reachable(self):
        # 0.3 s at the default 100 ms epochs: too short to call growth.
        report, leaks = self.kept(0.3, {})
        self.assertLess(report["process"]["epoch_count"], 8)
        self.assertEqual([(l["verdict"], l["indirect"]) for l in leaks], [("reachable", False)])

    # Pending: the same workload stopped by SIGTERM (libleak does not yet write a trace on SIGTERM).


if __name__ == "__main__":
    main()
