"""libleak changes nothing the program can see: same stdout, stderr and exit status with and
without it, and a program that frees everything has nothing reported at its own callsites."""
from harness import Scenario, main


class SameOutput(Scenario):
    def compare(self, exe, status):
        plain = self.run_plain([exe])
        traced, trace = self.run_traced([exe], check_rc=status)
        self.assertEqual(plain.returncode, status, plain.stderr)
        self.assertEqual((traced.stdout, traced.stderr), (plain.stdout, plain.stderr))
        report = self.report(trace)
        self.assertEqual(report["process"]["exit"], "normal")
        return plain, report

    def test_c_exit_status_3(self):
        exe = self.compile("exit_code.c")
        plain, report = self.compare(exe, 3)
        self.assertEqual(plain.stdout, "".join(f"line {i}\n" for i in range(0, 50, 10)))
        # Everything the program allocated it freed: nothing reported at its own callsites,
        # whatever the verdict.
        for function in ("build", "work", "main"):
            self.assertEqual(self.leaks_in(report, function), [], function)
        self.assertEqual(report["stats"]["unknown_frees"], 0)
        # And the process as a whole leaked nothing: the gate passes at zero.
        self.assertEqual((report["totals"]["leaked_bytes"], report["totals"]["leaked_blocks"]), (0, 0))
        gate = self.leakreport("--fail-above", "0", report["source"], check_rc=0)
        self.assertIn("PASS: 0 bytes in 0 blocks leaked", gate.stderr)

    def test_cxx_exceptions_in_threads(self):
        exe = self.compile("exceptions_threads.cpp", cxx=True)
        plain, report = self.compare(exe, 7)
        self.assertEqual(plain.stdout, "".join(f"thread {t}: 400\n" for t in range(4)) + "main caught main\n")
        for function in ("worker(int)", "may_throw(int, int)", "main"):
            self.assertEqual([l for l in self.leaks_in(report, function) if l["verdict"] != "reachable"], [],
                             function)
        self.assertEqual(report["totals"]["by_verdict"]["unreachable"]["blocks"], 0)

    def test_thread_dtv_is_builtin_suppressed(self):
        # Joined threads leave their DTVs (ld.so's _dl_allocate_tls) behind in glibc's stack
        # cache, out of the scan's sight: the built-in suppression is what makes this leak-free
        # program pass the gate.
        exe = self.compile("exceptions_threads.cpp", cxx=True)
        _, trace = self.run_traced([exe], check_rc=7)
        self.leakreport("--fail-above", "0", trace, check_rc=0)
        bare = self.leakreport("--fail-above", "0", "--no-builtin-suppressions", trace, check_rc=1)
        self.assertIn("unreachable", bare.stderr)
        builtin = [s for s in self.report(trace)["suppressions"]
                   if s["source"] == "builtin" and s["pattern"] == "^_dl_allocate_tls$"]
        self.assertEqual(len(builtin), 1)
        # One DTV per cached stack: the 4 threads all run before the first join, so 4 stacks.
        # A DTV's size depends on how many modules have TLS: equal sizes, not a fixed number.
        self.assertEqual(builtin[0]["blocks"], 4, builtin)
        self.assertEqual(builtin[0]["bytes"] % 4, 0)
        self.assertGreater(builtin[0]["bytes"], 0)

    def test_libleak_own_allocations_are_builtin_suppressed(self):
        # libleak's start-up setenv(LIBLEAK_ROOT_PID) goes through libc (so libc's environment
        # structures stay traversable): the string, the new environ array and the tsearch node.
        # Its dlsym look-ups of absent Python symbols leave dlerror strings. All of these are
        # libleak's, not the program's: hidden by the built-in "libleak.so$".
        exe = self.compile("exit_code.c")
        _, trace = self.run_traced([exe], check_rc=3)
        bare = self.report(trace, "--no-builtin-suppressions")
        own = [l for l in bare["leaks"] if any((f["module"] or "").endswith("libleak.so") for f in l["frames"])]
        setenv = [l for l in own if any(f["function"] == "export_root_pid" for f in l["frames"])]
        self.assertEqual(sum(l["blocks"] for l in setenv), 3, setenv)
        self.assertEqual({l["verdict"] for l in own}, {"reachable"})
        builtin = [s for s in self.report(trace)["suppressions"] if s["pattern"] == "libleak.so$"]
        self.assertEqual([(s["source"], s["blocks"], s["bytes"]) for s in builtin],
                         [("builtin", sum(l["blocks"] for l in own), sum(l["bytes"] for l in own))])

    def test_trace_records_exit_status(self):
        # The status passed to exit() belongs in the trace as well as in the shell.
        exe = self.compile("exit_code.c")
        _, report = self.compare(exe, 3)
        self.assertEqual(report["process"]["exit_code"], 3)


if __name__ == "__main__":
    main()
